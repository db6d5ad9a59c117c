"""Every error answer comes from here: one table from domain error to status and message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from selfserve.errors import (
    CampaignClosed,
    ChallengeFailed,
    InvalidPhoneNumber,
    NumberOptedOut,
    NumberRangeBlocked,
    RegionNotAllowed,
    ScreenScanNeeded,
    SelfserveError,
    SmsError,
    TooManyCodeRequests,
    UnknownCampaign,
    VerificationExpired,
    VerificationFailed,
    VerificationLocked,
    VerificationMissing,
)
from selfserve.ops import is_database_unavailable

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30  # a database restart or failover takes 20-60 s
PUBLIC_PAGES = ("/q/", "/r/", "/c/", "/screen/")  # visitors' pages: their own 503 page
# (slug or None, Retry-After seconds) -> the visitor's 503 page (handlers/landing/pages.py)
VisitorPage = Callable[[str | None, int], Any]

CUSTOMER_ANSWERS: dict[type[SelfserveError], tuple[HTTPStatus, str]] = {
    InvalidPhoneNumber: (HTTPStatus.BAD_REQUEST, "That doesn't look like a mobile number."),
    # The landing pages fill in {placeholders} from the campaign and the error.
    UnknownCampaign: (HTTPStatus.NOT_FOUND, "Sorry, we can't find that offer."),
    CampaignClosed: (HTTPStatus.NOT_FOUND, "Sorry, this offer has ended."),
    RegionNotAllowed: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "Sorry, we can only text mobile numbers from {regions}.",
    ),
    NumberOptedOut: (
        HTTPStatus.CONFLICT,
        "You've asked us not to text this number. To get texts from us again, "
        "text START to {sms_number}, then try again.",
    ),
    TooManyCodeRequests: (
        HTTPStatus.TOO_MANY_REQUESTS,
        "We've sent a lot of codes just now. Please wait {wait} and try again.",
    ),
    # Neutral on purpose: a pumping bot learns nothing about the limit it hit.
    NumberRangeBlocked: (
        HTTPStatus.FORBIDDEN,
        "Sorry, we can't send a code to this number right now. "
        "Text {keyword} to {sms_number} instead.",
    ),
    ChallengeFailed: (
        HTTPStatus.BAD_REQUEST,
        "We couldn't check that you're a person. Please wait for the check below to finish, "
        "then try again. Nothing was sent.",
    ),
    ScreenScanNeeded: (
        HTTPStatus.FORBIDDEN,
        "This offer is only for people who are here: scan the code on the screen again.",
    ),
    VerificationFailed: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "That code didn't match. You have {attempts_left} more {tries}.",
    ),
    VerificationExpired: (
        HTTPStatus.GONE,
        "That code has expired. Ask for a new code below.",
    ),
    VerificationLocked: (
        HTTPStatus.TOO_MANY_REQUESTS,
        "Too many wrong tries, so that code no longer works. Ask for a new code below.",
    ),
    VerificationMissing: (
        HTTPStatus.BAD_REQUEST,
        "We don't have a code waiting for you any more. Enter your number to get a new one.",
    ),
    SmsError: (
        HTTPStatus.SERVICE_UNAVAILABLE,
        "Sorry, we couldn't send the text just now. Please try again in a minute.",
    ),
}


def answer_for(error: SelfserveError) -> tuple[HTTPStatus, str]:
    """The status and customer message for a domain error (most specific class wins)."""
    for kind in type(error).__mro__:
        if kind in CUSTOMER_ANSWERS:
            return CUSTOMER_ANSWERS[kind]  # type: ignore[index]
    return HTTPStatus.BAD_REQUEST, "Sorry, we couldn't do that."


def register_error_handlers(app: Flask, visitor_page: VisitorPage | None = None) -> None:
    """Install the handlers: domain errors → 4xx, the database away → 503 (`visitor_page`
    renders it for visitors' pages), anything else unexpected → a logged 500."""

    @app.errorhandler(SelfserveError)
    def domain_error(error: SelfserveError) -> tuple[str, int]:
        status, message = answer_for(error)
        return message, int(status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error
        if is_database_unavailable(error):
            return database_unavailable(error, visitor_page)
        log.exception("unhandled_error", extra={"path": request.path})
        return "Something went wrong on our side. Please try again.", 500


def database_unavailable(error: BaseException, visitor_page: VisitorPage | None) -> Any:
    """503 with Retry-After while the database is away: never a 500 or a trace. Landing and
    code pages get their own page in the visitor's language; the console a short one."""
    log.warning(
        "database_unavailable_page", extra={"path": request.path, "error": type(error).__name__}
    )
    if visitor_page is not None and request.path.startswith(PUBLIC_PAGES):
        slug = (request.view_args or {}).get("slug")
        return visitor_page(slug if isinstance(slug, str) else None, RETRY_AFTER_SECONDS)
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Back in a moment</title>"
        "<h1>Back in a moment</h1><p>The database is not answering just now. "
        "Nothing was lost: please try again in a minute.</p>"
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    return Response(body, 503, headers, mimetype="text/html")
