"""The language a number last used: our own texts to it are worded in that language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selfserve.models import NumberLanguage
from selfserve.ops import insert_ignoring_duplicates


def language_of(db: Session, phone_e164: str) -> str | None:
    """The language this number last texted in, if we know it."""
    return db.scalar(select(NumberLanguage.language).where(NumberLanguage.phone_e164 == phone_e164))


def remember_language(db: Session, phone_e164: str, language: str, at: datetime) -> None:
    """Record the language a number just used (no write when it is the one we knew)."""
    known = language_of(db, phone_e164)
    if known == language:
        return
    row = {"phone_e164": phone_e164, "language": language, "changed_at": at}
    if known is None and insert_ignoring_duplicates(db, NumberLanguage.__table__, row):
        return
    db.execute(
        update(NumberLanguage)
        .where(NumberLanguage.phone_e164 == phone_e164)
        .values(language=language, changed_at=at)
    )
