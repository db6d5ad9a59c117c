"""Console: what marketers see and print.

Owns the dashboard, message log, statistics and their charts, the redemption funnel,
console users (argon2 hashes), QR posters (PNG, SVG, PDF), the phone simulator's
conversation and the dry-run rehearsal of a campaign. It may import `journeys`, `coupons`
and everything below; never `texts`, `landing` or `queue`.
"""

from selfserve.console.activity import dashboard
from selfserve.console.charts import daily_chart, issued_redeemed_chart, source_chart
from selfserve.console.consent_report import ConsentCount, consent_counts
from selfserve.console.funnel import (
    ALL_CAMPAIGNS,
    BREAKDOWNS,
    DayPair,
    Funnel,
    FunnelRow,
    redeemed_today,
    redemption_funnel,
)
from selfserve.console.funnel_table import CSV_COLUMNS, funnel_csv, value_label
from selfserve.console.log_entries import log_filters, message_log
from selfserve.console.near_misses import NearMiss, recent_near_misses
from selfserve.console.poster_locations import read_locations
from selfserve.console.poster_payloads import (
    MODES,
    PosterCampaign,
    PosterError,
    PosterLocation,
    check_src,
    poster_campaign_from,
    qr_payload,
)
from selfserve.console.posters import FORMATS, PAPERS, poster_filename, render_poster, write_posters
from selfserve.console.rehearsal import Rehearsal, rehearse
from selfserve.console.simulator import SentText, conversation
from selfserve.console.stats import daily_stats
from selfserve.console.users import (
    ConsoleAccount,
    authenticate,
    create_user,
    find_user,
    list_users,
    set_password,
)

__all__ = [
    "ALL_CAMPAIGNS",
    "BREAKDOWNS",
    "CSV_COLUMNS",
    "DayPair",
    "Funnel",
    "FunnelRow",
    "funnel_csv",
    "issued_redeemed_chart",
    "redeemed_today",
    "redemption_funnel",
    "value_label",
    "ConsentCount",
    "ConsoleAccount",
    "FORMATS",
    "MODES",
    "NearMiss",
    "PAPERS",
    "PosterCampaign",
    "PosterError",
    "PosterLocation",
    "Rehearsal",
    "SentText",
    "authenticate",
    "check_src",
    "consent_counts",
    "conversation",
    "create_user",
    "daily_chart",
    "daily_stats",
    "dashboard",
    "find_user",
    "list_users",
    "log_filters",
    "message_log",
    "poster_campaign_from",
    "poster_filename",
    "qr_payload",
    "read_locations",
    "recent_near_misses",
    "rehearse",
    "render_poster",
    "set_password",
    "source_chart",
    "write_posters",
]
