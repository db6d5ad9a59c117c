"""The returning customer's fast path and the batched message log."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from sqlalchemy import event, func, select, text

from selfserve.models import DeferredCode, InboundMessage, utcnow
from selfserve.ops import WRITE_FIRST, build_engine, migrate
from selfserve.texts import MessageLogWriter
from selfserve.texts.fast_path import NewCustomer
from tests.conftest import new_message_sid, reply_text, send_text


def logged(app) -> list[InboundMessage]:
    services = app.extensions["selfserve"]
    services.returning.flush()
    with services.sessions() as db:
        return list(db.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def row(message_sid: str) -> dict:
    return {
        "message_sid": message_sid,
        "received_at": utcnow(),
        "channel": "sms",
        "phone_masked": "+61 4•• ••• •56",
        "customer_id": "C1",
        "to_number": "+61480000000",
        "keyword": "SPRING",
        "campaign_slug": "spring",
        "source": None,
        "state": "done",
        "outcome": "code_resent",
        "reply": "Your code",
        "detail": None,
    }


@contextmanager
def write_lock_on_the_message_log(app):
    """Another connection holds the lock an INSERT into inbound_messages needs."""
    engine = app.extensions["selfserve"].engine
    sqlite = engine.dialect.name == "sqlite"
    locking = engine.execution_options(**{WRITE_FIRST: True}) if sqlite else engine
    with locking.connect() as connection:
        connection.begin()  # SQLite: BEGIN IMMEDIATE takes the database's write lock
        if not sqlite:
            connection.execute(text("LOCK TABLE inbound_messages IN SHARE ROW EXCLUSIVE MODE"))
        try:
            yield
        finally:
            connection.rollback()


class TestReturningCustomers:
    def test_a_returning_customer_is_logged_with_the_same_reply(self, app, client, talon_stand_in):
        first = reply_text(send_text(client, "SPRING", sender="+61491570601"))
        again = reply_text(send_text(client, "bloom", sender="+61491570601"))
        assert again == first
        assert len(talon_stand_in.coupon_requests()) == 1
        rows = logged(app)
        assert [r.outcome for r in rows] == ["code_issued", "code_resent"]
        assert rows[1].reply == first
        assert rows[1].keyword == "BLOOM"
        assert rows[1].phone_masked == "+61 4•• ••• •01"
        assert rows[1].state == "done"

    def test_a_returning_customers_duplicate_gets_the_same_reply_and_one_row(self, app, client):
        send_text(client, "SPRING", sender="+61491570602")
        sid = new_message_sid()
        first = reply_text(send_text(client, "SPRING", sender="+61491570602", message_sid=sid))
        logged(app)  # written: the duplicate now meets the stored row
        second = reply_text(send_text(client, "SPRING", sender="+61491570602", message_sid=sid))
        third = reply_text(send_text(client, "SPRING", sender="+61491570602", message_sid=sid))
        assert first == second == third
        assert [r.message_sid for r in logged(app)].count(sid) == 1

    def test_a_duplicate_already_answered_needs_no_write(self, app, client, talon_stand_in):
        """Twilio's retries and replays of a text answered before are answered from the one
        read: here another connection holds the message log's write lock meanwhile."""
        sid = new_message_sid()
        first = reply_text(send_text(client, "SPRING", sender="+61491570606", message_sid=sid))
        answers: list[str | None] = []
        with write_lock_on_the_message_log(app):
            duplicate = threading.Thread(
                target=lambda: answers.append(
                    reply_text(send_text(client, "SPRING", sender="+61491570606", message_sid=sid))
                )
            )
            duplicate.start()
            duplicate.join(timeout=5)
            answered_while_locked = not duplicate.is_alive()
        duplicate.join()
        assert answered_while_locked
        assert answers == [first]
        assert "Your Spring code" in (first or "")
        assert len(talon_stand_in.coupon_requests()) == 1
        assert [r.message_sid for r in logged(app)].count(sid) == 1

    def test_the_first_reply_and_every_later_one_render_the_same_dates(
        self, client, talon_stand_in
    ):
        talon_stand_in.answer_next(
            200,
            {
                "ID": 7,
                "Value": "T1-NEWYEAR",
                "StartDate": "2026-01-01T00:00:00+02:00",
                "ExpiryDate": "2027-01-01T00:30:00+02:00",  # 31 Dec in UTC
                "RecipientIntegrationID": "",
            },
        )
        first = reply_text(send_text(client, "SPRING", sender="+61491570605"))
        again = reply_text(send_text(client, "SPRING", sender="+61491570605"))
        assert first == again == "Your Spring code: T1-NEWYEAR (valid until 31 Dec)"

    def test_an_opted_out_customer_with_a_code_gets_nothing(self, client, talon_stand_in):
        assert reply_text(send_text(client, "SPRING", sender="+61491570603"))
        assert reply_text(send_text(client, "STOP", sender="+61491570603")) is None
        assert reply_text(send_text(client, "SPRING", sender="+61491570603")) is None
        assert reply_text(send_text(client, "START", sender="+61491570603")) is None
        assert reply_text(send_text(client, "SPRING", sender="+61491570603"))
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_a_directory_change_is_seen_at_once(
        self, app, runner, client, talon_stand_in, tmp_path
    ):
        csv = tmp_path / "customers.csv"
        csv.write_text("phone,customer_id,first_name\n0491 570 604,CUST-604,Alex\n")
        assert runner.invoke(args=["customers", "import", str(csv)]).exit_code == 0
        send_text(client, "SPRING", sender="+61491570604")
        csv.write_text("phone,customer_id,first_name\n0491 570 604,CUST-604-NEW,Alex\n")
        assert runner.invoke(args=["customers", "import", str(csv)]).exit_code == 0
        send_text(client, "SPRING", sender="+61491570604")
        identifiers = [call.args["identifier"] for call in talon_stand_in.coupon_requests()]
        assert identifiers == ["CUST-604:34", "CUST-604-NEW:34"]


