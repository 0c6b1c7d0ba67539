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
            "ват пат прат ат акціонерне публічне кп комунальне дп державне тзов тдв фг фермерське господарство",
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
WORD_MATCH = 0.75  # two words are the same word written differently (one or two letters off)


def name_key(name: str) -> str:
    """'ТОВ «Зоря-Агро»' → 'zoria agro'; the same key for 'Zorya Agro LLC' and 'ООО Заря Агро'."""
    words = latin_words(name)
    kept = [w for w in words if w not in _LATIN_LEGAL_FORMS] or words[-1:]  # "ТОВ «ПАТ»" is "pat"
    return " ".join(_squash(w) for w in kept)


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def name_blocks(key: str) -> list[str]:
    """What candidate retrieval matches exactly (stored with each partner): every word of the
    key, and every form of it with one letter dropped, marked "~". A probe looks up a word's
    whole one-typo neighbourhood (probe_blocks), so a name with one typo in a word still
    shares a block with the right one: substitution and transposition meet on a "~" form,
    a letter missing in the probe on its word against the stored "~" form, a letter too
    many on one of its shortened forms against the stored word."""
    words = key.split()
    long_words = [w for w in words if len(w) >= 3] or words
    blocks: dict[str, None] = {}
    for word in long_words:
        blocks[word] = None
        if len(word) >= 4:
            for shorter in _deletions(word):
                blocks["~" + shorter] = None
    return list(blocks)


def _probe_word(word: str, *, alone: bool) -> list[str]:
    """The blocks a word of a probe is looked up by. For a one-word name (alone) only the
    typos that can still reach NAME_THRESHOLD are looked for: a word's ratio after one
    substitution is 1 - 1/n (at least 0.86 from 8 letters), after a deletion 2m/(2m+1)
    (from 4 letters of the shorter word); the other forms only widen the scan."""
    n = len(word)
    blocks: dict[str, None] = {word: None}
    if n >= 3 and (not alone or n >= 4):
        blocks["~" + word] = None  # the stored word has one letter more
    if n >= 4:
        for shorter in _deletions(word):
            if not alone or len(shorter) >= 4:
                blocks[shorter] = None  # the stored word has one letter less
            if not alone or n >= 8:
                blocks["~" + shorter] = None  # one letter differs, or two are swapped
    return list(blocks)


MAX_PROBE_WORDS = 5


def probe_blocks(key: str) -> list[list[str]]:
    """Blocks to look a key up by, grouped by word (the word itself first), the longest words
    first (at most MAX_PROBE_WORDS); see DuplicateRepository.by_name for how they are used."""
    words = key.split()
    long_words = [w for w in words if len(w) >= 3] or words
    distinct = list(dict.fromkeys(sorted(long_words, key=len, reverse=True)))[:MAX_PROBE_WORDS]
    alone = len(words) == 1
    return [_probe_word(w, alone=alone) if len(w) >= 3 else [w] for w in distinct]


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
    """0..1 similarity of two name keys, word by word in any order: each word counts by its
    length when it has a close twin on the other side (a typo or two), else not at all;
    words of one name and not the other count against. Different numbers never match."""
    if not a_key or not b_key:
        return 0.0
    if sorted(_DIGITS.findall(a_key)) != sorted(_DIGITS.findall(b_key)):
        return 0.0
    a_words, b_words = a_key.split(), b_key.split()
    if len(a_words) == 1 or len(b_words) == 1:
        # "Харківхімпром" against "Харків Хімпром": compare the names written together.
        joined = fuzz.ratio("".join(a_words), "".join(b_words)) / 100.0
        if joined >= WORD_MATCH:
            return joined
    matched = _matched_weight(a_words, b_words)
    return matched / max(sum(map(len, a_words)), sum(map(len, b_words)))


def _matched_weight(a_words: list[str], b_words: list[str]) -> float:
    free = list(b_words)
    total = 0.0
    for word in sorted(a_words, key=len, reverse=True):
        best, best_at = 0.0, -1
        for i, other in enumerate(free):
            score = fuzz.ratio(word, other) / 100.0
            if score > best:
                best, best_at = score, i
        if best >= WORD_MATCH:
            total += best * len(word)
            free.pop(best_at)
    return total


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
