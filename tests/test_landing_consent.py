"""The landing page's "Send me offers by SMS" checkbox: consent only for a confirmed tick.

The visitor reads the forms the pages really have (tests/phone_visitor.py) and ticks the box
through its `<label for>`, as a person does; the one-time code comes from the Twilio stand-in.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from selfserve.customers import (
    WEB_CONSENT_LABEL,
    ConsentState,
    marketing_skip_reason,
    pseudonym,
    record_consent,
)
from selfserve.errors import VerificationMissing
from selfserve.models import ConsentRecord, OptOut
from tests.birthdays.conftest import BIRTHDAY
from tests.conftest import import_campaigns_text, send_text
from tests.landing_pages.conftest import (
    PHONE,
    TYPED,
    MovableClock,
    error_text,
    latest_code,
    shown_code,
    wrong_code_for,
)
from tests.phone_visitor import PhoneVisitor, checkbox_labelled, code_form, number_form

OFFERS = "Send me offers by SMS"
# What the page shows beside the box for the test settings' PROGRAM_NAME ("Acme Rewards"),
# and so what a confirmed tick must store: written out here so a change to either shows.
SHOWN_WORDING = (
    "Send me offers by SMS. Marketing texts from Acme Rewards. Msg frequency varies. "
    "Msg&data rates may apply. Reply STOP to cancel. Not needed to get this offer."
)


@pytest.fixture
def visitor(client) -> PhoneVisitor:
    return PhoneVisitor(client)


def consents(app, phone: str = PHONE) -> list[ConsentRecord]:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.phone_e164 == phone)
            .order_by(ConsentRecord.id)
        ).all()


def skip_reason(app, phone: str = PHONE) -> str | None:
    with app.extensions["selfserve"].sessions() as db:
        return marketing_skip_reason(db, phone)


def ticked_and_confirmed(visitor: PhoneVisitor, twilio_stand_in, **scan: str) -> None:
    visitor.scan(**scan)
    assert visitor.enter_number(TYPED, tick=OFFERS).status_code == 200
    assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200  # code or balance


def words_beside_the_box(page: str) -> str:
    """The label and the small print the box's aria-describedby names, as a person reads them."""
    label = re.search(r'<label for="offers">([^<]+)</label>', page)
    described = re.search(r'aria-describedby="([^"]+)"', page[page.index('id="offers"') :])
    small_print = re.search(rf'id="{described.group(1)}">([^<]+)<', page)
    return f"{unescape(label.group(1))}. {unescape(small_print.group(1))}"


class TestTheCheckbox:
    def test_the_number_form_has_an_unticked_labelled_box_with_its_small_print(self, visitor):
        visitor.scan()
        form = number_form(visitor.page)
        box = checkbox_labelled(visitor.page, form, OFFERS)
        assert box.type == "checkbox"
        assert "checked" not in box.attributes
        assert words_beside_the_box(visitor.page) == SHOWN_WORDING
        assert form.data()["csrf_token"]  # the form keeps its CSRF token
        assert form.method == "post"
        assert WEB_CONSENT_LABEL == OFFERS

    def test_a_refused_number_keeps_the_box_as_the_visitor_left_it(self, visitor, twilio_stand_in):
        visitor.scan()
        assert visitor.enter_number("0491 570 15", tick=OFFERS).status_code == 400
        box = checkbox_labelled(visitor.page, number_form(visitor.page), OFFERS)
        assert "checked" in box.attributes
        visitor.scan()
        box = checkbox_labelled(visitor.page, number_form(visitor.page), OFFERS)
        assert "checked" not in box.attributes
        assert twilio_stand_in.messages == []


