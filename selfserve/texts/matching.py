"""Which campaign a text means: forgiving of typos, look-alikes and whole sentences.

Steps, first hit wins; each is recorded in the message log as `matched_by`:

- exact: the first word, case, punctuation and emoji folded (the fast path's own rule, so a
  returning customer's one-read answer and this matcher always agree),
- lookalike: accents and other scripts transliterated (unidecode), digit look-alikes
  (0→O, 1→I or L, 3→E, 5→S, 8→B): "5PRING", "SPRÏNG" → SPRING,
- word: a text of at most 8 words holding exactly one campaign's keyword as a whole word,
- typo: one edit (Damerau-Levenshtein, rapidfuzz) for keywords of 4-7 letters, two for 8 or
  more, none under 4; only when one campaign is closest.

Equally close keywords of two campaigns are `ambiguous`: no coupon, a did-you-mean reply.
Campaigns with `fuzzy = false` match exactly only, but still count as neighbours, so a near
miss between them and a fuzzy keyword is asked about rather than guessed. The cost is
bounded: the text is cut to MAX_FOLDED_CHARACTERS before folding, sentences of more than
MAX_WORDS words are not searched, and words longer than any keyword are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rapidfuzz.distance import DamerauLevenshtein

from selfserve.campaigns import CampaignBook, CampaignSpec
from selfserve.sms import first_word, fold

MAX_WORDS = 8
MAX_KEYWORD_LENGTH = 32  # campaigns' KEYWORD rule
EXACT, LOOKALIKE, WORD, TYPO, AMBIGUOUS = "exact", "lookalike", "word", "typo", "ambiguous"
_DIGITS = {"0": "O", "3": "E", "5": "S", "8": "B"}


@dataclass(frozen=True)
class Match:
    """What a text matched: a campaign and the keyword it was taken for, or neighbours to ask
    about (ambiguous), or nothing (`keyword` is then the text's first word, for the log)."""

    keyword: str
    campaign: CampaignSpec | None = None
    matched_by: str | None = None
    candidates: tuple[str, ...] = ()
    texted: str | None = None  # the folded text, when it was not the keyword exactly


def lookalikes(word: str) -> set[str]:
    """A folded word with its digit look-alikes read as letters (1 as I, and as L)."""
    if not any(character.isalpha() for character in word):
        return {word}
    plain = "".join(_DIGITS.get(character, character) for character in word)
    return {plain.replace("1", "I"), plain.replace("1", "L")}


def allowed_edits(keyword: str) -> int:
    """How many edits a typo of this keyword may have."""
    if len(keyword) < 4:
        return 0
    return 1 if len(keyword) <= 7 else 2


class _Index:
    """The book's keywords, arranged for each step; rebuilt when the book reloads."""

    def __init__(self, by_keyword: dict[str, CampaignSpec]) -> None:
        self.source = by_keyword
        self.exact = by_keyword
        self.lookalike: dict[str, list[tuple[str, CampaignSpec]]] = {}
        for keyword, campaign in by_keyword.items():
            for form in lookalikes(fold(keyword)):
                self.lookalike.setdefault(form, []).append((keyword, campaign))
        self.typo = [
            (keyword, campaign, allowed_edits(keyword)) for keyword, campaign in by_keyword.items()
        ]


class KeywordMatcher:
    """Finds the campaign a text means (see the module's steps)."""

    def __init__(self, campaigns: CampaignBook) -> None:
        self._campaigns = campaigns
        self._index: _Index | None = None

    def match(self, body: str) -> Match:
        """The match for a text's body."""
        keyword = first_word(body)
        index = self._current_index()
        campaign = index.exact.get(keyword) if keyword else None
        if campaign is not None:
            return Match(keyword, campaign, EXACT)
        words = fold(body).split()
        if not words:
            return Match(keyword[:64])
        found = (
            self._lookalike(index, words[0])
            or self._whole_word(index, words)
            or self._typo(index, words[0])
        )
        if found is None:
            return Match(keyword[:64])
        return replace(found, texted=" ".join(words)[:64])

    def _current_index(self) -> _Index:
        by_keyword = self._campaigns.keyword_map()
        index = self._index
        if index is None or index.source is not by_keyword:
            index = self._index = _Index(by_keyword)
        return index

    @staticmethod
    def _lookalike(index: _Index, word: str) -> Match | None:
        if len(word) > MAX_KEYWORD_LENGTH:
            return None
        for form in lookalikes(word):
            for keyword, campaign in index.lookalike.get(form, ()):
                if campaign.fuzzy:
                    return Match(keyword, campaign, LOOKALIKE)
        return None

    @staticmethod
    def _whole_word(index: _Index, words: list[str]) -> Match | None:
        if len(words) > MAX_WORDS:
            return None
        found: dict[str, tuple[str, CampaignSpec]] = {}
        for word in words:
            if len(word) > MAX_KEYWORD_LENGTH:
                continue
            for form in lookalikes(word):
                for keyword, campaign in index.lookalike.get(form, ()):
                    found.setdefault(campaign.slug, (keyword, campaign))
        return _one_of(list(found.values()), WORD)

    @staticmethod
    def _typo(index: _Index, word: str) -> Match | None:
        if len(word) > MAX_KEYWORD_LENGTH + 2:
            return None
        best = 3
        closest: dict[str, tuple[str, CampaignSpec]] = {}
        for form in lookalikes(word):
            for keyword, campaign, edits in index.typo:
                if edits == 0 or abs(len(keyword) - len(form)) > edits:
                    continue
                distance = DamerauLevenshtein.distance(form, keyword, score_cutoff=edits)
                if distance > edits or distance > best:
                    continue
                if distance < best:
                    best, closest = distance, {}
                closest.setdefault(campaign.slug, (keyword, campaign))
        return _one_of(list(closest.values()), TYPO)


def _one_of(found: list[tuple[str, CampaignSpec]], step: str) -> Match | None:
    """One campaign found: its match (when it is fuzzy); several: ambiguous; none: None."""
    if not found:
        return None
    if len(found) > 1:
        names = tuple(sorted(keyword for keyword, _ in found))
        return Match(names[0], None, AMBIGUOUS, names)
    keyword, campaign = found[0]
    return Match(keyword, campaign, step) if campaign.fuzzy else None
