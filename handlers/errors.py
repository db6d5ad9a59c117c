"""Every error answer comes from here: one table from domain error to status and message."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from selfserve.errors import InvalidPhoneNumber, SelfserveError

log = logging.getLogger(__name__)

CUSTOMER_ANSWERS: dict[type[SelfserveError], tuple[HTTPStatus, str]] = {
    InvalidPhoneNumber: (HTTPStatus.BAD_REQUEST, "That doesn't look like a mobile number."),
}


def answer_for(error: SelfserveError) -> tuple[HTTPStatus, str]:
    """The status and customer message for a domain error (most specific class wins)."""
    for kind in type(error).__mro__:
        if kind in CUSTOMER_ANSWERS:
            return CUSTOMER_ANSWERS[kind]  # type: ignore[index]
    return HTTPStatus.BAD_REQUEST, "Sorry, we couldn't do that."


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: domain errors → 4xx, anything unexpected → a logged 500."""

    @app.errorhandler(SelfserveError)
    def domain_error(error: SelfserveError) -> tuple[str, int]:
        status, message = answer_for(error)
        return message, int(status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response | HTTPException | tuple[str, int]:
        if isinstance(error, HTTPException):
            return error
        log.exception("unhandled_error", extra={"path": request.path})
        return "Something went wrong on our side. Please try again.", 500
