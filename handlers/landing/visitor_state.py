"""What the landing pages remember per campaign in the visitor's session: token, number, poster.

The session is server-signed; it holds a random verification token and the masked number,
never the number itself.
"""

from __future__ import annotations

from flask import session

from selfserve.console import PosterError, check_src

SESSION_KEY = "landing"


def state_of(slug: str) -> dict[str, str]:
    """What the session holds for the campaign `slug` (empty when nothing or garbage)."""
    states = session.get(SESSION_KEY)
    if not isinstance(states, dict):
        return {}
    state = states.get(slug)
    return state if isinstance(state, dict) else {}


def remember(slug: str, **values: str | None) -> None:
    """Add `values` (None ones skipped) to what the session holds for `slug`."""
    states = session.get(SESSION_KEY)
    states = dict(states) if isinstance(states, dict) else {}
    state = dict(state_of(slug))
    state.update({k: v for k, v in values.items() if v is not None})
    states[slug] = state
    session[SESSION_KEY] = states


def src_for(slug: str) -> str | None:
    """The poster location the latest scan of `slug` named, if still well-formed."""
    return valid_src(state_of(slug).get("src"))


def valid_src(src: str | None) -> str | None:
    """The poster location, when it is a well-formed token; anything else is ignored."""
    if not src:
        return None
    try:
        check_src(src)
    except PosterError:
        return None
    return src
