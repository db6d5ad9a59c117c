"""The database tables, as typed SQLAlchemy 2.0 mappings.

Full phone numbers are stored only where the app must text the customer back (the directory,
opt-outs, the outbox); the message log keeps a masked number and the pseudonymous customer id.

Each submodule holds the tables of one concern. This package imports every one of them, so
`from selfserve.models import Base` registers every table on `Base.metadata`, which Alembic
compares with the revisions: a table left out here would look dropped to autogenerate.
"""

# The revisions under migrations/versions/ name the column type selfserve.models.UtcDateTime.
from selfserve.models.abuse import AbuseCount, ScreenKey
from selfserve.models.base import Base, UtcDateTime, utcnow
from selfserve.models.campaigns import Campaign, Keyword
from selfserve.models.console import AuditAnchor, AuditEvent, ConsoleInvite, ConsoleUser
from selfserve.models.coupons import DeferredCode, IssuedCoupon, WarmUp
from selfserve.models.customers import (
    ConsentRecord,
    Customer,
    NumberLanguage,
    OptOut,
    WhatsAppContact,
)
from selfserve.models.factors import (
    ConsolePasskey,
    ConsoleRecoveryCode,
    ConsoleSsoIdentity,
    ConsoleTotp,
)
from selfserve.models.journeys import (
    BirthdayRun,
    BirthdaySend,
    CompetitionCounter,
    CompetitionDraw,
    CompetitionEntry,
    CompetitionWinner,
    LoyaltyAward,
)
from selfserve.models.landing import LandingVisit, PhoneVerification
from selfserve.models.messages import MISSED_STATE, InboundMessage, OutboundMessage
from selfserve.models.redemptions import CouponRedemption, RedemptionCursor
from selfserve.models.referrals import Erasure, ErasureRequest, ReferralCode, ReferralUse

__all__ = [
    "MISSED_STATE",
    "AbuseCount",
    "AuditAnchor",
    "AuditEvent",
    "Base",
    "BirthdayRun",
    "BirthdaySend",
    "Campaign",
    "CompetitionCounter",
    "CompetitionDraw",
    "CompetitionEntry",
    "CompetitionWinner",
    "ConsentRecord",
    "ConsolePasskey",
    "ConsoleRecoveryCode",
    "ConsoleSsoIdentity",
    "ConsoleTotp",
    "ConsoleInvite",
    "ConsoleUser",
    "CouponRedemption",
    "Customer",
    "DeferredCode",
    "Erasure",
    "ErasureRequest",
    "InboundMessage",
    "IssuedCoupon",
    "Keyword",
    "LandingVisit",
    "LoyaltyAward",
    "NumberLanguage",
    "OptOut",
    "OutboundMessage",
    "PhoneVerification",
    "RedemptionCursor",
    "ReferralCode",
    "ReferralUse",
    "ScreenKey",
    "UtcDateTime",
    "WarmUp",
    "WhatsAppContact",
    "utcnow",
]
