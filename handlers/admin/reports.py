"""What the console reports: the dashboard, the message log and the statistics."""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, request

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import bp, now
from handlers.services import services
from selfserve.console import (
    BREAKDOWNS,
    channel_counts,
    consent_counts,
    daily_chart,
    daily_stats,
    dashboard,
    funnel_csv,
    issued_redeemed_chart,
    log_filters,
    message_log,
    missed_texts,
    redeemed_today,
    redemption_funnel,
    source_chart,
    value_label,
    whatsapp_failures,
)
from selfserve.coupons import sync_status
from selfserve.journeys import competition_summaries
from selfserve.ops import abuse_per_day

STATS_WINDOWS = (7, 30, 90)


@bp.get("/")
@role_required("viewer")
def dashboard_page() -> str:
    """Every campaign with its keywords and today's and total activity, and consent counts."""
    campaigns = services().campaigns.all()
    with services().sessions() as db:
        board = dashboard(db, campaigns, now())
        competitions = competition_summaries(db, campaigns)
        consent = consent_counts(db)
        missed = missed_texts(db)
        redeemed = redeemed_today(db, now())
    return render_template(
        "admin/dashboard.html",
        board=board,
        redeemed_today=redeemed,
        redemptions_on=services().redemptions is not None,
        competitions=competitions,
        consent=consent,
        missed=missed,
        campaign_names={campaign.slug: campaign.name for campaign in campaigns},
        today=now().date(),
    )


@bp.get("/messages")
@role_required("viewer")
def messages_page() -> str:
    """The message log: received and sent texts, newest first, masked numbers only."""
    campaign = request.args.get("campaign", "").strip() or None
    outcome = request.args.get("outcome", "").strip() or None
    direction = request.args.get("direction", "").strip()
    direction = direction if direction in ("in", "out") else ""
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    with services().sessions() as db:
        log_page = message_log(
            db,
            campaign_slug=campaign,
            outcome=outcome,
            direction=direction or None,
            page=page_number,
        )
        slugs, outcomes = log_filters(db)
    filters = {"campaign": campaign or "", "outcome": outcome or "", "direction": direction}
    return render_template(
        "admin/messages.html",
        log_page=log_page,
        slugs=slugs,
        outcomes=outcomes,
        filters=filters,
        page_args={key: value for key, value in filters.items() if value},
    )


def _stats_arguments() -> tuple[int, str | None]:
    days_text = request.args.get("days", "30")
    days = int(days_text) if days_text.isdigit() and int(days_text) in STATS_WINDOWS else 30
    campaign = request.args.get("campaign", "").strip() or None
    return days, campaign


@bp.get("/stats")
@role_required("viewer")
def stats_page() -> str:
    """The redemption funnel per campaign (visits → verified → issued → redeemed) with its
    breakdowns and charts, then texts and codes per day and per poster source; CSV links."""
    days, campaign = _stats_arguments()
    with services().sessions() as db:
        stats = daily_stats(db, now(), days=days, campaign_slug=campaign)
        abuse = abuse_per_day(db, campaign, days=days) if campaign else []
        funnel = redemption_funnel(db, now(), days=days, campaign_slug=campaign)
        synced = sync_status(db)
        channels = channel_counts(db, now(), days=days, campaign_slug=campaign)
        failures = whatsapp_failures(db, now(), days=days)
    campaigns = services().campaigns.all()
    return render_template(
        "admin/stats.html",
        abuse=abuse,
        channels=channels,
        whatsapp_failures=failures,
        stats=stats,
        funnel=funnel,
        breakdowns=BREAKDOWNS,
        value_label=value_label,
        synced=synced,
        redemptions_on=services().redemptions is not None,
        redemption_charts={
            slug: issued_redeemed_chart(pairs) for slug, pairs in funnel.days.items()
        },
        days=days,
        windows=STATS_WINDOWS,
        campaign=campaign or "",
        campaigns=campaigns,
        campaign_names={item.slug: item.name for item in campaigns},
        day_chart=daily_chart(stats.days),
        sources_chart=source_chart(stats.sources),
    )


@bp.get("/stats.csv")
@role_required("viewer")
def stats_csv() -> Response:
    """The funnel as CSV: per campaign, poster location, keyword and channel, the counts from
    landing visits to redemptions, the rate, revenue and time to redeem (no phone numbers)."""
    days, campaign = _stats_arguments()
    with services().sessions() as db:
        funnel = redemption_funnel(db, now(), days=days, campaign_slug=campaign)
    name = f"selfserve-funnel-{funnel.first_day}-to-{funnel.last_day}.csv"
    return _csv_download(funnel_csv(funnel), name)


@bp.get("/stats/daily.csv")
@role_required("viewer")
def stats_daily_csv() -> Response:
    """Texts and codes as CSV: one row per day and poster source."""
    days, campaign = _stats_arguments()
    with services().sessions() as db:
        stats = daily_stats(db, now(), days=days, campaign_slug=campaign)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "source", "texts", "codes_issued"])
    for row in stats.rows:
        writer.writerow(
            [row.day.isoformat(), _csv_cell(row.source or "direct"), row.texts, row.codes]
        )
    name = f"selfserve-stats-{stats.first_day}-to-{stats.last_day}.csv"
    return _csv_download(buffer.getvalue(), name)


def _csv_download(text: str, name: str) -> Response:
    audit("download", name)  # counts per day, source, campaign, keyword: no phone numbers
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_cell(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (a src comes from a URL)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
