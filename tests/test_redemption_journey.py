"""Closing the loop end to end: codes from two posters and a typed keyword, redeemed (one
rolled back) at Talon.One, synced by the command, then the console's funnel and its CSV,
MYCODES and the code page, as marketers and customers see them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from selfserve.models import IssuedCoupon
from tests.conftest import reply_text, send_text
from tests.console_support import create_console_user, log_in
from tests.phone_visitor import PhoneVisitor, one_time_code

SPRING = (12, 34)
POSTERS = {"station": ["+61491570161", "+61491570162"], "mall": ["+61491570163"]}
TEXTERS = ["+61491570164", "+61491570165"]


def claim_on_page(app, twilio_stand_in, src: str, phone: str) -> None:
    visitor = PhoneVisitor(app.test_client())
    visitor.scan("spring", src=src)
    visitor.enter_number(phone)
    assert (
        visitor.enter_code(one_time_code(twilio_stand_in.messages_to(phone)[-1].body)).status_code
        == 200
    )


def codes_by_customer(app) -> dict[str, IssuedCoupon]:
    with app.extensions["selfserve"].sessions() as db:
        return {row.customer_id: row for row in db.scalars(select(IssuedCoupon))}


@pytest.fixture
def five_codes(redemption_app, twilio_stand_in) -> dict[str, IssuedCoupon]:
    """Three codes from two posters' landing pages, two from texting SPRING."""
    for src, phones in POSTERS.items():
        for phone in phones:
            claim_on_page(redemption_app, twilio_stand_in, src, phone)
    texter = redemption_app.test_client()
    for phone in TEXTERS:
        assert "Your Spring code" in (reply_text(send_text(texter, "SPRING", phone)) or "")
    codes = codes_by_customer(redemption_app)
    assert len(codes) == 5
    return codes


def by_source(codes: dict[str, IssuedCoupon], source: str | None) -> list[IssuedCoupon]:
    return sorted((c for c in codes.values() if c.source == source), key=lambda c: c.id)


@pytest.fixture
def synced(redemption_app, five_codes, talon_management) -> dict[str, list[IssuedCoupon]]:
    """Three of the five redeemed at Talon.One, the mall's rolled back; synced twice."""
    station = by_source(five_codes, "station")
    [mall] = by_source(five_codes, "mall")
    texted = by_source(five_codes, None)
    assert {c.channel for c in [*station, mall]} == {"landing"}
    assert {(c.channel, c.keyword) for c in texted} == {("text", "SPRING")}
    talon_management.redeem(*SPRING, station[0].code, revenue="12.50")
    session = talon_management.redeem(*SPRING, mall.code, revenue="80")
    talon_management.redeem(*SPRING, texted[0].code, revenue="30.25")
    talon_management.roll_back(*SPRING, mall.code, session)
    runner = redemption_app.test_cli_runner()
    assert runner.invoke(args=["redemptions", "sync"]).exit_code == 0
    again = runner.invoke(args=["redemptions", "sync"])
    assert again.exit_code == 0
    assert "0 new redemption(s), 0 rolled back" in again.output
    return {"station": station, "mall": [mall], "texted": texted}


def test_the_funnel_and_its_csv_show_each_source_redeemed_rate_and_revenue(redemption_app, synced):
    console = redemption_app.test_client()
    create_console_user(redemption_app)
    log_in(console)
    stats = console.get("/admin/stats").get_data(as_text=True)
    csv_link = re.search(r'href="([^"]*stats\.csv[^"]*)"', stats).group(1)
    text = console.get(csv_link.replace("&amp;", "&")).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    spring = [r for r in rows if r["campaign"] == "spring"]
    sources = {r["source"]: r for r in spring if r["breakdown"] == "source"}
    assert _numbers(sources["station"]) == ("2", "1", "0.5000", "12.50")
    assert _numbers(sources["mall"]) == ("1", "0", "0.0000", "0.00")
    assert _numbers(sources["direct"]) == ("2", "1", "0.5000", "30.25")
    [keyword] = [r for r in spring if r["breakdown"] == "keyword" and r["keyword"] == "SPRING"]
    assert _numbers(keyword) == ("2", "1", "0.5000", "30.25")
    [overall] = [r for r in spring if r["breakdown"] == "overall"]
    assert _numbers(overall) == ("5", "2", "0.4000", "42.75")
    assert (overall["landing_visits"], overall["numbers_verified"]) == ("3", "3")
    assert overall["redeemed_same_day"] == "2"
    station_row = re.search(r'<tr data-source="station">.*?</tr>', stats, re.DOTALL).group(0)
    assert re.search(r'class="num redeemed">1<', station_row)
    assert ">50%<" in station_row
    assert ">12.50<" in station_row
    dashboard = console.get("/admin/").get_data(as_text=True)
    assert re.search(r'Redeemed today</div>\s*<div class="value">2<', dashboard)


def test_mycodes_and_the_code_page_know_a_code_was_used(redemption_app, synced):
    texted, station = synced["texted"], synced["station"]
    reply = reply_text(send_text(redemption_app.test_client(), "MYCODES", TEXTERS[0])) or ""
    assert texted[0].code not in reply
    assert "used on" in reply
    reply = reply_text(send_text(redemption_app.test_client(), "MYCODES", TEXTERS[1])) or ""
    assert texted[1].code in reply
    shopper = redemption_app.test_client()
    used = shopper.get(f"/c/{station[0].code_token}")
    page = used.get_data(as_text=True)
    assert used.status_code == 200
    assert "Used on " in page
    assert 'class="barcode"' not in page
    assert "barcode." not in page
    assert shopper.get(f"/c/{station[0].code_token}/barcode.png").status_code == 404
    unused = shopper.get(f"/c/{station[1].code_token}").get_data(as_text=True)
    assert 'class="barcode"' in unused
    assert "Used on" not in unused


def _numbers(row: dict[str, str]) -> tuple[str, str, str, str]:
    return row["codes_issued"], row["redeemed"], row["redemption_rate"], row["revenue"]


def test_without_a_management_key_the_console_says_how_to_turn_redemptions_on(app, client):
    create_console_user(app)
    log_in(client)

    stats = client.get("/admin/stats")
    dashboard = client.get("/admin/")
    funnel = client.get("/admin/stats.csv")
    command = app.test_cli_runner().invoke(args=["redemptions", "sync"])

    assert stats.status_code == 200
    assert dashboard.status_code == 200
    assert "TALON_MANAGEMENT_KEY" in stats.get_data(as_text=True)
    assert "TALON_MANAGEMENT_KEY" in dashboard.get_data(as_text=True)
    assert funnel.status_code == 200
    assert funnel.get_data(as_text=True).startswith("campaign,")
    assert command.exit_code == 0
    assert "TALON_MANAGEMENT_KEY" in command.output
