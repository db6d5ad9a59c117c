"""Code pages: the short, unguessable, stable link to one customer's code (`/c/<token>`).

The token is HMAC-SHA256 of (campaign slug, identifier) under a key derived from SECRET_KEY,
its first 12 bytes in base64url: 16 characters, 96 bits nobody can guess. It is made over the
claim (person + campaign), not over a row id, because the link exists before the code does:
an owed code's "we'll text your code" reply can carry it, the page says "on its way" until
the worker has the code, and the very same link then shows it. Texting again gives the same
link. Both rows (issued_coupons, deferred_codes) store it (UNIQUE) so a page finds its row
with one indexed read; a row stored before the column existed gets it from
`fill_missing_tokens` (run by `flask --app app db upgrade`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selfserve.campaigns import CampaignSpec
from selfserve.coupons.redeemed import redeemed_on
from selfserve.coupons.replies import code_reply
from selfserve.models import DeferredCode, IssuedCoupon

TOKEN_LENGTH = 16
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16}$")
_OWED_STATES = ("pending", "sms_queued")


@dataclass(frozen=True)
class CodePage:
    """What one code page shows: the code (None while it is still owed) and its dates."""

    token: str
    campaign_slug: str
    identifier: str
    code: str | None
    expires_at: datetime | None
    starts_at: datetime | None
    used_on: datetime | None = None  # redeemed at a till (the redemption sync saw it)

    @property
    def owed(self) -> bool:
        """True while Talon.One's code is still on its way (the page refreshes itself)."""
        return self.code is None


class CodePages:
    """Tokens and absolute links of code pages, and finding a page's code by its token."""

    def __init__(self, secret_key: str, public_base_url: str) -> None:
        # A key of its own, so a code-page token never doubles as a session or CSRF secret.
        self._key = hmac.new(
            secret_key.encode(), b"selfserve code pages v1", hashlib.sha256
        ).digest()
        self._base_url = public_base_url.rstrip("/")
        self.token_for = lru_cache(maxsize=65536)(self._token)

    def _token(self, campaign_slug: str, identifier: str) -> str:
        message = campaign_slug.encode() + b"\x00" + identifier.encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()

    def url_for(self, campaign_slug: str, identifier: str) -> str:
        """The absolute code-page URL of this claim (`PUBLIC_BASE_URL/c/<token>`)."""
        return f"{self._base_url}/c/{self.token_for(campaign_slug, identifier)}"

    def barcode_url(self, campaign_slug: str, identifier: str) -> str:
        """The absolute URL of the claim's barcode PNG (MMS pictures)."""
        return self.url_for(campaign_slug, identifier) + "/barcode.png"

    def media_url(self, campaign: CampaignSpec, identifier: str) -> str | None:
        """The picture an MMS of this claim's code carries: its barcode PNG (campaign `mms`)."""
        return self.barcode_url(campaign.slug, identifier) if campaign.mms else None

    def reply(
        self,
        campaign: CampaignSpec,
        identifier: str,
        code: str,
        expires_at: datetime | None,
        starts_at: datetime | None,
        *,
        first_name: str = "",
        keyword: str = "",
    ) -> str:
        """The campaign's reply around a code, `{code_url}` included: every code reply's one way."""
        code_url = self.url_for(campaign.slug, identifier) if "{code_url" in campaign.reply else ""
        return code_reply(
            campaign,
            code,
            expires_at,
            starts_at,
            first_name=first_name,
            keyword=keyword,
            code_url=code_url,
        )

    def find(self, db: Session, token: str) -> CodePage | None:
        """The page of this token: its code, or owed; None for anything else (no hints)."""
        if not _TOKEN_SHAPE.match(token):
            return None
        issued = db.execute(
            select(
                IssuedCoupon.campaign_slug,
                IssuedCoupon.identifier,
                IssuedCoupon.code,
                IssuedCoupon.expires_at,
                IssuedCoupon.starts_at,
                IssuedCoupon.id,
            ).where(IssuedCoupon.code_token == token)
        ).first()
        if issued is not None:
            used_on = redeemed_on(db, [issued.id]).get(issued.id)
            page: CodePage | None = CodePage(token, *issued[:5], used_on=used_on)
        else:
            page = self._owed(db, token)
        if page is None or not self._is_token_of(page):
            return None
        return page

    def _owed(self, db: Session, token: str) -> CodePage | None:
        owed = db.execute(
            select(DeferredCode.campaign_slug, DeferredCode.identifier).where(
                DeferredCode.code_token == token, DeferredCode.state.in_(_OWED_STATES)
            )
        ).first()
        if owed is None:
            return None
        return CodePage(token, owed.campaign_slug, owed.identifier, None, None, None)

    def _is_token_of(self, page: CodePage) -> bool:
        # A stored token made under another SECRET_KEY no longer opens its page.
        expected = self.token_for(page.campaign_slug, page.identifier)
        return hmac.compare_digest(expected, page.token)

    def fill_missing_tokens(self, db: Session) -> int:
        """Give rows stored before code pages existed their token; returns how many."""
        filled = 0
        for table in (IssuedCoupon, DeferredCode):
            rows = db.execute(
                select(table.id, table.campaign_slug, table.identifier).where(
                    table.code_token.is_(None)
                )
            ).all()
            for row in rows:
                db.execute(
                    update(table)
                    .where(table.id == row.id)
                    .values(code_token=self.token_for(row.campaign_slug, row.identifier))
                )
            filled += len(rows)
        return filled


@dataclass(frozen=True)
class TextPiece:
    """A stretch of a text message: plain words, or a code-page link (`url` set)."""

    text: str
    url: str = ""


def code_page_links(text: str, public_base_url: str) -> list[TextPiece]:
    """`text` cut into plain pieces and its `{code_url}` links (`PUBLIC_BASE_URL/c/<token>`).

    For screens that show a text (the phone simulator, the console) and make its code-page
    link clickable while escaping everything else. Only links to this app's code pages count.
    """
    shape = re.compile(re.escape(public_base_url.rstrip("/")) + r"/c/[A-Za-z0-9_-]{16}(?![\w-])")
    pieces: list[TextPiece] = []
    start = 0
    for found in shape.finditer(text):
        if found.start() > start:
            pieces.append(TextPiece(text[start : found.start()]))
        pieces.append(TextPiece(found.group(0), url=found.group(0)))
        start = found.end()
    if start < len(text):
        pieces.append(TextPiece(text[start:]))
    return pieces
