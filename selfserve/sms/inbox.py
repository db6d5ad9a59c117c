"""Twilio's own record of the texts sent to our numbers: the Messages list resource.

Twilio keeps every inbound message, so a text whose webhook never reached us (DNS, TLS, a
deploy, a whole host down) can still be found and answered (texts/reconcile.py). The
contract: `GET /2010-04-01/Accounts/{AccountSid}/Messages.json?To=<number>&DateSent>=
YYYY-MM-DD&PageSize=…` (the parameter's name is `DateSent>`) with Basic auth, newest first,
a page at a time; each page names the next in `next_page_uri` (null on the last).
`DateSent>=` has day granularity, so messages are filtered here by their own time
(`date_sent`, else `date_created`, RFC 2822), and only `direction` = `inbound` ones are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from selfserve.errors import SmsError

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 1000  # 100,000 texts in one run; a guard against a server that loops


@dataclass(frozen=True)
class InboundRecord:
    """One inbound message as Twilio recorded it."""

    message_sid: str
    sender: str
    to: str
    body: str
    sent_at: datetime  # UTC


class TwilioInbox:
    """Lists the inbound messages to one of our numbers since a moment."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        http: httpx.Client | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._page_size = page_size
        self._account = account_sid
        self._auth = (account_sid, auth_token)
        self._base = api_base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))

    def inbound_since(self, to_number: str, since: datetime) -> Iterator[InboundRecord]:
        """Every inbound message to `to_number` sent at or after `since` (UTC), newest first.

        Raises SmsError when Twilio cannot be read (the caller tries again next time)."""
        since = since.astimezone(UTC)
        url: str | None = f"{self._base}/2010-04-01/Accounts/{self._account}/Messages.json"
        params: dict[str, Any] | None = {
            **({"To": to_number} if to_number else {}),  # "": every number of the account
            # `DateSent>=YYYY-MM-DD` in Twilio's docs: the name is `DateSent>`, then `=`.
            "DateSent>": since.strftime("%Y-%m-%d"),
            "PageSize": self._page_size,
        }
        for _ in range(MAX_PAGES):
            if url is None:
                return
            page = self._page(url, params)
            params = None  # next_page_uri carries every parameter
            for message in page.get("messages") or []:
                record = _inbound(message)
                if record is not None and record.sent_at >= since:
                    yield record
            next_uri = page.get("next_page_uri")
            url = next_uri if not next_uri or "://" in next_uri else f"{self._base}{next_uri}"

    def _page(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        try:
            answer = self._http.get(url, params=params, auth=self._auth)
        except httpx.HTTPError as error:
            raise SmsError(
                f"Twilio unreachable ({type(error).__name__})", permanent=False
            ) from None
        if answer.status_code != 200:
            raise SmsError(
                f"Twilio answered {answer.status_code} listing messages", permanent=False
            )
        try:
            return dict(answer.json())
        except ValueError:
            raise SmsError("Twilio's message list was not JSON", permanent=False) from None

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()


def _moment(stamp: object) -> datetime | None:
    """Twilio's RFC 2822 time (`Mon, 07 Dec 2026 23:00:00 +0000`); ISO 8601 read too."""
    text = str(stamp or "")
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            moment = parse(text.replace("Z", "+00:00") if parse is datetime.fromisoformat else text)
        except (TypeError, ValueError):
            continue
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def _inbound(message: dict[str, Any]) -> InboundRecord | None:
    """The record of an inbound message; None for outbound ones or unreadable entries."""
    if message.get("direction") != "inbound" or not message.get("sid"):
        return None
    sent_at = _moment(message.get("date_sent") or message.get("date_created"))
    if sent_at is None:
        log.warning("twilio_message_undated", extra={"message_sid": message.get("sid")})
        return None
    return InboundRecord(
        message_sid=str(message["sid"]),
        sender=str(message.get("from") or ""),
        to=str(message.get("to") or ""),
        body=str(message.get("body") or ""),
        sent_at=sent_at,
    )
