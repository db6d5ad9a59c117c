"""DATABASE_TIMEOUT_SECONDS and the other outage settings: read, checked, and applied."""

from __future__ import annotations

from dataclasses import replace

import pytest

from selfserve.errors import SettingsError
from selfserve.ops import SetAsideConnections, Settings, build_engine
from selfserve.texts import MessageLogWriter


def test_the_outage_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_environment(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_TIMEOUT_SECONDS": "1.5",
            "SPOOLED_REPLY": "Thanks! A text is on its way.",
            "RECONCILE_EVERY_MINUTES": "5",
            "RECONCILE_MAX_AGE_MINUTES": "60",
        }
    )
    assert settings.database_timeout_seconds == 1.5
    assert settings.spooled_reply == "Thanks! A text is on its way."
    assert (settings.reconcile_every_minutes, settings.reconcile_max_age_minutes) == (5, 60)
    assert settings.spool_path == tmp_path / "spool"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("database_timeout_seconds", 0.0, "DATABASE_TIMEOUT_SECONDS"),
        ("database_timeout_seconds", 30.0, "DATABASE_TIMEOUT_SECONDS"),
        ("reconcile_every_minutes", 0, "RECONCILE_EVERY_MINUTES"),
        ("spooled_reply", "  ", "SPOOLED_REPLY"),
    ],
)
def test_a_bad_outage_setting_is_named(settings, field, value, named):
    with pytest.raises(SettingsError, match=named):
        replace(settings, **{field: value}).validate()


def test_the_hot_path_statements_are_bounded_by_the_timeout(database_url):
    engine = build_engine(database_url, timeout_seconds=1.5)
    connections = SetAsideConnections(engine, cap=1, timeout_seconds=1.5)
    try:
        if engine.dialect.name == "postgresql":
            [(shown,)] = connections.run("SHOW statement_timeout", ())
            assert shown == "1500ms"
            pooled = engine.raw_connection()
            try:  # libpq's connect_timeout: whole seconds, 2 at least
                assert pooled.driver_connection.info.get_parameters()["connect_timeout"] == "2"
            finally:
                pooled.close()
        else:
            [(busy,)] = connections.run("PRAGMA busy_timeout", ())
            assert busy == 1500
            with engine.connect() as connection:
                [(level,)] = connection.exec_driver_sql("PRAGMA synchronous").all()
            assert level == 2  # FULL: a committed row survives a power cut
    finally:
        connections.close()
        engine.dispose()


def test_the_batched_message_log_leaves_every_connection_fully_durable(database_url):
    engine = build_engine(database_url)
    writer = MessageLogWriter(engine)
    try:
        writer.add({"message_sid": "SM" + "5" * 32, "phone_masked": "+61 4•• ••• •56"})
        writer.flush()
        assert writer.written == 1
        if engine.dialect.name == "sqlite":  # its own commit was relaxed, and only its own
            with engine.connect() as connection:
                [(level,)] = connection.exec_driver_sql("PRAGMA synchronous").all()
            assert level == 2
    finally:
        writer.close()
        engine.dispose()
