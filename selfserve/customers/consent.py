"""Marketing consent: the append-only trail, double opt-in, who may get marketing, quiet hours.

Answering a customer's own text is conversational and needs no consent. Anything we send that
they did not just ask for (birthday coupons, reminders, bulk sends) is marketing: it goes only
to numbers whose newest consent record is `consented` and that have not opted out, and only
outside quiet hours in the recipient's local time.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones
from sqlalchemy import select
from sqlalchemy.orm import Session

from selfserve.customers.erasure import erasure_key, is_erasure_key
from selfserve.customers.phones import mask_phone
from selfserve.customers.whatsapp import is_whatsapp_opted_out
from selfserve.models import ConsentRecord, OptOut, utcnow
from selfserve.ops import QuietHours

PENDING_LIFETIME = timedelta(hours=24)
CONFIRM_WORDS = frozenset({"Y", "YES"})
ASKS_FOR_Y = re.compile(r"(?<![A-Za-z0-9])Y(?![A-Za-z0-9])")
IMPORT_WORDING = "Agreed to marketing texts, as recorded in the imported customer directory."
IMPORT_SOURCE = "import"  # the `source` of consent that came with the customer directory
# The landing page's offers checkbox: its label and the small print beside it. The page shows
# and a tick records exactly what `web_consent_wording` builds from these, so the two cannot
# drift apart; change the words here and new records carry the new words.
WEB_CONSENT_LABEL = "Send me offers by SMS"
WEB_CONSENT_SMALL_PRINT = (
    "Marketing texts from {program_name}. Msg frequency varies. Msg&data rates may apply. "
    "Reply STOP to cancel. Not needed to get this offer."
)

# When phonenumbers gives a country's mobile numbers several zones, use the one most people
# live in; other countries take the first zone it gives.
REGION_DEFAULT_ZONES = {
    "AU": "Australia/Sydney",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "RU": "Europe/Moscow",
    "ID": "Asia/Jakarta",
    "NZ": "Pacific/Auckland",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
    "KZ": "Asia/Almaty",
    "MN": "Asia/Ulaanbaatar",
    "CD": "Africa/Kinshasa",
}


class ConsentState(StrEnum):
    """Where a number stands on marketing texts."""

    CONSENTED = "consented"
    PENDING = "pending"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Consent:
    """The newest consent record of a number, as plain values."""

    state: ConsentState
    recorded_at: datetime
    method: str
    campaign_slug: str | None
    source: str | None
    wording: str


@dataclass(frozen=True)
class ConsentWording:
    """What a customer is shown when asked for consent: a label and its small print."""

    label: str
    small_print: str

    @property
    def full(self) -> str:
        """Label and small print as one text: what a consent record keeps as its wording."""
        return f"{self.label}. {self.small_print}"


def web_consent_wording(program_name: str) -> ConsentWording:
    """The landing page's offers checkbox wording for this programme (PROGRAM_NAME)."""
    return ConsentWording(
        WEB_CONSENT_LABEL, WEB_CONSENT_SMALL_PRINT.format(program_name=program_name)
    )


def record_consent(
    db: Session,
    phone_e164: str,
    state: ConsentState,
    method: str,
    wording: str,
    *,
    campaign_slug: str | None = None,
    source: str | None = None,
    at: datetime | None = None,
    channel: str = "sms",
) -> None:
    """Append one record to a number's consent trail (per channel: sms or whatsapp)."""
    db.add(
        ConsentRecord(
            phone_e164=phone_e164,
            channel=channel,
            state=str(state),
            method=method,
            wording=wording,
            campaign_slug=campaign_slug,
            source=source,
            recorded_at=at or utcnow(),
        )
    )
    db.flush()


