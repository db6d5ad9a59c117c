"""Queue: the Huey task queue and the jobs it runs.

Owns the queue on SQLite or Redis, the jobs (owed codes, outbox texts, birthday sends and
the daily tick, loyalty awards) with their collaborators passed to `Jobs`, the deferred-code
worker (owed coupons, advocates' referral codes and referred friends' coupons), the
sweeper that re-enqueues lost jobs, and the queue gauges for /metrics. It may import
`journeys`, `coupons` and everything below; nothing above it imports it except the
composition root (`wiring`) and `services`.
"""

from selfserve.queue.deferred_codes import DeferredCodes
from selfserve.queue.gauges import operational_gauges
from selfserve.queue.jobs import Jobs, WorkerThreads, build_huey, run_worker
from selfserve.queue.owed_referrals import OwedReferrals

__all__ = [
    "DeferredCodes",
    "Jobs",
    "OwedReferrals",
    "WorkerThreads",
    "build_huey",
    "operational_gauges",
    "run_worker",
]
