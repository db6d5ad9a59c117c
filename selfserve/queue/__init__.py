"""queue."""

from selfserve.queue.deferred_codes import (
    DeferredCodes,
)
from selfserve.queue.gauges import (
    operational_gauges,
)
from selfserve.queue.jobs import (
    Jobs,
    WorkerThreads,
    build_huey,
    run_worker,
)

__all__ = [
    "DeferredCodes",
    "Jobs",
    "WorkerThreads",
    "build_huey",
    "operational_gauges",
    "run_worker",
]
