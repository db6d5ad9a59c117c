"""Birthday coupons: who is due on a date (leap years too), and sending them once a year."""

from __future__ import annotations

import logging
import threading
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from selfserve.journeys import (
    birthday_dates,
    is_birthday,
)
from selfserve.models import BirthdaySend, OptOut
from tests.birthdays.conftest import (
    BIRTHDAY,
    NUMBERS,
    send,
    send_state,
    texted,
)
from tests.conftest import import_campaigns_text, send_text, wait_for
from tests.test_code_pages import decoded


class TestWhoIsDue:
    @pytest.mark.parametrize(
        ("day", "celebrated"),
        [
            (date(2027, 2, 28), [(2, 28), (2, 29)]),  # common year: 29 Feb is celebrated on 28
            (date(2028, 2, 28), [(2, 28)]),  # leap year: 29 Feb has its own day
            (date(2028, 2, 29), [(2, 29)]),
            (date(2027, 3, 1), [(3, 1)]),
            (date(2100, 2, 28), [(2, 28), (2, 29)]),  # 2100 is not a leap year
            (date(2000, 2, 28), [(2, 28)]),  # 2000 is
        ],
    )
    def test_birthday_dates(self, day, celebrated):
        assert birthday_dates(day) == celebrated

    def test_someone_not_yet_born_has_no_birthday(self):
        assert not is_birthday(date(2030, 2, 28), date(2027, 2, 28))
        assert is_birthday(date(1992, 2, 29), date(2027, 2, 28))
        assert not is_birthday(date(1992, 2, 29), date(2027, 3, 1))


