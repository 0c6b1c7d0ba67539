"""Text helpers for Ukrainian and Russian names: case-folding and transliteration."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case-insensitive form: NFKC, casefold, ё→е, apostrophes dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    folded = folded.replace("'", "").replace("’", "").replace("ʼ", "")
    return _SPACES.sub(" ", folded).strip()


def latin(text: str) -> str:
    """Latin spelling for matching Cyrillic against Latin: 'Ромашка' → 'romashka'."""
    return _SPACES.sub(" ", anyascii(fold(text)).lower()).strip()
