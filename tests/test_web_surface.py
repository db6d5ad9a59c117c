"""The hardened web surface, black-box over HTTP: headers on every page, cookies, robots.txt.

A crawl follows every link of the site from the pages a visitor, a customer and a logged-in
marketer start from, plus error pages (404, 405, a CSRF refusal, a refused phone number), and
checks every response: HTML carries a Content-Security-Policy whose scripts are never inline,
nosniff and Referrer-Policy; nothing may be framed; every cookie is HttpOnly, SameSite and (on
an https PUBLIC_BASE_URL) Secure; HSTS is sent exactly when PUBLIC_BASE_URL is https.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import pytest
from flask import Flask

from app import create_app
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text
from tests.console_support import create_console_user, csrf_token, log_in

OFFER_CAMPAIGN = SPRING_CAMPAIGNS.replace(
    'name = "Spring 20% off"',
    'name = "Spring 20% off"\noffer = "20% off everything in store until the end of spring."',
)
CRAWL_LIMIT = 200
SKIPPED = re.compile(r"^/(metrics|readyz)$")  # not pages, and slow to build; headers still checked


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and ((tag == "a" and name == "href") or name == "src"):
                self.links.append(value)
            if value and tag == "link" and name == "href":
                self.links.append(value)
            if value and tag == "form" and name == "action" and ("method", "get") in attrs:
                self.links.append(value)


def same_site_links(path: str, page: str) -> Iterator[str]:
    """Links on `page` (served at `path`) that stay on our site, without fragments."""
    parser = _Links()
    parser.feed(page)
    for link in parser.links:
        absolute = urljoin("http://site" + path, link)
        parts = urlsplit(absolute)
        if parts.netloc == "site" and parts.scheme == "http":
            yield parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client: Any, starts: list[str]) -> dict[str, Any]:
    """GET every page reachable from `starts` (our site only); {path: response}."""
    seen: dict[str, Any] = {}
    queue = list(starts)
    while queue and len(seen) < CRAWL_LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response
        if response.mimetype == "text/html" and not SKIPPED.match(path):
            queue.extend(same_site_links(path, response.get_data(as_text=True)))
        response.close()  # static files are streamed from an open file
    return seen


def directives(policy: str) -> dict[str, str]:
    """A CSP header as {directive: sources}."""
    found = {}
    for part in policy.split(";"):
        name, _, sources = part.strip().partition(" ")
        if name:
            found[name] = sources
    return found


def assert_hardened(path: str, response: Any, https: bool = True) -> None:
    """The headers and cookie flags every response of ours must carry."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "same-origin", path
    assert ("Strict-Transport-Security" in headers) is https, path
    policy = headers.get("Content-Security-Policy", "")
    if response.mimetype == "text/html":
        assert policy, f"{path}: an HTML page without a Content-Security-Policy"
    if policy:
        rules = directives(policy)
        scripts = rules.get("script-src", rules.get("default-src", ""))
        assert scripts, f"{path}: CSP allows scripts from anywhere: {policy}"
        for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:", "data:"):
            assert loose not in scripts.split(), f"{path}: script-src {scripts}"
        assert rules.get("frame-ancestors") == "'none'", path
        assert rules.get("base-uri") in ("'none'", "'self'"), path
        assert rules.get("object-src", rules.get("default-src")) in ("'none'", "'self'"), path
    for cookie in headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie, f"{path}: {cookie}"
        assert re.search(r"SameSite=(Lax|Strict)", cookie), f"{path}: {cookie}"
        assert ("Secure" in cookie) is https, f"{path}: {cookie}"


@pytest.fixture
def offer_app(app: Flask) -> Flask:
    import_campaigns_text(app, OFFER_CAMPAIGN)
    create_console_user(app)
    return app


