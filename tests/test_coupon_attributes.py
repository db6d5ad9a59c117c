"""First touch, kept with each code and optionally sent to Talon.One as custom coupon
attributes (`coupon_attributes = true`): `.selfserveSource`, `.selfserveKeyword`,
`.selfserveChannel`."""

from __future__ import annotations

from sqlalchemy import select

from selfserve.models import Campaign, IssuedCoupon
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text, reply_text, send_text
from tests.console_support import create_console_user, csrf_token, log_in
from tests.phone_visitor import PhoneVisitor, one_time_code

WITH_ATTRIBUTES = SPRING_CAMPAIGNS.replace(
    "recipient = true\n", "recipient = true\ncoupon_attributes = true\n", 1
)


def coupon_attributes(talon_stand_in) -> list[dict[str, str]]:
    return [
        {name: value for name, value in asked.args.items() if name.startswith(".")}
        for asked in talon_stand_in.coupon_requests()
    ]


def test_a_texted_code_sends_its_channel_and_keyword(app, talon_stand_in):
    import_campaigns_text(app, WITH_ATTRIBUTES)

    assert "Your Spring code" in (reply_text(send_text(app.test_client(), "BLOOM")) or "")

    assert coupon_attributes(talon_stand_in) == [
        {".selfserveKeyword": "BLOOM", ".selfserveChannel": "text"}
    ]


def test_a_landing_page_code_sends_its_poster_location(app, talon_stand_in, twilio_stand_in):
    import_campaigns_text(app, WITH_ATTRIBUTES)
    visitor = PhoneVisitor(app.test_client())
    visitor.scan("spring", src="platform-2")
    visitor.enter_number("+61491570170")
    visitor.enter_code(one_time_code(twilio_stand_in.messages_to("+61491570170")[-1].body))

    assert coupon_attributes(talon_stand_in) == [
        {".selfserveSource": "platform-2", ".selfserveChannel": "landing"}
    ]
    with app.extensions["selfserve"].sessions() as db:
        [issued] = db.scalars(select(IssuedCoupon)).all()
    assert (issued.channel, issued.keyword, issued.source) == ("landing", None, "platform-2")


def test_without_the_option_no_attribute_is_sent_but_the_touch_is_kept(app, talon_stand_in):
    send_text(app.test_client(), "SPRING")

    assert coupon_attributes(talon_stand_in) == [{}]
    with app.extensions["selfserve"].sessions() as db:
        [issued] = db.scalars(select(IssuedCoupon)).all()
    assert (issued.channel, issued.keyword, issued.source) == ("text", "SPRING", None)


def test_the_campaign_form_turns_the_option_on(app, client):
    create_console_user(app)
    log_in(client)
    page = client.get("/admin/campaigns/spring").get_data(as_text=True)
    assert 'name="coupon_attributes"' in page
    with app.extensions["selfserve"].sessions() as db:
        form = {
            key: str(value)
            for key, value in db.scalar(
                select(Campaign).where(Campaign.slug == "spring")
            ).definition.items()
            if not isinstance(value, bool | list)
        }
    form.update(keywords="SPRING, BLOOM", active="on", recipient="on", coupon_attributes="on")

    response = client.post(
        "/admin/campaigns/spring",
        data={**form, "csrf_token": csrf_token(client, "/admin/campaigns/spring")},
    )

    assert response.status_code == 302
    with app.extensions["selfserve"].sessions() as db:
        stored = db.scalar(select(Campaign).where(Campaign.slug == "spring"))
    assert stored.definition["coupon_attributes"] is True
