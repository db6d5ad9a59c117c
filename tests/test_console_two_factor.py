"""Two-factor log-in with an authenticator app: enrolment under MFA_REQUIRED, codes used once,
recovery codes, `users reset-mfa`, and the events each leaves."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy import select

from selfserve.models import AuditEvent, ConsoleRecoveryCode, ConsoleTotp
from tests.console_support import EMAIL, PASSWORD, create_console_user, csrf_token, log_in
from tests.two_factor_support import (
    code_at,
    enrol_totp,
    log_in_with_code,
    log_out,
    mfa_app,
    read_secret,
    second_step,
)


@pytest.fixture
def mfa(settings):
    application = mfa_app(settings)
    create_console_user(application)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def events(mfa):
    """The audit trail's rows so far (what /admin/audit shows), as (action, outcome) pairs."""

    def recorded() -> list[tuple[str, str]]:
        with mfa.extensions["selfserve"].sessions() as db:
            rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(row.action, row.outcome) for row in rows]

    return recorded


class TestEnrolment:
    def test_a_user_without_a_factor_is_sent_to_enrolment_from_every_page(self, mfa):
        client = mfa.test_client()
        assert log_in(client).status_code == 302
        for path in ("/admin/", "/admin/campaigns", "/admin/stats.csv", "/admin/security"):
            answer = client.get(path)
            assert answer.status_code == 302, path
            assert answer.headers["Location"] == "/admin/security/enrol", path
        token = csrf_token(client, "/admin/security/enrol")
        paused = client.post("/admin/campaigns/spring/pause", data={"csrf_token": token})
        assert paused.headers["Location"] == "/admin/security/enrol"
        assert mfa.extensions["selfserve"].campaigns.by_slug("spring").active

    def test_the_qr_code_and_the_text_beside_it_hold_the_same_secret(self, mfa):
        client = mfa.test_client()
        log_in(client)
        page = client.get("/admin/security/enrol").get_data(as_text=True)
        secret = read_secret(page)
        png = page.split('id="totp-qr" src="data:image/png;base64,')[1].split('"')[0]
        import base64

        image = Image.open(io.BytesIO(base64.b64decode(png))).convert("L")
        [symbol] = pyzbar.decode(image)
        uri = symbol.data.decode()
        assert uri.startswith("otpauth://totp/")
        assert f"secret={secret}" in uri
        assert "marketer%40acme.example" in uri or "marketer@acme.example" in uri

    def test_a_wrong_code_does_not_confirm_and_the_console_stays_closed(self, mfa):
        client = mfa.test_client()
        log_in(client)
        secret = read_secret(client.get("/admin/security/enrol").get_data(as_text=True))
        wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
        token = csrf_token(client, "/admin/security/enrol")
        answer = client.post("/admin/security/enrol", data={"code": wrong, "csrf_token": token})
        assert answer.status_code == 422
        assert client.get("/admin/").headers["Location"] == "/admin/security/enrol"

    def test_confirming_opens_the_console_and_shows_ten_recovery_codes_once(self, mfa, events):
        client = mfa.test_client()
        secret, codes = enrol_totp(client)
        assert len(codes) == 10
        assert len(set(codes)) == 10
        assert client.get("/admin/").status_code == 200
        assert codes[0] not in client.get("/admin/security").get_data(as_text=True)
        assert secret not in client.get("/admin/security").get_data(as_text=True)
        with mfa.extensions["selfserve"].sessions() as db:
            stored = db.scalars(select(ConsoleRecoveryCode.code_hash)).all()
        assert len(stored) == 10
        assert not any(code.replace("-", "") in joined for code in codes for joined in stored)
        assert ("mfa_enrol", "ok") in events()


