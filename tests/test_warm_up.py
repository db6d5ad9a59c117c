"""`campaigns warm` and `campaigns plan`: codes fetched before the burst, within a budget share."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from selfserve.models import InboundMessage, IssuedCoupon, WarmUp
from tests.conftest import (
    SPRING_CAMPAIGNS,
    _build_app,
    import_campaigns_text,
    reply_text,
    send_text,
)


def phone_of(number: int) -> str:
    """A valid Australian mobile number (ACMA's range for fiction), one per customer."""
    return f"+61491570{100 + number:03d}"


def import_directory(runner, tmp_path, count: int) -> list[tuple[str, str]]:
    """`count` directory customers through `customers import`; their (phone, customer id)."""
    customers = [(phone_of(n), f"C-{n}") for n in range(count)]
    csv = tmp_path / "customers.csv"
    csv.write_text("phone,customer_id\n" + "".join(f"{p},{c}\n" for p, c in customers))
    result = runner.invoke(args=["customers", "import", str(csv)])
    assert result.exit_code == 0, result.output
    return customers


def code_by_identifier(talon_stand_in) -> dict[str, str]:
    return {key[2]: coupon["Value"] for key, coupon in talon_stand_in.coupons.items()}


def outcomes(app) -> list[str]:
    services = app.extensions["selfserve"]
    services.returning.flush()
    with services.sessions() as db:
        return list(db.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)))


def test_warmed_customers_get_their_own_code_inline_while_talon_is_down(
    app, runner, client, talon_stand_in, tmp_path
):
    customers = import_directory(runner, tmp_path, 30)
    result = runner.invoke(args=["campaigns", "warm", "spring"])
    assert result.exit_code == 0, result.output
    assert "warm: 30 of 30" in result.output
    assert len(talon_stand_in.coupon_requests()) == 30
    codes = code_by_identifier(talon_stand_in)

    talon_stand_in.down = True  # 503 to everything from now on
    calls_before = len(talon_stand_in.requests)
    for phone, customer_id in customers:
        reply = reply_text(send_text(client, "SPRING", sender=phone))
        assert reply is not None
        assert codes[f"{customer_id}:34"] in reply, reply
    assert len(talon_stand_in.requests) == calls_before, "no Talon.One call after the warm-up"


def test_a_warmed_code_is_issued_when_first_asked_for_not_when_warmed(
    app, runner, client, talon_stand_in, tmp_path
):
    [(phone, _)] = import_directory(runner, tmp_path, 1)
    assert runner.invoke(args=["campaigns", "warm", "spring"]).exit_code == 0
    assert outcomes(app) == [], "the warm-up writes nothing to the message log"
    with app.extensions["selfserve"].sessions() as db:
        assert db.scalars(select(IssuedCoupon.warm)).all() == [True]

    send_text(client, "SPRING", sender=phone)
    send_text(client, "spring", sender=phone)
    assert outcomes(app) == ["code_issued", "code_resent"]
    with app.extensions["selfserve"].sessions() as db:
        assert db.scalars(select(IssuedCoupon.warm)).all() == [False]


def test_first_asks_are_settled_in_the_log_batch_whatever_its_timing(
    app, runner, client, talon_stand_in, tmp_path
):
    # The fast path answers at once and leaves "which text was the first ask" to the message
    # log's batch: one UPDATE per batch, however many warm codes were asked for.
    customers = import_directory(runner, tmp_path, 3)
    assert runner.invoke(args=["campaigns", "warm", "spring"]).exit_code == 0
    for phone, _ in customers:
        send_text(client, "SPRING", sender=phone)
    first, second, third = customers
    send_text(client, "SPRING", sender=first[0])  # same batch as its first ask
    assert outcomes(app) == ["code_issued"] * 3 + ["code_resent"]  # outcomes() flushes
    send_text(client, "SPRING", sender=second[0])  # a later batch
    assert outcomes(app)[-1] == "code_resent"
    with app.extensions["selfserve"].sessions() as db:
        assert db.scalars(select(IssuedCoupon.warm)).all() == [False] * 3


def test_a_second_warm_run_makes_no_talon_call(app, runner, talon_stand_in, tmp_path):
    import_directory(runner, tmp_path, 12)
    assert runner.invoke(args=["campaigns", "warm", "spring"]).exit_code == 0
    assert len(talon_stand_in.coupon_requests()) == 12

    again = runner.invoke(args=["campaigns", "warm", "spring"])
    assert again.exit_code == 0, again.output
    assert len(talon_stand_in.coupon_requests()) == 12
    assert "warm: 12 of 12" in again.output


def test_a_segment_warms_only_its_customers(app, runner, talon_stand_in, tmp_path):
    customers = import_directory(runner, tmp_path, 6)
    segment = tmp_path / "segment.csv"
    segment.write_text(f"phone\n{customers[0][0]}\n0491 570 101\n+61491570999\n")
    result = runner.invoke(args=["campaigns", "warm", "spring", "--segment", str(segment)])
    assert result.exit_code == 0, result.output
    assert sorted(code_by_identifier(talon_stand_in)) == ["C-0:34", "C-1:34"]
    assert "not in the directory: +61491570999" in result.output


@pytest.fixture
def small_budget_app(queue_settings):
    """The app with TALON_RATE_LIMIT_PER_MINUTE=60 over a 2-second window (tests only), on
    the embedded budget and, with TEST_REDIS_URL, on Redis's."""
    application = _build_app(
        replace(queue_settings, talon_rate_limit_per_minute=60, talon_rate_window_seconds=2.0)
    )
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


