"""Operations: settings, the database engine, logging, metrics, health checks, migrations.

Owns what every other package stands on: the one `Settings` object read from the
environment, the SQLAlchemy engine and sessionmakers, log formatting that never prints a
phone number, the Prometheus counters, readiness checks and Alembic glue. It may import
only `selfserve.models` and `selfserve.errors` (and third-party libraries); nothing of the
domain, so any package can import it.
"""

from selfserve.ops.abuse import (
    CAP_REFUSED,
    CHALLENGE_FAILED,
    RANGE_BLOCKED,
    abuse_per_day,
    count_abuse,
)
from selfserve.ops.database import (
    WRITE_FIRST,
    SetAsideConnections,
    build_engine,
    build_sessionmaker,
    insert_ignoring_duplicates,
    write_turn,
)
from selfserve.ops.grouped_reads import GroupedReads
from selfserve.ops.health import (
    NotReady,
    Passed,
    Readiness,
    ReadinessCheck,
    assess,
    database_check,
    migrations_check,
    queue_check,
    redis_check,
)
from selfserve.ops.logs import configure_logging, scrub
from selfserve.ops.metrics import (
    PendingCounts,
    SharedGauge,
    observe_pumping_block,
    observe_talon_call,
)
from selfserve.ops.quiet_hours import QuietHours
from selfserve.ops.settings import SANDBOX_TALON_KEY, SUPPORTED_LANGUAGES, Settings
from selfserve.ops.translations import Catalogues

__all__ = [
    "CAP_REFUSED",
    "CHALLENGE_FAILED",
    "Catalogues",
    "PendingCounts",
    "QuietHours",
    "RANGE_BLOCKED",
    "NotReady",
    "Passed",
    "Readiness",
    "ReadinessCheck",
    "SANDBOX_TALON_KEY",
    "SUPPORTED_LANGUAGES",
    "SetAsideConnections",
    "GroupedReads",
    "Settings",
    "SharedGauge",
    "WRITE_FIRST",
    "abuse_per_day",
    "assess",
    "build_engine",
    "build_sessionmaker",
    "configure_logging",
    "count_abuse",
    "database_check",
    "insert_ignoring_duplicates",
    "migrations_check",
    "observe_pumping_block",
    "observe_talon_call",
    "queue_check",
    "redis_check",
    "scrub",
    "write_turn",
]