class TestLogInWithTheApp:
    def test_the_apps_code_logs_in_once_and_a_replay_is_refused_and_recorded(self, mfa, events):
        client = mfa.test_client()
        secret, _ = enrol_totp(client)
        log_out(client)
        code = code_at(secret)
        answer = log_in_with_code(client, code)
        assert answer.status_code == 302
        assert answer.headers["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200
        log_out(client)
        replay = log_in_with_code(client, code)
        assert replay.status_code == 401
        assert client.get("/admin/").status_code == 302
        assert ("mfa_code", "refused: replayed") in events()
        later = second_step(client, code_at(secret, offset_steps=1))
        assert later.status_code == 302
        assert client.get("/admin/").status_code == 200

    def test_the_password_alone_does_not_log_in_a_user_with_a_factor(self, mfa):
        client = mfa.test_client()
        enrol_totp(client)
        log_out(client)
        assert log_in(client).headers["Location"] == "/admin/login/second-factor"
        assert client.get("/admin/").status_code == 302
        assert client.get("/admin/").headers["Location"].startswith("/admin/login")

    def test_a_wrong_code_is_refused_and_throttled(self, mfa):
        client = mfa.test_client()
        secret, _ = enrol_totp(client)
        log_out(client)
        wrong = f"{(int(code_at(secret)) + 500_000) % 1_000_000:06d}"
        assert log_in_with_code(client, wrong).status_code == 401
        for _ in range(4):
            assert second_step(client, wrong).status_code == 401
        assert second_step(client, code_at(secret)).status_code == 429

    def test_the_second_step_without_a_password_first_goes_back_to_log_in(self, mfa):
        client = mfa.test_client()
        answer = client.get("/admin/login/second-factor")
        assert answer.status_code == 302
        assert answer.headers["Location"] == "/admin/login"


class TestRecoveryCodes:
    def test_a_recovery_code_logs_in_once(self, mfa, events):
        client = mfa.test_client()
        _, codes = enrol_totp(client)
        log_out(client)
        answer = log_in_with_code(client, codes[3].upper().replace("-", " "))
        assert answer.status_code == 302
        assert client.get("/admin/").status_code == 200
        assert ("mfa_recovery_code", "ok") in events()
        log_out(client)
        assert log_in_with_code(client, codes[3]).status_code == 401
        assert second_step(client, codes[4]).status_code == 302

    def test_new_recovery_codes_replace_the_old_ones(self, mfa):
        client = mfa.test_client()
        _, old = enrol_totp(client)
        token = csrf_token(client, "/admin/security")
        page = client.post("/admin/security/recovery-codes", data={"csrf_token": token})
        new = [line for line in old if line in page.get_data(as_text=True)]
        assert new == []
        log_out(client)
        assert log_in_with_code(client, old[0]).status_code == 401


class TestResetMfa:
    def test_reset_mfa_removes_the_factors_and_the_user_enrols_again(self, mfa, events):
        client = mfa.test_client()
        secret, _ = enrol_totp(client)
        log_out(client)
        result = mfa.test_cli_runner().invoke(args=["users", "reset-mfa", EMAIL.upper()])
        assert result.exit_code == 0, result.output
        assert ("mfa_reset", "ok") in events()
        with mfa.extensions["selfserve"].sessions() as db:
            assert db.scalars(select(ConsoleTotp)).all() == []
            assert db.scalars(select(ConsoleRecoveryCode)).all() == []
        assert log_in(client).headers["Location"] == "/admin/"
        assert client.get("/admin/").headers["Location"] == "/admin/security/enrol"
        assert read_secret(client.get("/admin/security/enrol").get_data(as_text=True)) != secret

    def test_reset_mfa_for_an_unknown_user_says_so(self, mfa):
        result = mfa.test_cli_runner().invoke(args=["users", "reset-mfa", "nobody@acme.example"])
        assert result.exit_code == 1
        assert "no console user" in result.output


class TestWithoutMfaRequired:
    def test_a_user_without_a_factor_uses_the_console_and_may_enrol(self, app, client):
        create_console_user(app)
        log_in(client)
        assert client.get("/admin/").status_code == 200
        secret = read_secret(client.get("/admin/security/enrol").get_data(as_text=True))
        token = csrf_token(client, "/admin/security/enrol")
        client.post("/admin/security/enrol", data={"code": code_at(secret), "csrf_token": token})
        log_out(client)
        assert log_in(client).headers["Location"] == "/admin/login/second-factor"


class TestChangingFactors:
    def test_later_changes_need_the_password_and_a_code_again(self, mfa, events):
        client = mfa.test_client()
        secret, _ = enrol_totp(client)
        with client.session_transaction() as stale:
            stale["authenticated_at"] = 0  # logged in long ago
        token = csrf_token(client, "/admin/security")
        refused = client.post("/admin/security/app/remove", data={"csrf_token": token})
        assert refused.headers["Location"].startswith("/admin/security/confirm")
        with mfa.extensions["selfserve"].sessions() as db:
            assert db.scalars(select(ConsoleTotp)).one().confirmed_at is not None
        token = csrf_token(client, "/admin/security/confirm")
        password_only = client.post(
            "/admin/security/confirm", data={"password": PASSWORD, "csrf_token": token}
        )
        assert password_only.status_code == 401
        assert ("confirm_identity", "failed") in events()
        confirmed = client.post(
            "/admin/security/confirm",
            data={"password": PASSWORD, "code": code_at(secret), "csrf_token": token},
        )
        assert confirmed.status_code == 302
        removed = client.post("/admin/security/app/remove", data={"csrf_token": token})
        assert removed.headers["Location"] == "/admin/security"
        with mfa.extensions["selfserve"].sessions() as db:
            assert db.scalars(select(ConsoleTotp)).all() == []
        assert ("mfa_remove", "ok") in events()
