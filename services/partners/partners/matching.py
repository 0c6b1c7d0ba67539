"""Duplicate control's rules: how names compare and how candidates score. Pure, no I/O.

Names are compared by a key: legal-form words (ТОВ, ООО, ФОП, LLC, ...) and quotes
dropped, transliterated to Latin, and common spelling variants squashed, so "ТОВ
«Зоря»", "ООО Заря" and "Zorya LLC" meet. rapidfuzz then scores the keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from crm_platform.text import latin

LEGAL_FORMS = frozenset(
    " ".join(
        (
            "тов товариство з обмеженою відповідальністю пп приватне підприємство фоп фізична особа підприємець",
            "ват пат прат ат акціонерне публічне кп комунальне дп державне",
            "ооо общество с ограниченной ответственностью ип индивидуальный предприниматель",
            "зао оао пао ао чп частное предприятие гуп муп спд",
            "llc ltd limited inc corp co gmbh plc llp sa ag company",
        )
    ).split()
)
# Latin spellings of the same sounds, most specific first.
_SQUASH = [
    ("shch", "sch"),
    ("kh", "h"),
    ("h", "g"),  # Ukrainian г is h, Russian г is g
    ("zh", "j"),
    ("ts", "c"),
    ("tz", "c"),
    ("ck", "k"),
    ("ph", "f"),
    ("w", "v"),
    ("x", "ks"),
    ("q", "k"),
    ("yi", "i"),
    ("iy", "i"),
    ("ii", "i"),
    ("y", "i"),
    ("j", "i"),
    ("ie", "e"),
]
_NOT_WORD = re.compile(r"[^\w]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DOUBLE = re.compile(r"(.)\1+")
_DIGITS = re.compile(r"\d+")

NAME_THRESHOLD = 0.86
CANDIDATE_SIMILARITY = 0.3  # trigram similarity that makes a stored name worth scoring


def name_key(name: str) -> str:
    """'ТОВ «Зоря-Агро»' → 'zoria agro'; the same key for 'Zorya Agro LLC' and 'ООО Заря Агро'."""
    words = latin_words(name)
    kept = [w for w in words if w not in _LATIN_LEGAL_FORMS] or words
    return " ".join(_squash(w) for w in kept)


def latin_words(name: str) -> list[str]:
    """Latin words of a name; apostrophes and soft signs vanish inside a word."""
    text = name.replace("’", "").replace("'", "").replace("ʼ", "")
    words = (_NOT_ALNUM.sub("", latin(w)) for w in _NOT_WORD.sub(" ", text).split())
    return [w for w in words if w]


def _squash(word: str) -> str:
    for source, target in _SQUASH:
        word = word.replace(source, target)
    return _DOUBLE.sub(r"\1", word)


_LATIN_LEGAL_FORMS = frozenset(w for form in LEGAL_FORMS for w in latin_words(form))


def name_score(a_key: str, b_key: str) -> float:
    """0..1 similarity of two name keys; names with different numbers never match."""
    if not a_key or not b_key:
        return 0.0
    if _DIGITS.findall(a_key) != _DIGITS.findall(b_key):
        return 0.0
    plain = fuzz.ratio(a_key, b_key)
    sorted_words = fuzz.token_sort_ratio(a_key, b_key)
    joined = fuzz.ratio(a_key.replace(" ", ""), b_key.replace(" ", ""))
    return max(plain, sorted_words, joined) / 100.0


class Reason:
    TAX_ID = "tax_id"
    PHONE = "phone"
    EMAIL = "email"
    NAME = "name"


REASON_SCORES = {Reason.TAX_ID: 1.0, Reason.PHONE: 0.9, Reason.EMAIL: 0.9}


@dataclass
class Candidate:
    partner_id: object
    name: str
    reasons: dict[str, float] = field(default_factory=dict)

    def add(self, reason: str, score: float) -> None:
        self.reasons[reason] = max(score, self.reasons.get(reason, 0.0))

    @property
    def score(self) -> float:
        """The strongest reason, raised a little by each further independent one."""
        ordered = sorted(self.reasons.values(), reverse=True)
        if not ordered:
            return 0.0
        best = ordered[0]
        for extra in ordered[1:]:
            best += (1.0 - best) * extra * 0.5
        return round(min(best, 1.0), 4)


def rank(candidates: list[Candidate], *, limit: int) -> list[Candidate]:
    kept = [c for c in candidates if c.reasons]
    return sorted(kept, key=lambda c: (-c.score, c.name))[:limit]
