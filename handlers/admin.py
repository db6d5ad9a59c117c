"""The marketer console under /admin/: log-in, dashboard, campaigns, posters, messages, stats.

Every page needs a logged-in console user (one `before_request` guard for the whole blueprint,
so a new page cannot forget it). Forms carry the global CSRF token; log-in is throttled.
Handlers parse the request, make one domain call and render: the counting lives in
`selfserve.reports`, the campaign rules in `selfserve.campaigns` (the same ones the import
command applies).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import TooManyRequests

from handlers.pages import private_page
from handlers.services import services
from handlers.web import client_address, limiter
from selfserve.campaign_drafts import (
    GENERAL,
    definition_from_form,
    save_draft,
    set_active,
    stored_definition,
)
from selfserve.campaigns import (
    ACTIONS,
    DEFAULT_CONFIRM_REPLY,
    DEFAULT_DEFERRED_REPLY,
    FIELDS,
    CampaignSpec,
)
from selfserve.charts import daily_chart, source_chart
from selfserve.competitions import competition_summaries
from selfserve.posters import (
    FORMATS,
    MODES,
    PosterError,
    poster_campaign_from,
    poster_filename,
    qr_payload,
    render_poster,
)
from selfserve.rehearsal import Rehearsal, rehearse
from selfserve.reports import consent_counts, daily_stats, dashboard, log_filters, message_log
from selfserve.users import ConsoleAccount, authenticate, find_user

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
login_manager = LoginManager()

SESSION_LIFETIME = timedelta(hours=12)
# Failed log-ins only (deduct_when): per email, so one account cannot be guessed at from many
# addresses, and per client address, so one address cannot sweep many emails.
LOGIN_LIMIT_PER_EMAIL = "5 per minute;20 per hour"
LOGIN_LIMIT_PER_ADDRESS = "20 per minute;100 per hour"
STATS_WINDOWS = (7, 30, 90)
POSTER_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


class LoggedInUser(UserMixin):
    """The console account as Flask-Login wants it."""

    def __init__(self, account: ConsoleAccount) -> None:
        self.id = account.id
        self.email = account.email


@login_manager.user_loader
def load_user(user_id: str) -> LoggedInUser | None:
    """The user of a session cookie, or None when the account is gone."""
    if not user_id.isdigit():
        return None
    with services().sessions() as db:
        account = find_user(db, int(user_id))
    return None if account is None else LoggedInUser(account)


def init_console(app: Flask) -> None:
    """Bind log-in handling to `app` and register the console blueprint."""
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please log in to use the console."
    login_manager.login_message_category = "info"
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME  # Flask defaults to 31 days
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))
    app.register_blueprint(bp)


@bp.before_request
def require_login() -> Response | None:
    """Everything under /admin/ except the log-in page needs a logged-in user."""
    if request.endpoint in ("admin.login", "admin.static"):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


bp.after_request(private_page)


@bp.context_processor
def console_context() -> dict[str, Any]:
    """What the console layout shows on every page: the modes this install runs in."""
    settings = services().settings
    return {
        "talon_sandbox": settings.talon_sandbox,
        "sms_sandbox": settings.sms_sandbox,
        "talon_dry_run": settings.talon_dry_run,
    }


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: nothing was changed; say so politely."""
    log.warning("csrf_rejected", extra={"path": request.path, "reason": error.description})
    return (
        render_template(
            "admin/problem.html",
            title="This form has expired",
            message="Nothing was changed. Go back, reload the page and try again.",
        ),
        400,
    )


@bp.errorhandler(TooManyRequests)
def too_many_attempts(error: TooManyRequests) -> tuple[str, int]:
    """Throttled log-in attempts."""
    log.warning("login_throttled", extra={"limit": str(getattr(error, "limit", ""))})
    return (
        render_template(
            "admin/login.html",
            email="",
            error="Too many failed attempts. Please wait a minute, then try again.",
            next_url="",
        ),
        429,
    )


def _login_email() -> str:
    return "login-email:" + request.form.get("email", "").strip().lower()[:254]


def _login_failed(response: Response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    LOGIN_LIMIT_PER_EMAIL, key_func=_login_email, methods=["POST"], deduct_when=_login_failed
)
@limiter.limit(
    LOGIN_LIMIT_PER_ADDRESS, key_func=client_address, methods=["POST"], deduct_when=_login_failed
)
def login() -> Response | tuple[str, int] | str:
    """Show the log-in form; check the email and password it sends."""
    next_url = _safe_next(request.values.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("admin.dashboard_page"))
    if request.method == "GET":
        return render_template("admin/login.html", email="", error=None, next_url=next_url)
    email = request.form.get("email", "")
    with services().writes.begin() as db:
        account = authenticate(db, email, request.form.get("password", ""))
    if account is None:
        log.info("login_failed", extra={"client": client_address()})
        error = "That email and password don't match an account."
        return (
            render_template("admin/login.html", email=email, error=error, next_url=next_url),
            401,
        )
    session.clear()  # a fresh session for the new identity
    login_user(LoggedInUser(account))
    session.permanent = True
    log.info("login_succeeded", extra={"user_id": account.id})
    return redirect(next_url or url_for("admin.dashboard_page"))