class TestMessageLogWriter:
    def test_rows_are_written_on_close_and_duplicates_ignored(self, database_url):
        engine = build_engine(database_url)
        writer = MessageLogWriter(engine, interval_seconds=60)  # only close() writes here
        for sid in ("SMa", "SMb", "SMa"):
            writer.add(row(sid))
        writer.close()
        with engine.connect() as connection:
            sids = connection.execute(select(InboundMessage.message_sid)).scalars().all()
        engine.dispose()
        assert sorted(sids) == ["SMa", "SMb"]

    def test_full_batches_fit_the_databases_limits_on_bound_values(self, database_url):
        engine = build_engine(database_url)
        writer = MessageLogWriter(engine, interval_seconds=60)
        for n in range(2 * 1000 + 7):  # two full batches of the default size, and a few
            writer.add(row(f"SMbatch{n}"))
        writer.close()
        with engine.connect() as connection:
            written = connection.execute(select(func.count()).select_from(InboundMessage))
            total = written.scalar_one()
        engine.dispose()
        assert writer.written == total == 2007

    def test_a_failed_write_keeps_the_rows_for_the_next_try(self, tmp_path):
        engine = build_engine(f"sqlite:///{tmp_path / 'not-yet.db'}")  # no tables yet
        writer = MessageLogWriter(engine, interval_seconds=60)
        writer.add(row("SMkept"))
        writer.flush()
        assert (writer.pending, writer.written) == (1, 0)
        migrate.upgrade(engine)  # the database is back
        writer.flush()
        assert (writer.pending, writer.written) == (0, 1)
        writer.close()
        engine.dispose()


def test_a_returning_customer_still_earns_the_points_for_taking_part(app, client, talon_stand_in):
    from tests.conftest import import_campaigns_text

    send_text(client, "SPRING", sender="+61491570606")  # code issued before points existed
    import_campaigns_text(
        app,
        """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
external_campaign_id = "sms-spring"
recipient = true
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
award_points = 10
loyalty_program_id = 7
""",
    )
    huey = app.extensions["selfserve"].jobs.huey
    waiting = huey.pending_count()
    again = reply_text(send_text(client, "SPRING", sender="+61491570606"))
    assert again.startswith("Your Spring code: T1-")
    assert huey.pending_count() == waiting + 1  # the award, queued for the worker


def test_cached_replies_keep_each_zone_s_own_date():
    """The same instant in two zones prints two dates; a cached reply must not swap them."""
    from datetime import UTC, datetime, timedelta, timezone

    from selfserve.campaigns import CampaignSpec
    from selfserve.coupons import code_reply

    spring = CampaignSpec(
        "spring", "Spring", "coupon", ("SPRING",), reply="{code} until {expiry:%d %b}"
    )
    in_utc = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    in_sydney = in_utc.astimezone(timezone(timedelta(hours=11)))
    assert in_utc == in_sydney
    assert code_reply(spring, "T1", in_utc, None) == "T1 until 31 Dec"
    assert code_reply(spring, "T1", in_sydney, None) == "T1 until 01 Jan"
    assert code_reply(spring, "T1", in_utc, None) == "T1 until 31 Dec"


def test_a_new_customer_s_text_reads_once_whether_anything_is_owed(app, client, talon_stand_in):
    """The fast path's one read says nothing is owed in the campaign: the claim does not ask
    again (that second read was a tenth of a new customer's CPU under load)."""
    engine = app.extensions["selfserve"].engine
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        reply = reply_text(send_text(client, "SPRING", sender="+61491570611"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert "Your Spring code" in reply
    assert len(talon_stand_in.coupon_requests()) == 1
    assert statements, "the code and the reply are stored through the engine"
    assert not [s for s in statements if "deferred_codes.kind" in s]


def test_a_new_customer_with_a_code_owed_goes_the_slow_way(app):
    """Something owed in the campaign (e.g. a referred friend's coupon): the fast path leaves
    the text to the router, which knows what an owed code's ask means."""
    services = app.extensions["selfserve"]
    campaign = services.campaigns.by_keyword("SPRING")
    phone = "+61491570612"

    def find():
        return services.returning.find(
            new_message_sid(), phone, "SPRING", "", services.coupons.identifier_for
        )

    assert isinstance(find(), NewCustomer)
    customer_id = find().who.customer_id
    identifier = services.coupons.identifier_for(campaign, customer_id, "SPRING")
    with services.sessions.begin() as db:
        db.add(
            DeferredCode(
                message_sid=new_message_sid(),
                campaign_slug=campaign.slug,
                identifier=identifier,
                customer_id=customer_id,
                phone_e164=phone,
                keyword="SPRING",
                kind="referral_coupon",
            )
        )
    assert find() is None