class TestSending:
    def test_a_common_years_28_february_texts_28_and_29_february_birthdays(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        with birthday_app.extensions["selfserve"].writes.begin() as db:
            db.add(OptOut(phone_e164=NUMBERS["C-STOP"], opted_out=True))
        result = send(runner, "2027-02-28")
        assert result.exit_code == 0, result.output
        assert texted(twilio_stand_in) == [NUMBERS["C-LEAP"], NUMBERS["C-28FEB"]]
        bodies = {m.to: m.body for m in twilio_stand_in.messages}
        assert bodies[NUMBERS["C-LEAP"]].startswith("Happy birthday Lea! Your gift code: T1-")
        identifiers = sorted(r.args["identifier"] for r in talon_stand_in.coupon_requests())
        assert identifiers == ["C-28FEB:99:2027", "C-LEAP:99:2027"]
        assert "2 sent, 0 already sent, 2 skipped, 0 FAILED" in result.output
        assert "skipped      C-STOP  +61 4•• ••• •05  opted out (STOP)" in result.output
        assert "skipped      C-NOCON  +61 4•• ••• •07  no marketing consent" in result.output

    def test_an_mms_birthday_campaign_texts_the_barcode_png_as_media_url(
        self, birthday_app, runner, twilio_stand_in
    ):
        import_campaigns_text(
            birthday_app,
            BIRTHDAY.replace("{code}", "{code} {code_url}") + "mms = true\n",
        )
        assert send(runner, "2027-03-01").exit_code == 0
        [sent] = twilio_stand_in.messages
        link = sent.body.split()[-1]
        assert sent.media_urls == [link + "/barcode.png"]
        code = sent.body.split("code: ")[1].split()[0]
        picture = birthday_app.test_client().get(urlsplit(sent.media_urls[0]).path)
        assert picture.mimetype == "image/png"
        assert decoded(picture.data) == [("CODE128", code)]

    def test_a_leap_years_28_february_leaves_29_february_for_its_own_day(
        self, birthday_app, runner, twilio_stand_in
    ):
        send(runner, "2028-02-28")
        assert NUMBERS["C-LEAP"] not in texted(twilio_stand_in)
        assert NUMBERS["C-28FEB"] in texted(twilio_stand_in)
        send(runner, "2028-02-29")
        assert texted(twilio_stand_in).count(NUMBERS["C-LEAP"]) == 1

    def test_1_march_does_not_catch_29_february_birthdays(
        self, birthday_app, runner, twilio_stand_in
    ):
        send(runner, "2027-03-01")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]

    def test_re_running_the_same_day_sends_nothing_new(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        send(runner, "2027-03-01")
        again = send(runner, "2027-03-01")
        assert again.exit_code == 0
        assert "0 sent, 1 already sent" in again.output
        assert len(twilio_stand_in.messages) == 1
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_next_year_brings_a_new_coupon(self, birthday_app, runner, twilio_stand_in):
        send(runner, "2027-03-01")
        send(runner, "2028-03-01")
        codes = [m.body.split("code: ")[1] for m in twilio_stand_in.messages]
        assert len(codes) == 2
        assert codes[0] != codes[1]
        with birthday_app.extensions["selfserve"].sessions() as db:
            years = db.scalars(select(BirthdaySend.year).order_by(BirthdaySend.year)).all()
        assert years == [2027, 2028]

    def test_a_dry_run_lists_who_would_get_a_text_and_sends_nothing(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        with birthday_app.extensions["selfserve"].writes.begin() as db:
            db.add(OptOut(phone_e164=NUMBERS["C-STOP"], opted_out=True))
        result = send(runner, "2027-02-28", "--dry-run")
        assert result.exit_code == 0
        assert result.output.splitlines() == [
            "birthdays 2027-02-28 bday: 2 would be sent, 2 skipped, 0 already sent, 0 waiting "
            "(dry run: nothing sent)",
            "  would send   C-28FEB  +61 4•• ••• •02",
            "  would send   C-LEAP  +61 4•• ••• •01",
            "  skipped      C-NOCON  +61 4•• ••• •07  no marketing consent",
            "  skipped      C-STOP  +61 4•• ••• •05  opted out (STOP)",
        ]
        assert twilio_stand_in.messages == []
        assert talon_stand_in.requests == []

    def test_a_dry_run_after_a_run_shows_who_already_got_theirs(
        self, birthday_app, runner, twilio_stand_in
    ):
        send(runner, "2027-03-01")
        result = send(runner, "2027-03-01", "--dry-run")
        assert "0 would be sent, 0 skipped, 1 already sent, 0 waiting" in result.output

    def test_full_numbers_never_reach_the_output_or_the_log(self, birthday_app, runner, caplog):
        with caplog.at_level(logging.DEBUG):
            result = send(runner, "2027-02-28")
        text = result.output + caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
        for number in NUMBERS.values():
            assert number not in text
            assert number[3:] not in text

    def test_talon_down_queues_the_customer_and_a_later_run_catches_up(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        talon_stand_in.down = True
        first = send(runner, "2027-03-01")
        assert first.exit_code == 0
        assert "1 queued" in first.output
        assert "queued       C-1MAR  +61 4•• ••• •03  Talon.One answered 503" in first.output
        assert twilio_stand_in.messages == []
        talon_stand_in.down = False
        second = send(runner, "2027-03-01")  # no worker running: the command tries again
        assert "1 sent" in second.output
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]

    def test_the_worker_sends_what_talon_could_not_serve_during_the_run(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in, worker
    ):
        talon_stand_in.down = True
        assert "1 queued" in send(runner, "2027-03-01").output
        # The worker tries while Talon.One is still down, and owes it again with backoff.
        wait_for(lambda: len(talon_stand_in.coupon_requests()) >= 3, what="the worker's tries")
        talon_stand_in.down = False
        wait_for(lambda: send_state(birthday_app) == "sent", what="the worker's birthday text")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]
        again = send(runner, "2027-03-01")
        assert "1 already sent" in again.output

    def test_a_talon_configuration_error_stops_the_run(
        self, birthday_app, runner, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.answer_next(401, {"StatusCode": 401, "Error": "bad", "RequestUUID": "u1"})
        result = send(runner, "2027-02-28")
        assert result.exit_code == 1
        assert "stopped: Talon.One answered 401" in result.output
        assert len(talon_stand_in.coupon_requests()) == 1
        assert twilio_stand_in.messages == []

    def test_twilio_saying_opted_out_records_the_opt_out(
        self, birthday_app, runner, twilio_stand_in
    ):
        twilio_stand_in.opted_out.add(NUMBERS["C-1MAR"])
        result = send(runner, "2027-03-01")
        assert "skipped      C-1MAR" in result.output
        with birthday_app.extensions["selfserve"].sessions() as db:
            assert db.get(OptOut, NUMBERS["C-1MAR"]).opted_out

    def test_a_customer_who_texted_stop_is_skipped(
        self, birthday_app, client, runner, twilio_stand_in
    ):
        send_text(client, "STOP", sender=NUMBERS["C-1MAR"])
        result = send(runner, "2027-03-01")
        assert "opted out" in result.output
        assert twilio_stand_in.messages == []

    def test_two_runs_at_once_text_each_customer_once(self, birthday_app, twilio_stand_in):
        services = birthday_app.extensions["selfserve"]
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                birthdays = services.birthdays()
                (campaign,) = birthdays.birthday_campaigns()
                barrier.wait(timeout=10)
                birthdays.run(campaign, date(2027, 2, 28))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert texted(twilio_stand_in) == sorted(
            [NUMBERS["C-LEAP"], NUMBERS["C-28FEB"], NUMBERS["C-STOP"]]
        )

    def test_an_unknown_campaign_is_a_clear_error(self, birthday_app, runner):
        result = runner.invoke(args=["birthdays", "send", "--campaign", "nope"])
        assert result.exit_code != 0
        assert "no birthday campaign 'nope'" in result.output

    def test_a_bad_date_is_a_usage_error(self, birthday_app, runner):
        result = send(runner, "28/02/2027")
        assert result.exit_code == 2
        assert "Invalid value for '--date'" in result.output

    def test_no_birthday_campaign_means_nothing_to_do(self, app, runner):
        result = send(runner, "2027-03-01")
        assert result.exit_code == 0
        assert "no active birthday campaigns" in result.output