class TestRecordingConsent:
    def test_a_code_confirmed_on_another_campaigns_page_verifies_and_consents_nothing(
        self, app, twilio_stand_in
    ):
        landing = app.extensions["selfserve"].landing
        sent = landing.request_code("spring", TYPED, "window-1", "203.0.113.9", wants_offers=True)
        code = latest_code(twilio_stand_in)
        with pytest.raises(VerificationMissing):
            landing.verify("points", sent.token, code)
        assert landing.verified("spring", sent.token) is None
        assert consents(app) == []
        # The code still works where it was asked for.
        assert landing.verify("spring", sent.token, code).phone_e164 == PHONE
        assert [(c.state, c.method, c.campaign_slug) for c in consents(app)] == [
            ("consented", "web", "spring")
        ]

    def test_a_ticked_box_and_the_right_code_record_web_consent(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan(src="window-1")
        shown = words_beside_the_box(visitor.page)
        visitor.enter_number(TYPED, tick=OFFERS)
        assert consents(app) == []  # not before the code is confirmed
        assert skip_reason(app) == "no marketing consent"
        visitor.enter_code(latest_code(twilio_stand_in))
        assert shown_code(visitor.page)
        [record] = consents(app)
        assert (record.state, record.method) == ("consented", "web")
        assert (record.campaign_slug, record.source) == ("spring", "window-1")
        assert record.wording == shown == SHOWN_WORDING
        assert skip_reason(app) is None

    def test_the_consent_is_logged_with_a_masked_number_only(
        self, visitor, twilio_stand_in, caplog
    ):
        with caplog.at_level(logging.DEBUG):
            ticked_and_confirmed(visitor, twilio_stand_in, src="window-1")
        [logged] = [r for r in caplog.records if r.getMessage() == "consent_recorded"]
        assert (logged.campaign, logged.method, logged.src) == ("spring", "web", "window-1")
        assert logged.phone == "+61 4•• ••• •56"
        text = "\n".join(
            f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "werkzeug"
        )
        assert "491570156" not in text

    def test_an_unticked_box_records_nothing(self, app, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        assert shown_code(visitor.page)
        assert consents(app) == []
        assert skip_reason(app) == "no marketing consent"

    def test_a_wrong_code_records_nothing(self, app, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED, tick=OFFERS)
        response = visitor.enter_code(wrong_code_for(latest_code(twilio_stand_in)))
        assert response.status_code == 422
        assert consents(app) == []

    def test_an_expired_code_records_nothing(self, app, visitor, twilio_stand_in):
        clock = MovableClock()
        app.extensions["selfserve"].landing.codes.clock = clock
        visitor.scan()
        visitor.enter_number(TYPED, tick=OFFERS)
        clock.advance(timedelta(minutes=10))
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 410
        assert "expired" in error_text(visitor.page)
        assert consents(app) == []

    def test_a_locked_code_records_nothing_even_when_right_at_last(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED, tick=OFFERS)
        code = latest_code(twilio_stand_in)
        for _ in range(5):
            visitor.enter_code(wrong_code_for(code))
        visitor.enter_code(code)
        assert shown_code(visitor.page) is None
        assert consents(app) == []

    def test_the_tick_is_taken_from_the_number_form_not_the_code_form(
        self, app, visitor, twilio_stand_in
    ):
        """The choice is stored with the pending code: a field added later changes nothing."""
        visitor.scan()
        visitor.enter_number(TYPED)
        form = code_form(visitor.page)
        visitor.submit(form, form.data(code=latest_code(twilio_stand_in), offers="yes"))
        assert shown_code(visitor.page)
        assert consents(app) == []

    def test_the_tick_goes_with_a_new_code(self, app, visitor, twilio_stand_in):
        visitor.scan(src="till-2")
        visitor.enter_number(TYPED, tick=OFFERS)
        visitor.press("Send me a new code")
        assert len(twilio_stand_in.messages_to(PHONE)) == 2
        visitor.enter_code(latest_code(twilio_stand_in))
        assert shown_code(visitor.page)
        assert [(r.state, r.method, r.source) for r in consents(app)] == [
            ("consented", "web", "till-2")
        ]

    def test_ticking_again_when_already_consented_adds_no_record(
        self, app, client, settings, twilio_stand_in, talon_stand_in
    ):
        talon_stand_in.add_profile(pseudonym(PHONE, settings.identity_secret), 7, balance=10)
        ticked_and_confirmed(PhoneVisitor(client), twilio_stand_in, src="window-1")
        ticked_and_confirmed(PhoneVisitor(client), twilio_stand_in, src="window-1")
        ticked_and_confirmed(PhoneVisitor(client), twilio_stand_in, slug="points", src="till-2")
        [record] = consents(app)
        assert (record.campaign_slug, record.source) == ("spring", "window-1")

    def test_a_tick_after_a_revoke_consents_again(self, app, client, visitor, twilio_stand_in):
        with app.extensions["selfserve"].sessions.begin() as db:
            record_consent(
                db, PHONE, ConsentState.CONSENTED, "keyword", "Reply Y …", campaign_slug="club"
            )
        send_text(client, "STOP", sender=PHONE)
        send_text(client, "START", sender=PHONE)
        assert skip_reason(app) == "consent revoked"
        ticked_and_confirmed(visitor, twilio_stand_in)
        assert [(r.state, r.method) for r in consents(app)] == [
            ("consented", "keyword"),
            ("revoked", "keyword"),
            ("consented", "web"),
        ]
        assert skip_reason(app) is None


class TestOptedOutNumbers:
    def test_an_opted_out_number_is_told_to_text_start_and_nothing_is_recorded(
        self, app, visitor, twilio_stand_in
    ):
        with app.extensions["selfserve"].writes.begin() as db:
            db.add(OptOut(phone_e164=PHONE, opted_out=True, reason="keyword"))
        visitor.scan()
        response = visitor.enter_number(TYPED, tick=OFFERS)
        assert response.status_code == 409
        assert "START" in error_text(visitor.page)
        assert twilio_stand_in.messages == []
        assert consents(app) == []

    def test_a_stop_between_the_code_and_its_confirmation_wins(
        self, app, client, visitor, twilio_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED, tick=OFFERS)
        code = latest_code(twilio_stand_in)
        send_text(client, "STOP", sender=PHONE)
        visitor.enter_code(code)
        # The STOP's own revoke is the only record (every opt-out is in the trail); the
        # late code adds no consent.
        assert [record.state for record in consents(app)] == ["revoked"]
        assert skip_reason(app) == "opted out (STOP)"


class TestMarketingAfterAWebConsent:
    @pytest.fixture
    def settings(self, settings):
        """Quiet hours off: the birthday run happens at whatever hour the suite does."""
        return replace(settings, quiet_hours="off")

    def test_a_birthday_coupon_goes_to_a_customer_who_ticked_the_box(
        self, app, runner, visitor, tmp_path, twilio_stand_in
    ):
        import_campaigns_text(app, BIRTHDAY)
        directory = tmp_path / "customers.csv"
        directory.write_text(
            "phone,customer_id,first_name,birthday\n0491570156,C-1,Ada,1990-05-17\n"
        )
        runner.invoke(args=["customers", "import", str(directory)])
        before = runner.invoke(args=["birthdays", "send", "--date", "2027-05-17", "--dry-run"])
        assert "skipped      C-1  +61 4•• ••• •56  no marketing consent" in before.output
        ticked_and_confirmed(visitor, twilio_stand_in)
        after = runner.invoke(args=["birthdays", "send", "--date", "2027-05-17"])
        assert after.exit_code == 0, after.output
        assert "1 sent" in after.output
        assert twilio_stand_in.messages_to(PHONE)[-1].body.startswith("Happy birthday Ada!")
