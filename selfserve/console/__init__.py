"""Console: what marketers see and print, and who may see and change it.

Owns the dashboard, message log, statistics and their charts, the redemption funnel,
console users (argon2 hashes, roles, passwords, invitations, session rules), the hash-chained
audit trail, QR posters (PNG, SVG, PDF), the phone simulator's conversation and the dry-run
rehearsal of a campaign. It may import `journeys`, `coupons` and everything below; never
`texts`, `landing` or `queue`.
"""

from selfserve.console.activity import dashboard
from selfserve.console.audit import AuditTrail, append_event, field_changes, mask_numbers
from selfserve.console.audit_checks import (
    AuditProblem,
    AuditRetention,
    Verification,
    prune_before,
    verify_chain,
)
from selfserve.console.audit_reading import (
    AuditEntry,
    AuditFilter,
    audit_choices,
    audit_csv,
    audit_page,
)
from selfserve.console.channel_stats import channel_counts, whatsapp_failures
from selfserve.console.charts import daily_chart, issued_redeemed_chart, source_chart
from selfserve.console.consent_report import ConsentCount, consent_counts
from selfserve.console.events import RecordAfterTransaction, RecordEvent
from selfserve.console.factors import (
    RECOVERY_CODE,
    TOTP,
    FactorSummary,
    PasskeySummary,
    SecondFactors,
    TotpEnrolment,
)
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
from selfserve.console.invites import Invitation, accept_invite, create_invite, find_invite
from selfserve.console.log_entries import log_filters, message_log
from selfserve.console.missed import MissedText, MissedTexts, missed_texts
from selfserve.console.near_misses import NearMiss, recent_near_misses
from selfserve.console.passkeys import PasskeyOptions, Passkeys, passkey_host_problem
from selfserve.console.passwords import PasswordPolicy, PwnedPasswords
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
from selfserve.console.roles import ROLES, role_allows
from selfserve.console.sessions import ABSOLUTE_LIFETIME, SessionStamp, is_session_current
from selfserve.console.simulator import SentText, conversation
from selfserve.console.sso import (
    AssignRole,
    SingleSignOn,
    SsoLogIn,
    log_role_assignment,
    role_from_claims,
)
from selfserve.console.stats import daily_stats
from selfserve.console.users import (
    ConsoleAccount,
    authenticate,
    check_password,
    create_user,
    find_user,
    find_user_by_email,
    list_users,
    normalise_email,
    set_active,
    set_password,
    set_role,
)

__all__ = [
    "AssignRole",
    "SingleSignOn",
    "SsoLogIn",
    "log_role_assignment",
    "role_from_claims",
    "FactorSummary",
    "PasskeyOptions",
    "PasskeySummary",
    "Passkeys",
    "RECOVERY_CODE",
    "RecordAfterTransaction",
    "RecordEvent",
    "SecondFactors",
    "TOTP",
    "TotpEnrolment",
    "find_user_by_email",
    "passkey_host_problem",
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
    "ABSOLUTE_LIFETIME",
    "SessionStamp",
    "is_session_current",
    "AuditEntry",
    "AuditFilter",
    "AuditProblem",
    "AuditRetention",
    "AuditTrail",
    "ConsentCount",
    "ConsoleAccount",
    "MissedText",
    "MissedTexts",
    "FORMATS",
    "Invitation",
    "MODES",
    "NearMiss",
    "PAPERS",
    "PasswordPolicy",
    "PosterCampaign",
    "PosterError",
    "PosterLocation",
    "PwnedPasswords",
    "ROLES",
    "Rehearsal",
    "SentText",
    "Verification",
    "accept_invite",
    "append_event",
    "audit_choices",
    "audit_csv",
    "audit_page",
    "authenticate",
    "check_password",
    "check_src",
    "consent_counts",
    "conversation",
    "create_invite",
    "create_user",
    "daily_chart",
    "channel_counts",
    "daily_stats",
    "dashboard",
    "field_changes",
    "find_invite",
    "find_user",
    "list_users",
    "log_filters",
    "mask_numbers",
    "message_log",
    "missed_texts",
    "normalise_email",
    "poster_campaign_from",
    "poster_filename",
    "prune_before",
    "qr_payload",
    "read_locations",
    "recent_near_misses",
    "rehearse",
    "render_poster",
    "role_allows",
    "set_active",
    "set_password",
    "set_role",
    "source_chart",
    "verify_chain",
    "whatsapp_failures",
    "write_posters",
]