@bp.post("/logout")
def logout() -> Response:
    """End the session."""
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("admin.login"))


def _safe_next(target: str) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    if target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return ""


def _now() -> datetime:
    return datetime.now(UTC)


@bp.get("/")
def dashboard_page() -> str:
    """Every campaign with its keywords and today's and total activity, and consent counts."""
    campaigns = services().campaigns.all()
    with services().sessions() as db:
        board = dashboard(db, campaigns, _now())
        competitions = competition_summaries(db, campaigns)
        consent = consent_counts(db)
    return render_template(
        "admin/dashboard.html",
        board=board,
        competitions=competitions,
        consent=consent,
        campaign_names={campaign.slug: campaign.name for campaign in campaigns},
        today=_now().date(),
    )


@bp.get("/campaigns")
def campaigns_page() -> str:
    """The campaigns, with links to edit, test, pause and print posters."""
    return render_template("admin/campaigns.html", campaigns=services().campaigns.all())


@dataclass(frozen=True)
class FormField:
    """One input of the campaign form: the campaigns-file field it writes, and how it looks."""

    name: str
    label: str
    hint: str = ""
    kind: str = "text"  # text | number | textarea | checkbox | select | url | colour
    only_for: str = ""  # "coupon" or "loyalty": shown for that action only
    placeholder: str = ""


FORM_SECTIONS: list[tuple[str, list[FormField]]] = [
    (
        "The campaign",
        [
            FormField("name", "Name", "Customers see this in replies and on posters."),
            FormField(
                "slug",
                "Short name (slug)",
                "Lower-case letters, digits and hyphens. Used in poster links: /q/<slug>. "
                "It cannot change later, because printed posters point at it.",
                placeholder="spring-sale",
            ),
            FormField(
                "keywords",
                "Keywords",
                "The word(s) customers text, separated by commas. Not STOP, HELP or START.",
                placeholder="SPRING, BLOOM",
            ),
            FormField("action", "What customers get", kind="select"),
            FormField("active", "Active: customers can take part now", kind="checkbox"),
        ],
    ),
    (
        "Talon.One coupon",
        [
            FormField("application_id", "Application ID", kind="number", only_for="coupon"),
            FormField("campaign_id", "Campaign ID", kind="number", only_for="coupon"),
            FormField(
                "external_campaign_id",
                "External campaign ID",
                "Optional. Defaults to the slug.",
                only_for="coupon",
            ),
            FormField(
                "identifier",
                "Coupon identifier",
                "One code per identifier. Must contain {customer_id}; may add {year}, {month}, "
                "{date}, {keyword}, {campaign_id}.",
                only_for="coupon",
                placeholder="{customer_id}:{campaign_id}",
            ),
            FormField(
                "recipient",
                "Send the customer id as the coupon's recipient",
                kind="checkbox",
                only_for="coupon",
            ),
            FormField(
                "usage_limit",
                "Redemptions per code",
                "Optional. 0 means unlimited.",
                kind="number",
                only_for="coupon",
            ),
        ],
    ),
    (
        "Talon.One loyalty",
        [
            FormField(
                "loyalty_program_id", "Loyalty programme ID", kind="number", only_for="loyalty"
            ),
        ],
    ),
    (
        "Replies",
        [
            FormField(
                "reply",
                "Reply text",
                "Coupons: {code}, {expiry:%d %b}, {name}, {first_name}. "
                "Loyalty: {balance}, {tier}, {pending}, {points_to_next_tier}. "
                "Opt-ins must ask the customer to reply Y.",
                kind="textarea",
            ),
            FormField(
                "confirm_reply",
                "Reply to their Y",
                "Sent when the customer confirms with Y. {name}, {first_name}, {keyword}.",
                kind="textarea",
                only_for="subscribe",
                placeholder=DEFAULT_CONFIRM_REPLY,
            ),
            FormField(
                "deferred_reply",
                "Reply when the code follows later",
                "Sent at once when Talon.One is slow; the code follows by text.",
                kind="textarea",
                placeholder=DEFAULT_DEFERRED_REPLY,
            ),
        ],
    ),
    (
        "Posters",
        [
            FormField("offer", "Offer", "The promise printed on posters.", kind="textarea"),
            FormField(
                "sms_number",
                "SMS number",
                "Optional: the number customers text, if not TWILIO_FROM_NUMBER. "
                "International form: +61 then the number without its leading 0.",
                placeholder="+61…",
            ),
            FormField("terms_url", "Terms URL", "Optional.", kind="url"),
            FormField("brand_colour", "Brand colour", "Like #0a7d3b.", placeholder="#0a7d3b"),
            FormField("accent_colour", "Accent colour", "Like #f59e0b.", placeholder="#f59e0b"),
            FormField("logo_url", "Logo URL", "Optional.", kind="url"),
        ],
    ),
]
FORM_FIELDS = [form_field for _, fields in FORM_SECTIONS for form_field in fields]