START_PAGES = [
    "/",
    "/robots.txt",
    "/q/spring",
    "/q/spring?src=front-door",
    "/q/points",
    "/q/spring/number",
    "/q/spring/verify",
    "/q/spring/coupon",
    "/q/no-such-offer",
    "/no-such-page",
    "/admin/",
    "/admin/login",
    "/admin/logout",  # POST only: a 405 page
    "/dev/phone",
    "/healthz",
    "/static/selfserve.css",
    "/webhooks/twilio/sms",  # the webhook app's own 405
]


class TestEveryResponseIsHardened:
    def test_a_visitor_crawl(self, offer_app: Flask) -> None:
        pages = crawl(offer_app.test_client(), START_PAGES)
        assert {"/", "/q/spring", "/admin/login"} <= set(pages)
        assert pages["/no-such-page"].status_code == 404
        assert pages["/admin/logout"].status_code == 405
        assert pages["/dev/phone"].status_code == 404  # Twilio is live: console users only
        html = [path for path, response in pages.items() if response.mimetype == "text/html"]
        assert len(html) >= 8
        for path, response in pages.items():
            assert_hardened(path, response)

    def test_a_logged_in_crawl(self, offer_app: Flask) -> None:
        client = offer_app.test_client()
        assert log_in(client).status_code == 302
        pages = crawl(client, START_PAGES + ["/admin/campaigns/spring", "/admin/campaigns/new"])
        consoled = [path for path in pages if path.startswith("/admin/")]
        assert {
            "/admin/",
            "/admin/campaigns",
            "/admin/messages",
            "/admin/stats",
            "/admin/campaigns/spring",
        } <= set(consoled)
        assert pages["/dev/phone"].status_code == 200
        assert any(path.startswith("/admin/campaigns/spring/posters/") for path in pages)
        for path, response in pages.items():
            assert_hardened(path, response)

    def test_error_answers_of_forms(self, offer_app: Flask) -> None:
        client = offer_app.test_client()
        answers = {
            "landing without a token": client.post("/q/spring", data={"phone": "0491570156"}),
            "log-in without a token": client.post("/admin/login", data={"email": "a@b.example"}),
            "a refused number": client.post(
                "/q/spring",
                data={"phone": "not a number", "csrf_token": csrf_token(client, "/q/spring")},
            ),
            "a wrong log-in": log_in(client, password="wrong password 123"),
        }
        assert answers["landing without a token"].status_code == 400
        assert answers["log-in without a token"].status_code == 400
        assert answers["a refused number"].status_code == 400
        for what, response in answers.items():
            assert_hardened(what, response)

    def test_no_hsts_on_plain_http(self, settings: Any) -> None:
        application = create_app(replace(settings, public_base_url="http://127.0.0.1:5000"))
        try:
            import_campaigns_text(application, SPRING_CAMPAIGNS)
            client = application.test_client()
            for path in ("/", "/q/spring", "/admin/login", "/no-such-page", "/robots.txt"):
                response = client.get(path)
                assert "Strict-Transport-Security" not in response.headers
                assert_hardened(path, response, https=False)
        finally:
            application.extensions["selfserve"].close()

    def test_hsts_on_https(self, client: Any) -> None:
        response = client.get("/q/spring")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        max_age = int(re.search(r"max-age=(\d+)", response.headers["Strict-Transport-Security"])[1])
        assert max_age >= 180 * 24 * 3600


