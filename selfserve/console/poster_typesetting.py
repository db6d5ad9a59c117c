"""Setting a poster's texts: the largest size at which a text wraps into its allowed lines."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from selfserve.console.poster_payloads import PosterError

Measure = Callable[[str, float, bool], float]


@dataclass(frozen=True)
class Style:
    """How a text may be set: a range of sizes in points, a line limit, weight and colour."""

    largest: float
    smallest: float
    max_lines: int
    bold: bool
    colour: str
    shrink_before_wrapping: float = 1.0


@dataclass(frozen=True)
class Block:
    """Wrapped lines at one size, before they are placed on the page."""

    lines: tuple[str, ...]
    size: float
    bold: bool
    colour: str
    leading: float

    @property
    def height(self) -> float:
        """Height from the top of the first line to the bottom of the last, in points."""
        return self.size * self.leading * len(self.lines) if self.lines else 0.0


def fit(what: str, text: str, style: Style, measure: Measure, width: float) -> Block:
    """Wrap `text` at the largest size that fits within `max_lines` lines.

    With `style.shrink_before_wrapping` below 1, fewer lines are preferred while the size stays
    above that share of `largest`: a headline on one line reads better than two with an orphan.

    A newline starts a new line; no-break spaces (inside a phone number) never wrap.
    Raises PosterError naming `what` when even the smallest size needs more than `max_lines`.
    """
    largest, smallest, max_lines, bold = style.largest, style.smallest, style.max_lines, style.bold
    colour = style.colour
    leading = 1.12 if largest >= 30 else 1.3
    paragraphs = [_words(paragraph) for paragraph in text.splitlines()]
    paragraphs = [words for words in paragraphs if words]
    if not paragraphs:
        return Block((), largest, bold, colour, leading)
    preferred_smallest = max(smallest, round(largest * style.shrink_before_wrapping))
    attempts = [(count, preferred_smallest) for count in range(1, max_lines)]
    for lines_allowed, floor in [*attempts, (max_lines, smallest)]:
        size = float(largest)
        while size >= floor:
            lines = _wrap_paragraphs(paragraphs, measure, size, bold, width)
            if lines is not None and len(lines) <= lines_allowed:
                return Block(tuple(lines), size, bold, colour, leading)
            size -= 1.0
    raise PosterError(f"the {what} is too long for the poster ({len(text)} characters); shorten it")


def _words(paragraph: str) -> list[str]:
    # Split on any whitespace except the no-break space.
    return [word for word in re.split(r"[^\S\u00a0]+", paragraph) if word]


def _wrap_paragraphs(
    paragraphs: list[list[str]], measure: Measure, size: float, bold: bool, width: float
) -> list[str] | None:
    """Wrap each paragraph with even line lengths; None when a word is wider than `width`."""
    lines: list[str] = []
    for words in paragraphs:
        wrapped = _wrap(words, lambda line: measure(line, size, bold), width)
        if wrapped is None:
            return None
        lines += _balance(words, wrapped, measure, size, bold, width)
    return lines


def _balance(
    words: list[str], lines: list[str], measure: Measure, size: float, bold: bool, width: float
) -> list[str]:
    """Narrow the wrapping width as far as the line count allows, so lines come out even."""
    narrowest, widest = 0.0, width
    best = lines
    for _ in range(16):
        middle = (narrowest + widest) / 2
        trial = _wrap(words, lambda line: measure(line, size, bold), middle)
        if trial is not None and len(trial) <= len(lines):
            best, widest = trial, middle
        else:
            narrowest = middle
    return best


def _wrap(words: list[str], width_of: Callable[[str], float], width: float) -> list[str] | None:
    """Greedy word wrap; None when a single word is wider than `width`."""
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if width_of(candidate) <= width:
            line = candidate
            continue
        if not line or width_of(word) > width:
            return None
        lines.append(line)
        line = word
    lines.append(line)
    return lines