def _fields_for(action: str, *, with_slug: bool) -> list[str]:
    """The inputs the form shows for `action`: hidden ones of other actions are not read."""
    return [
        form_field.name
        for form_field in FORM_FIELDS
        if form_field.only_for in ("", action) and (with_slug or form_field.name != "slug")
    ]


def _form_values(definition: dict[str, Any]) -> dict[str, Any]:
    """The stored definition as the form shows it (keyword lists as text, numbers as text).

    A checkbox the file left out shows its default (a campaign without `active` is active),
    or saving the form unchanged would flip it.
    """
    values: dict[str, Any] = {
        name: rule.default for name, rule in FIELDS.items() if rule.kind is bool
    }
    for name, value in definition.items():
        if isinstance(value, list):
            values[name] = ", ".join(str(item) for item in value)
        elif isinstance(value, bool):
            values[name] = value
        else:
            values[name] = "" if value is None else str(value)
    return values


def _render_form(
    *,
    slug: str | None,
    values: dict[str, Any],
    problems: dict[str, list[str]] | None = None,
    rehearsal: Rehearsal | None = None,
    status: int = 200,
) -> tuple[str, int]:
    campaign = services().campaigns.by_slug(slug) if slug else None
    return (
        render_template(
            "admin/campaign_form.html",
            slug=slug,
            campaign=campaign,
            values=values,
            problems=problems or {},
            general_problems=(problems or {}).get(GENERAL, []),
            sections=FORM_SECTIONS,
            actions=ACTIONS,
            rehearsal=rehearsal,
            posters=_poster_choices(campaign) if campaign else None,
        ),
        status,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign() -> Response | tuple[str, int]:
    """Create a campaign through the form, validated as `campaigns import` validates."""
    if request.method == "GET":
        defaults = {"action": "coupon", "active": True, "identifier": "{customer_id}:{campaign_id}"}
        return _render_form(slug=None, values=defaults)
    action = request.form.get("action", "coupon")
    raw = definition_from_form(request.form, _fields_for(action, with_slug=True))
    with services().writes.begin() as db:
        result = save_draft(db, raw, is_new=True)
    if not result.is_saved:
        return _render_form(
            slug=None, values=dict(request.form), problems=result.problems, status=422
        )
    services().campaigns.invalidate()
    assert result.spec is not None  # noqa: S101 - is_saved says so
    log.info("campaign_created", extra={"campaign": result.spec.slug, "user_id": current_user.id})
    flash(f"Created {result.spec.name}.", "success")
    for warning in result.warnings:
        flash(_without_prefix(warning), "warning")
    return redirect(url_for("admin.edit_campaign", slug=result.spec.slug))


@bp.route("/campaigns/<slug>", methods=["GET", "POST"])
def edit_campaign(slug: str) -> Response | tuple[str, int]:
    """Show or change one campaign; its slug stays (printed posters point at it)."""
    with services().sessions() as db:
        definition = stored_definition(db, slug)
    if definition is None:
        abort(404)
    if request.method == "GET":
        return _render_form(slug=slug, values=_form_values(definition))
    action = request.form.get("action", "coupon")
    raw = definition_from_form(request.form, _fields_for(action, with_slug=False), base=definition)
    raw["slug"] = slug
    with services().writes.begin() as db:
        result = save_draft(db, raw, is_new=False)
    if not result.is_saved:
        values = {**dict(request.form), "slug": slug}
        return _render_form(slug=slug, values=values, problems=result.problems, status=422)
    services().campaigns.invalidate()
    log.info("campaign_saved", extra={"campaign": slug, "outcome": result.outcome})
    flash("Saved." if result.outcome != "unchanged" else "No changes to save.", "success")
    for warning in result.warnings:
        flash(_without_prefix(warning), "warning")
    return redirect(url_for("admin.edit_campaign", slug=slug))


@bp.post("/campaigns/<slug>/pause")
def pause_campaign(slug: str) -> Response:
    """Stop a campaign: its keywords then get "this offer has ended"."""
    return _set_active(slug, active=False)


@bp.post("/campaigns/<slug>/resume")
def resume_campaign(slug: str) -> Response:
    """Let customers take part in a paused campaign again."""
    return _set_active(slug, active=True)


def _set_active(slug: str, active: bool) -> Response:
    with services().writes.begin() as db:
        result = set_active(db, slug, active)
    if result is None:
        abort(404)
    services().campaigns.invalidate()
    if result.is_saved:
        flash(f"{'Resumed' if active else 'Paused'} {result.spec.name}.", "success")  # type: ignore[union-attr]
    else:
        for messages in result.problems.values():
            for message in messages:
                flash(f"Could not change {slug}: {message}", "error")
    target = request.form.get("back", "")
    if target == "list":
        return redirect(url_for("admin.campaigns_page"))
    return redirect(url_for("admin.edit_campaign", slug=slug))


@bp.post("/campaigns/<slug>/test")
def test_campaign(slug: str) -> tuple[str, int]:
    """Run the campaign against Talon.One with X-DRY-RUN: true and show what happened."""
    campaign = _campaign_or_404(slug)
    outcome = rehearse(services().texts, services().talon, campaign)
    log.info("campaign_rehearsed", extra={"campaign": slug, "ok": outcome.is_ok})
    with services().sessions() as db:
        definition = stored_definition(db, slug) or {}
    return _render_form(slug=slug, values=_form_values(definition), rehearsal=outcome)


def _campaign_or_404(slug: str) -> CampaignSpec:
    services().campaigns.invalidate()  # just saved in another tab? show the latest
    campaign = services().campaigns.by_slug(slug)
    if campaign is None:
        abort(404)
    return campaign


@dataclass(frozen=True)
class PosterChoice:
    """One mode of poster: its downloads, or why it cannot be made."""

    mode: str
    title: str
    payload: str
    problem: str


def _poster_choices(campaign: CampaignSpec) -> list[PosterChoice]:
    settings = services().settings
    poster = poster_campaign_from(campaign, settings.twilio_from_number)
    titles = {"sms": "Text the keyword", "web": "Open the web page"}
    choices = []
    for mode in MODES:
        try:
            payload, problem = qr_payload(poster, mode, settings.public_base_url, None), ""
        except PosterError as error:
            payload, problem = "", str(error)
        choices.append(PosterChoice(mode, titles.get(mode, mode), payload, problem))
    return choices


@bp.get("/campaigns/<slug>/posters/<mode>.<fmt>")
def download_poster(slug: str, mode: str, fmt: str) -> Response:
    """A printable poster of the campaign (PNG 300 dpi, SVG or A4/Letter PDF)."""
    if mode not in MODES or fmt not in FORMATS:
        abort(404)
    campaign = _campaign_or_404(slug)
    settings = services().settings
    poster = poster_campaign_from(campaign, settings.twilio_from_number)
    src = request.args.get("src", "").strip() or None
    paper = request.args.get("paper", "a4")
    try:
        name = poster_filename(poster, mode, fmt, src)
        content = render_poster(
            poster, mode, fmt, settings.public_base_url, src=src, label=src, paper=paper
        )
    except PosterError as error:
        flash(f"Could not make that poster: {error}", "error")
        return redirect(url_for("admin.edit_campaign", slug=slug))
    return Response(
        content,
        mimetype=POSTER_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/messages")
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
def stats_page() -> str:
    """Texts and codes per day and per poster source: charts, the table, a CSV link."""
    days, campaign = _stats_arguments()
    with services().sessions() as db:
        stats = daily_stats(db, _now(), days=days, campaign_slug=campaign)
    return render_template(
        "admin/stats.html",
        stats=stats,
        days=days,
        windows=STATS_WINDOWS,
        campaign=campaign or "",
        campaigns=services().campaigns.all(),
        day_chart=daily_chart(stats.days),
        sources_chart=source_chart(stats.sources),
    )


@bp.get("/stats.csv")
def stats_csv() -> Response:
    """The table behind the charts as CSV: one row per day and poster source."""
    days, campaign = _stats_arguments()
    with services().sessions() as db:
        stats = daily_stats(db, _now(), days=days, campaign_slug=campaign)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "source", "texts", "codes_issued"])
    for row in stats.rows:
        writer.writerow(
            [row.day.isoformat(), _csv_cell(row.source or "direct"), row.texts, row.codes]
        )
    name = f"selfserve-stats-{stats.first_day}-to-{stats.last_day}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_cell(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (a src comes from a URL)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _without_prefix(problem: str) -> str:
    """ "campaign x, field reply: message" → "Reply: message" for a flash line."""
    if ", field " in problem:
        field_name, _, message = problem.split(", field ", 1)[1].partition(": ")
        return f"{field_name.replace('_', ' ').capitalize()}: {message}"
    return problem