class TestCookies:
    def test_the_console_session_cookie(self, offer_app: Flask) -> None:
        response = log_in(offer_app.test_client())
        [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
        assert "HttpOnly" in cookie
        assert "Secure" in cookie
        assert "SameSite=Lax" in cookie

    def test_remember_me_cookies_would_be_as_strict(self, offer_app: Flask) -> None:
        # Flask-Login's remember-me cookie (no form asks for it today) gets the same flags.
        config = offer_app.config
        assert config["REMEMBER_COOKIE_HTTPONLY"] is True
        assert config["REMEMBER_COOKIE_SECURE"] is True
        assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


class TestRobotsTxt:
    def test_landing_pages_may_be_crawled_and_nothing_private(self, client: Any) -> None:
        response = client.get("/robots.txt")
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        robots = RobotFileParser()
        robots.parse(response.get_data(as_text=True).splitlines())
        for path in ("/q/spring", "/q/spring?src=front-door", "/"):
            assert robots.can_fetch("*", path), path
        for path in ("/admin", "/admin/", "/admin/login", "/dev/phone", "/c/abc123"):
            assert not robots.can_fetch("*", path), path
        for line in ("Disallow: /admin", "Disallow: /dev", "Disallow: /c/"):
            assert line in response.get_data(as_text=True).splitlines()


def meta(page: str, attribute: str, name: str) -> str | None:
    """The content of `<meta {attribute}="{name}" content=…>`, HTML-unescaped."""
    import html

    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


class TestLandingPageMetadata:
    def test_description_and_open_graph_name_the_campaign_and_offer(self, offer_app: Flask) -> None:
        page = offer_app.test_client().get("/q/spring?src=front-door").get_data(as_text=True)
        offer = "20% off everything in store until the end of spring."
        description = meta(page, "name", "description")
        assert description == f"Spring 20% off: {offer}"
        assert meta(page, "property", "og:title") == "Spring 20% off"
        assert meta(page, "property", "og:description") == offer
        assert meta(page, "property", "og:type") == "website"
        assert meta(page, "property", "og:url") == "https://sms.acme.example/q/spring"
        assert '<link rel="canonical" href="https://sms.acme.example/q/spring">' in page
        assert meta(page, "name", "robots") == "index, follow"

    def test_a_campaign_without_an_offer_still_has_a_description(self, client: Any) -> None:
        page = client.get("/q/points").get_data(as_text=True)
        assert meta(page, "name", "description") == (
            "Acme Rewards: see your points balance with your mobile number."
        )

    def test_one_visitors_pages_are_not_indexed(self, offer_app: Flask) -> None:
        client = offer_app.test_client()
        for path in ("/q/spring/number", "/q/spring/verify", "/q/no-such-offer"):
            page = client.get(path).get_data(as_text=True)
            assert meta(page, "name", "robots") == "noindex", path

    def test_a_foreign_logo_is_the_only_other_site_the_page_may_load_from(
        self, offer_app: Flask
    ) -> None:
        import_campaigns_text(
            offer_app,
            OFFER_CAMPAIGN.replace(
                'offer = "20%', 'logo_url = "https://cdn.shop.example/logo.png"\noffer = "20%'
            ),
        )
        response = offer_app.test_client().get("/q/spring")
        rules = directives(response.headers["Content-Security-Policy"])
        assert rules["img-src"].split() == ["'self'", "data:", "https://cdn.shop.example"]
        assert rules["default-src"] == "'none'"
        assert meta(response.get_data(as_text=True), "property", "og:image") == (
            "https://cdn.shop.example/logo.png"
        )
        plain = offer_app.test_client().get("/q/points")
        assert directives(plain.headers["Content-Security-Policy"])["img-src"] == "'self' data:"


class TestStablePages:
    def test_a_form_page_is_the_same_from_one_second_to_the_next(self, offer_app: Flask) -> None:
        # Flask-WTF alone signs its token with the current second: every form page changed
        # each second, and an active scanner read the clock's changes as injections.
        client = offer_app.test_client()
        assert log_in(client).status_code == 302
        first = csrf_token(client, "/admin/campaigns/spring")
        time.sleep(1.1)
        assert csrf_token(client, "/admin/campaigns/spring") == first
        assert csrf_token(client, "/dev/phone") == first
        answer = client.post("/admin/campaigns/spring/pause", data={"csrf_token": first})
        assert answer.status_code == 302  # and it is accepted

    def test_a_new_session_gets_a_new_token(self, offer_app: Flask) -> None:
        client = offer_app.test_client()
        before = csrf_token(client, "/admin/login")
        assert log_in(client).status_code == 302  # log-in starts a fresh session
        after = csrf_token(client, "/admin/campaigns/spring")
        assert after != before
        other = offer_app.test_client()
        assert csrf_token(other, "/admin/login") not in (before, after)
