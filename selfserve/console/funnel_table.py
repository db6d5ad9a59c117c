"""The funnel as a table: its CSV (the stats page's download) and the words for its values.

The CSV holds counts per campaign, poster location, keyword and channel only: no phone
number or customer id, so any console user may download it.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from selfserve.console.funnel import (
    CHANNEL,
    KEYWORD,
    SOURCE,
    Funnel,
    FunnelRow,
    funnel_rows,
)

CSV_COLUMNS = (
    "campaign",
    "breakdown",
    "source",
    "keyword",
    "channel",
    "landing_visits",
    "numbers_verified",
    "codes_issued",
    "codes_issued_texts",
    "codes_issued_pages",
    "redeemed",
    "redemption_rate",
    "redemption_rate_percent",
    "revenue",
    "redeemed_same_day",
    "redeemed_within_7_days",
    "redeemed_within_30_days",
    "redeemed_later",
)
DIRECT = "direct"  # a code whose customer came from no tracked poster (texted by hand)
CHANNEL_NAMES = {
    "text": "Text",
    "landing": "Landing page",
    "referral": "Referral",
    "birthday": "Birthday",
    "warm-up": "Warm-up",
    "": "Unknown",
}


def value_label(row: FunnelRow) -> str:
    """How the console names a row's breakdown value."""
    if row.breakdown == SOURCE:
        return row.value or "typed by hand"
    if row.breakdown == KEYWORD:
        return row.value or "no keyword"
    if row.breakdown == CHANNEL:
        return CHANNEL_NAMES.get(row.value, row.value)
    return "All"


def funnel_csv(funnel: Funnel) -> str:
    """The CSV download: one row per campaign and breakdown value, then the grand total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in funnel_rows(funnel):
        writer.writerow(_cells(row))
    return buffer.getvalue()


def _cells(row: FunnelRow) -> list[str | int]:
    rate = row.redemption_rate
    named = {SOURCE: "", KEYWORD: "", CHANNEL: ""}
    if row.breakdown in named:
        named[row.breakdown] = row.value or (DIRECT if row.breakdown == SOURCE else "none")
    return [
        _cell(row.campaign),
        row.breakdown,
        _cell(named[SOURCE]),
        _cell(named[KEYWORD]),
        _cell(named[CHANNEL]),
        "" if row.landing_visits is None else row.landing_visits,
        "" if row.numbers_verified is None else row.numbers_verified,
        row.codes_issued,
        row.codes_by_text,
        row.codes_on_pages,
        row.redeemed,
        "" if rate is None else f"{rate:.4f}",
        "" if rate is None else f"{rate * 100:.1f}",
        f"{row.revenue.quantize(Decimal('0.01'))}",
        row.same_day,
        row.within_7_days,
        row.within_30_days,
        row.later,
    ]


def _cell(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (a src comes from a URL)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
