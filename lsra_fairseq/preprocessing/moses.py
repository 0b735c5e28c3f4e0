"""Moses normalisation, tokenization and lowercasing (sacremoses), as the paper's recipes ran them.

Every recipe escapes XML characters (tokenizer.perl's default, e.g. ``&apos;``); the WMT recipes
normalise punctuation and drop non-printing characters first; IWSLT lowercases after tokenizing,
Multi30k before (its official ``task1-tokenize.sh`` order).
"""
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from sacremoses import MosesPunctNormalizer, MosesTokenizer


@dataclass(frozen=True)
class MosesSettings:
    normalize_punctuation: bool = False  # normalize-punctuation.perl + remove-non-printing-char.perl
    aggressive_dash: bool = False  # tokenizer.perl -a: "x-y" -> "x @-@ y"
    lowercase: Optional[str] = None  # None, "before" or "after" tokenization


@lru_cache(maxsize=None)
def tokenizer(lang: str) -> MosesTokenizer:
    """One cached tokenizer per language (shared by the recipes and CNN-DailyMail)."""
    return MosesTokenizer(lang=lang)


@lru_cache(maxsize=None)
def _normalizer(lang: str) -> MosesPunctNormalizer:
    return MosesPunctNormalizer(lang=lang, perl_parity=True, post_remove_control_chars=True)


# A sentence starts the line or follows . ! ? or : (closing quotes/brackets between), after any
# opening quotes or brackets.
SENTENCE_START = re.compile(r"""(^|[.!?:]["')\]]*\s+)(["'(\[]*)(\w)""")


def sentence_case(line: str) -> str:
    """Capitalises the first word of each sentence in a line without capitals.

    tokenizer.perl keeps a word-final period attached when the next word starts in lowercase
    ("etc. and") or when the word is a known abbreviation, a list that is case-sensitive ("Dr.").
    On text lowercased before it reached us it would therefore keep sentence periods attached that
    it splits on the cased original ("viel. man" vs "viel . Man"), and split abbreviations that
    begin a sentence ("dr . seuss" vs "Dr. Seuss"). Restoring sentence-initial capitals first gives
    the cased tokenization; lowercasing afterwards makes the output independent of the guess.
    Cased input is returned unchanged.
    """
    if line != line.lower():
        return line
    return SENTENCE_START.sub(lambda m: m.group(1) + m.group(2) + m.group(3).upper(), line)


def tokenize(line: str, lang: str, settings: MosesSettings) -> str:
    """One line of raw text -> Moses tokens joined by spaces."""
    if settings.lowercase == "before":
        line = line.lower()
    if settings.normalize_punctuation:
        line = _normalizer(lang).normalize(line)
    if settings.lowercase == "after":
        line = sentence_case(line)
    tokens = tokenizer(lang).tokenize(line, aggressive_dash_splits=settings.aggressive_dash,
                                       return_str=True, escape=True)
    return tokens.lower() if settings.lowercase == "after" else tokens