def test_a_half_share_makes_at_most_half_the_budget_of_calls_in_a_window(
    small_budget_app, talon_stand_in, tmp_path
):
    runner = small_budget_app.test_cli_runner()
    import_directory(runner, tmp_path, 40)
    result = runner.invoke(args=["campaigns", "warm", "spring", "--budget-share", "0.5"])
    assert result.exit_code == 0, result.output
    arrivals = [call.at for call in talon_stand_in.coupon_requests()]
    assert len(arrivals) == 40
    # Any "minute" (TALON_RATE_WINDOW_SECONDS, 2 s here) holds at most 30 warm-up calls.
    window = small_budget_app.extensions["selfserve"].settings.talon_rate_window_seconds
    busiest = max(sum(1 for t in arrivals if start <= t < start + window) for start in arrivals)
    assert busiest <= 30
    assert arrivals[-1] - arrivals[0] >= window, "the last 10 waited for the window to move"


def test_live_traffic_keeps_the_rest_of_the_budget(small_budget_app, talon_stand_in, tmp_path):
    runner = small_budget_app.test_cli_runner()
    import_directory(runner, tmp_path, 60)
    services = small_budget_app.extensions["selfserve"]
    campaign = services.campaigns.by_slug("spring")
    one_second = services.warm_ups.now() + timedelta(seconds=1)
    report = services.warm_ups.run(
        campaign, services.warm_ups.plan(campaign), share=0.5, until=one_second
    )
    assert (report.warmed, report.state) == (30, "stopped")
    assert services.budget.spent_in_window() == 30
    reply = reply_text(send_text(small_budget_app.test_client(), "SPRING", sender="+61491571000"))
    assert "Your Spring code" in reply


def test_dry_run_campaigns_refuse_to_warm(settings, talon_stand_in, tmp_path):
    application = _build_app(replace(settings, talon_dry_run=True))
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    try:
        runner = application.test_cli_runner()
        import_directory(runner, tmp_path, 3)
        result = runner.invoke(args=["campaigns", "warm", "spring"])
    finally:
        application.extensions["selfserve"].close()
    assert result.exit_code == 1
    assert "runs dry" in result.output
    assert talon_stand_in.coupon_requests() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["campaigns", "warm", "nope"], "no campaign nope"),
        (["campaigns", "warm", "points"], "not a coupon one"),
        (["campaigns", "warm", "spring", "--budget-share", "0"], "budget share"),
        (["campaigns", "warm", "spring", "--budget-share", "1.5"], "budget share"),
        (["campaigns", "warm", "spring", "--until", "tomorrow"], "Invalid value for '--until'"),
    ],
)
def test_bad_warm_requests_are_refused_clearly(app, runner, talon_stand_in, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert talon_stand_in.coupon_requests() == []


def test_an_interrupted_warm_up_keeps_its_codes_and_a_rerun_continues(
    app, runner, talon_stand_in, tmp_path
):
    import_directory(runner, tmp_path, 10)
    services = app.extensions["selfserve"]
    campaign = services.campaigns.by_slug("spring")
    plan = services.warm_ups.plan(campaign)
    fetched = []

    def ctrl_c_after_four(steps: int) -> None:
        fetched.append(steps)
        if len(fetched) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.warm_ups.run(campaign, plan, share=1.0, progress=ctrl_c_after_four)
    status = services.warm_ups.status("spring")
    assert (status.warmed, status.total, status.state) == (4, 10, "stopped")

    result = runner.invoke(args=["campaigns", "warm", "spring"])
    assert result.exit_code == 0, result.output
    assert len(talon_stand_in.coupon_requests()) == 10, "the four kept codes were not asked again"


def test_a_past_until_stops_before_any_call(app, runner, talon_stand_in, tmp_path):
    import_directory(runner, tmp_path, 3)
    result = runner.invoke(args=["campaigns", "warm", "spring", "--until", "2020-01-01 18:00"])
    assert result.exit_code == 0, result.output
    assert "warm: 0 of 3 (stopped" in result.output
    assert talon_stand_in.coupon_requests() == []
    with app.extensions["selfserve"].sessions() as db:
        assert db.get(WarmUp, "spring").state == "stopped"


def test_plan_prints_what_a_burst_would_do_to_the_budget(app, runner, talon_stand_in, tmp_path):
    import_directory(runner, tmp_path, 300)
    segment = tmp_path / "first-hundred.csv"
    segment.write_text("customer_id\n" + "".join(f"C-{n}\n" for n in range(100)))
    assert (
        runner.invoke(args=["campaigns", "warm", "spring", "--segment", str(segment)]).exit_code
        == 0
    )

    result = runner.invoke(
        args=["campaigns", "plan", "spring", "--expected", "30000", "--minutes", "10"]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    # 500 a minute (the default budget) for 10 minutes: 5,000 calls inline; 100 codes ready.
    assert "budget 500 calls a minute" in text
    assert "answered inline:   5,100" in text
    assert "no Talon.One call: 100" in text
    assert "within the budget:               5,000" in text
    assert "deferred:          24,900" in text
    assert "drains in 49.8 minutes" in text
    # A warm-up at half the budget (250 a minute) warms the other 200 in 0.8 minutes.
    assert "250 a minute): 200 directory customers without a code, 0.8 minutes" in text


def test_a_text_racing_the_warm_up_for_the_same_code_takes_it_as_asked_for(
    app, runner, talon_stand_in, tmp_path
):
    [(_, customer_id)] = import_directory(runner, tmp_path, 1)
    assert runner.invoke(args=["campaigns", "warm", "spring"]).exit_code == 0
    services = app.extensions["selfserve"]
    campaign = services.campaigns.by_slug("spring")
    # The text read "no code" just before the warm-up stored it, then asked Talon.One too.
    code = services.coupons.issue(campaign, customer_id, f"{customer_id}:34", known_missing=True)
    assert code.fresh
    with services.sessions() as db:
        assert db.scalars(select(IssuedCoupon.warm)).all() == [False]
