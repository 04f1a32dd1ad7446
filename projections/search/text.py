"""How search reads text: the keys a record is found by and the grams that index them.

No I/O; the writer, the queries and the benchmark all go through these functions, so a
record is indexed exactly as a query looks for it.

* A **key** is a text folded for comparison: NFKC (full-width ``ＡＢＣ１`` → ``ABC1``),
  casefolded, and only its letters and digits kept (spaces, punctuation and symbols
  dropped), so ``AWB 999-5382 9639`` and ``awb99953829639`` are one key, and so are
  ``Li@Huaxin.cn`` and ``lihuaxincn``.
* A name in Chinese is also found by its pinyin, in full (``suzhouhuaxin…``) and by its
  initials (``szhx…``), each a key of its own.
* A phone number is found by its digits whatever the spacing, with or without the
  country code (+86 / 0086 for China).
* **Grams** index the keys (a GIN index over a ``text[]`` column): every trigram of a key,
  every bigram and single character that holds a Chinese character (a two-character
  Chinese query such as 华芯 is common and needs no third), and the key's first one and
  two characters marked with ``^`` (a short Latin query is found as a prefix). A query's
  grams are all among the grams of every key that contains it, so the index finds every
  candidate, and the candidates are then checked against the keys themselves.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence

from pypinyin import Style, lazy_pinyin

#: The longest query (characters, before folding).
MAX_QUERY_LENGTH = 100

#: Chinese characters: the CJK unified ideographs, their extensions and compatibility forms.
_HAN = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f]"
)
_HAN_RUN = re.compile(f"({_HAN.pattern}+)")
#: What a query that is a phone number may hold besides digits.
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]+$")


def fold(text: str) -> str:
    """NFKC, casefolded, letters and digits only."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def is_han(char: str) -> bool:
    return bool(_HAN.match(char))


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def pinyin_keys(text: str) -> list[str]:
    """A Chinese name's pinyin in full and its initials (nothing for a name without Chinese).

    Characters that are not Chinese stay as they are in both (``ABC物流`` → ``abcwuliu``,
    ``abcwl``). Each run of Chinese characters is read as a whole, so a character that is
    read two ways is read as in its words (``重庆`` → ``chongqing``)."""
    return list(_pinyin_keys(text))


@functools.lru_cache(maxsize=65536)
def _pinyin_keys(text: str) -> tuple[str, ...]:
    """``pinyin_keys``, remembered: names repeat (people's most of all)."""
    normal = unicodedata.normalize("NFKC", text)
    if not has_han(normal):
        return ()
    full: list[str] = []
    initials: list[str] = []
    for run in _HAN_RUN.split(normal):
        if not run:
            continue
        if has_han(run):
            for syllable in lazy_pinyin(run, style=Style.NORMAL, errors="default"):
                folded = fold(syllable)
                if folded:
                    full.append(folded)
                    initials.append(folded[0])
        else:
            folded = fold(run)
            full.append(folded)
            initials.append(folded)
    return tuple(_unique(("".join(full), "".join(initials))))


def phone_keys(phone: str) -> list[str]:
    """A phone number's digits, and without the country code when it carries China's."""
    digits = "".join(c for c in unicodedata.normalize("NFKC", phone) if c.isdigit())
    if not digits:
        return []
    keys = [digits]
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 7:
            keys.append(digits[len(prefix) :])
            break
    return keys


def name_keys(name: str) -> list[str]:
    """A name's keys: folded, and its pinyin in full and initials."""
    return _unique([fold(name), *pinyin_keys(name)])


def term_keys(kind: str, index: int, term: str | None) -> list[str]:
    """The keys of one term of an entry: a relationship's [name]; a contact's [name,
    phone, email]; a shipment's [reference, transport documents…]."""
    if not term:
        return []
    if kind == "shipment":
        return _unique([fold(term)])
    if index == 0:
        return name_keys(term)
    if kind == "contact" and index == 1:
        return phone_keys(term)
    return _unique([fold(term)])


def entry_keys(kind: str, terms: Sequence[str | None]) -> list[str]:
    """The keys an entry is found by: those of all its terms."""
    return _unique(k for i, t in enumerate(terms) for k in term_keys(kind, i, t))


def match_rank(candidate: str, key: str) -> int | None:
    """How a key matches a query's: 0 whole, 1 its start, 2 anywhere; None not at all."""
    if candidate == key:
        return 0
    if candidate.startswith(key):
        return 1
    if key in candidate:
        return 2
    return None


def grams(key: str) -> set[str]:
    """The grams that index one key."""
    found: set[str] = set()
    if not key:
        return found
    found.add("^" + key[:1])
    found.add("^" + key[:2])
    for i in range(len(key)):
        one, two, three = key[i], key[i : i + 2], key[i : i + 3]
        if is_han(one):
            found.add(one)
        if len(two) == 2 and has_han(two):
            found.add(two)
        if len(three) == 3:
            found.add(three)
    return found


def all_grams(keys: Iterable[str]) -> list[str]:
    found: set[str] = set()
    for key in keys:
        found |= grams(key)
    return sorted(found)


def query_key(query: str) -> str:
    """What a query looks for: its folded form; a phone number by its digits, without
    China's country code."""
    if _PHONE_QUERY.match(query) and sum(c.isdigit() for c in query) >= 5:
        keys = phone_keys(query)
        stripped = query.strip()
        if len(keys) > 1 and (stripped.startswith("+") or stripped.startswith("00")):
            return keys[1]
        return keys[0]
    return fold(query)


def query_grams(key: str) -> list[str]:
    """The grams every key containing ``key`` holds (for a short Latin query: every key
    starting with it)."""
    if len(key) >= 3:
        return sorted({key[i : i + 3] for i in range(len(key) - 2)})
    if has_han(key):
        return [key]
    return ["^" + key]


def _unique(keys: Iterable[str]) -> list[str]:
    return [k for k in dict.fromkeys(keys) if k]