def current_consent(db: Session, phone_e164: str, channel: str = "sms") -> Consent | None:
    """The newest record of a number on a channel, or None when it has never been asked."""
    row = db.execute(
        select(
            ConsentRecord.state,
            ConsentRecord.recorded_at,
            ConsentRecord.method,
            ConsentRecord.campaign_slug,
            ConsentRecord.source,
            ConsentRecord.wording,
        )
        .where(ConsentRecord.phone_e164 == phone_e164, ConsentRecord.channel == channel)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return Consent(
        ConsentState(row.state),
        row.recorded_at,
        row.method,
        row.campaign_slug,
        row.source,
        row.wording,
    )


def pending_subscription(
    db: Session, phone_e164: str, now: datetime, channel: str = "sms"
) -> Consent | None:
    """The number's unanswered JOIN on this channel, if it asked within the last 24 hours."""
    consent = current_consent(db, phone_e164, channel)
    if consent is None or consent.state is not ConsentState.PENDING:
        return None
    if now - consent.recorded_at > PENDING_LIFETIME:
        return None
    return consent


def revoke(db: Session, phone_e164: str, method: str, wording: str, channel: str = "sms") -> bool:
    """Record a revoke unless the number's newest record is one already; True when recorded.

    The revoke names the campaign and source of the consent it ends, so counts per campaign
    and poster can say how many of the numbers a poster won were later lost. A number that
    never consented gets one too (no campaign): the trail is where an auditor looks for
    every opt-out, whatever word it came in.
    """
    consent = current_consent(db, phone_e164, channel)
    if consent is not None and consent.state is ConsentState.REVOKED:
        return False
    record_consent(
        db,
        phone_e164,
        ConsentState.REVOKED,
        method,
        wording,
        campaign_slug=consent.campaign_slug if consent else None,
        source=consent.source if consent else None,
        channel=channel,
    )
    return True


def marketing_skip_reason(db: Session, phone_e164: str, channel: str = "sms") -> str | None:
    """Why a marketing text may not go to this number on `channel`, or None when it may."""
    stopped = is_whatsapp_opted_out if channel == "whatsapp" else is_opted_out
    if stopped(db, phone_e164):
        return "opted out (STOP)"
    consent = current_consent(db, phone_e164, channel)
    if consent is None:
        return "no marketing consent"
    if consent.state is ConsentState.PENDING:
        return "consent pending (never replied Y)"
    if consent.state is ConsentState.REVOKED:
        return "consent revoked"
    return None


def marketing_channel(db: Session, phone_e164: str) -> str | None:
    """Where a marketing text may reach this person: WhatsApp when they consented there (and
    did not stop it), else SMS on the same terms; None when neither."""
    for channel in ("whatsapp", "sms"):
        if marketing_skip_reason(db, phone_e164, channel) is None:
            return channel
    return None


def import_consent(db: Session, phone_e164: str, given_on: datetime | None) -> bool:
    """Record a directory's `sms_consent=yes`, once; True when a record was added."""
    return _consent_once(
        db,
        phone_e164,
        "import",
        IMPORT_WORDING,
        campaign_slug=None,
        source=IMPORT_SOURCE,
        at=given_on,
    )


def _consent_once(
    db: Session,
    phone_e164: str,
    method: str,
    wording: str,
    *,
    campaign_slug: str | None,
    source: str | None,
    at: datetime | None,
) -> bool:
    """Record `consented` unless the number's newest record already is; True when added.

    Consent belongs to the number: the trail keeps when, how and where it was first given.
    """
    consent = current_consent(db, phone_e164)
    if consent is not None and consent.state is ConsentState.CONSENTED:
        return False
    record_consent(
        db,
        phone_e164,
        ConsentState.CONSENTED,
        method,
        wording,
        campaign_slug=campaign_slug,
        source=source,
        at=at,
    )
    return True


def record_web_consent(
    db: Session,
    phone_e164: str,
    wording: str,
    *,
    campaign_slug: str,
    source: str | None,
    at: datetime,
) -> bool:
    """A landing-page visitor ticked the offers box and confirmed their code; True if recorded.

    Nothing is recorded for a number that opted out (STOP stands until the customer texts
    START), nor for one whose newest record is already `consented`: consent belongs to the
    number, and the trail keeps when, how and where it was first given, not each re-tick.
    """
    if is_opted_out(db, phone_e164):
        return False
    return _consent_once(
        db, phone_e164, "web", wording, campaign_slug=campaign_slug, source=source, at=at
    )


def asks_for_y(reply: str) -> bool:
    """True when a subscribe reply asks the customer to answer Y (double opt-in)."""
    return bool(ASKS_FOR_Y.search(reply))


def export_consent_csv(db: Session, reveal: bool) -> str:
    """The whole trail as CSV, oldest first; numbers masked unless `reveal`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["recorded_at", "phone", "channel", "state", "method", "campaign", "source", "wording"]
    )
    rows = db.scalars(select(ConsentRecord).order_by(ConsentRecord.recorded_at, ConsentRecord.id))
    for row in rows:
        writer.writerow(
            [
                row.recorded_at.isoformat(),
                _exported_number(row.phone_e164, reveal),
                row.channel,
                row.state,
                row.method,
                row.campaign_slug or "",
                row.source or "",
                row.wording,
            ]
        )
    return out.getvalue()


def _exported_number(phone_e164: str, reveal: bool) -> str:
    """The number as the consent export shows it; an erased person's row says so, no more."""
    if is_erasure_key(phone_e164):
        return "erased"
    return phone_e164 if reveal else mask_phone(phone_e164)


def recipient_zone(phone_e164: str) -> ZoneInfo:
    """The recipient's time zone from the number (the region's main zone when it has several)."""
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return ZoneInfo("UTC")
    zones = [z for z in phone_timezones.time_zones_for_number(number) if z != "Etc/Unknown"]
    region = phonenumbers.region_code_for_number(number)
    if len(zones) == 1:
        return ZoneInfo(zones[0])
    if region in REGION_DEFAULT_ZONES:
        return ZoneInfo(REGION_DEFAULT_ZONES[region])
    return ZoneInfo(zones[0]) if zones else ZoneInfo("UTC")


def next_send_time(phone_e164: str, now: datetime, quiet: QuietHours | None) -> datetime:
    """`now` if a marketing text may go now, else when the quiet window ends (UTC-aware)."""
    if quiet is None:
        return now
    zone = recipient_zone(phone_e164)
    local = now.astimezone(zone)
    if not quiet.contains(local.time()):
        return now
    opens = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if opens <= local:
        opens += timedelta(days=1)
    return opens.astimezone(now.tzinfo)


OPT_OUT_WORDING = {
    "twilio-21610": "Twilio error 21610: the number had replied STOP to one of our texts",
}


def is_opted_out(db: Session, phone_e164: str, identity_secret: str = "") -> bool:
    """True when the number has texted STOP (or Twilio told us 21610) and not START since.

    With `identity_secret`, a number whose person was erased stays opted out (the register
    keeps its erasure key), until the number texts START again (a row of its own)."""
    state = db.scalar(select(OptOut.opted_out).where(OptOut.phone_e164 == phone_e164))
    if state is not None or not identity_secret:
        return bool(state)
    key = erasure_key(phone_e164, identity_secret)
    return bool(db.scalar(select(OptOut.opted_out).where(OptOut.phone_e164 == key)))


def set_opt_out(db: Session, phone_e164: str, opted_out: bool, reason: str) -> None:
    """Record that a number opted out (or back in); the row is kept either way.

    Opting out also ends any marketing consent (a revoke in the consent trail, so the
    console's counts and the export show it), whichever way it reached us: STOP, or
    Twilio's 21610 on a send or a status callback.
    """
    if opted_out:
        revoke(db, phone_e164, "opt-out", OPT_OUT_WORDING.get(reason, reason))
    row = db.get(OptOut, phone_e164)
    if row is None:
        db.add(OptOut(phone_e164=phone_e164, opted_out=opted_out, reason=reason))
    else:
        row.opted_out = opted_out
        row.reason = reason
        row.changed_at = utcnow()
    db.flush()
