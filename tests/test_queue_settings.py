"""The queue's and budget's settings: the exact environment names, and what is refused."""

from __future__ import annotations

import pytest

from selfserve.errors import SettingsError
from selfserve.ops import Settings


def environment(tmp_path, **values: str) -> dict[str, str]:
    return {"INSTANCE_PATH": str(tmp_path), **values}


def test_the_queue_settings_are_read_from_their_documented_names(tmp_path):
    settings = Settings.from_environment(
        environment(
            tmp_path,
            TALON_RATE_LIMIT_PER_MINUTE="50",
            TALON_INLINE_TIMEOUT_SECONDS="1.5",
            TALON_INLINE_PAUSE_SECONDS="0",
            TALON_RATE_WINDOW_SECONDS="10",
            TALON_RETRY_BASE_SECONDS="3",
            TALON_RETRY_MAX_SECONDS="60",
            WORKER_THREADS="8",
            WORKER_LEASE_SECONDS="45",
            REDIS_URL="redis://127.0.0.1:6379/3",
        )
    )
    assert (
        settings.talon_rate_limit_per_minute,
        settings.talon_inline_timeout_seconds,
        settings.talon_inline_pause_seconds,
        settings.talon_rate_window_seconds,
        settings.talon_retry_base_seconds,
        settings.talon_retry_max_seconds,
        settings.worker_threads,
        settings.worker_lease_seconds,
        settings.redis_url,
    ) == (50, 1.5, 0.0, 10.0, 3.0, 60.0, 8, 45.0, "redis://127.0.0.1:6379/3")
    assert settings.queue_path == tmp_path / "queue.db"
    assert settings.budget_path == tmp_path / "talon_budget.db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TALON_INLINE_TIMEOUT_SECONDS", "0"),
        ("TALON_RATE_WINDOW_SECONDS", "-1"),
        ("TALON_INLINE_PAUSE_SECONDS", "-1"),
        ("WORKER_THREADS", "0"),
        ("WORKER_LEASE_SECONDS", "4"),  # not longer than TALON_TIMEOUT_SECONDS (5)
        ("TALON_RETRY_BASE_SECONDS", "soon"),
    ],
)
def test_unusable_values_stop_start_up_naming_the_variable(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_environment(environment(tmp_path, **{name: value}))
