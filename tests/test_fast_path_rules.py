"""Rules the returning customer's fast path must keep, added for survivors of
scripts/mutation-check on selfserve/returning.py (docs/testing.md)."""

from __future__ import annotations

from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text, reply_text, send_text

SENDER = "+61491570190"


def test_a_returning_customer_of_a_paused_campaign_is_told_it_has_ended(app, client):
    assert "Your Spring code: T1-" in reply_text(send_text(client, "SPRING", sender=SENDER))
    import_campaigns_text(
        app, SPRING_CAMPAIGNS.replace('slug = "spring"', 'slug = "spring"\nactive = false', 1)
    )
    again = reply_text(send_text(client, "SPRING", sender=SENDER))
    assert "has ended" in again
    assert "T1-" not in again


def test_a_repeated_message_sid_gets_its_first_reply_even_after_the_reply_changed(
    app, client, talon_stand_in
):
    """Twilio's retry of a text already answered gets exactly the first answer, read by its
    MessageSid, not a reply rendered again from a template edited meanwhile."""
    reply_text(send_text(client, "SPRING", sender=SENDER))  # the code exists: fast path
    first = reply_text(send_text(client, "SPRING", sender=SENDER, message_sid="SM" + "e" * 32))
    app.extensions["selfserve"].returning.flush()
    import_campaigns_text(
        app, SPRING_CAMPAIGNS.replace("Your Spring code: {code}", "Spring is here: {code}", 1)
    )
    retry = reply_text(send_text(client, "SPRING", sender=SENDER, message_sid="SM" + "e" * 32))
    assert retry == first
    assert retry.startswith("Your Spring code: T1-")
    assert len(talon_stand_in.coupon_requests()) == 1
