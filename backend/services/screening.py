"""The one screen for forbidden categories of personal data (``assets/point-rules/forbidden.json``: the PIPL's
sensitive categories, the Zhejiang/Shanghai/Suzhou exclusions and political opinion, each with its source).

Since issue 19 it is the *second* line: no free text enters the ledger (provider events, withdrawals and
imports carry codes, numbers, dates and registered identifiers; strict schemas refuse anything else), and the
only prose is the catalogue, approved by two operators. The screen runs on that catalogue text (labels, codes,
reference formats, the point-rule files) so a forbidden category cannot become a rule, a category, a provider's
name or a reason people read. It normalises first, so disguises do not help:

* NFKC (full-width ``ＤＮＡ`` -> ``DNA``, ligatures, compatibility forms), then format characters removed
  (zero-width space/joiner, soft hyphen, bidi controls: ``finger\u200bprint``);
* look-alike letters folded to the Latin letter they imitate (Unicode confusables: a Cyrillic ``е`` in
  ``Rеligion``, Greek ``Ο``), accents dropped;
* words split on anything that is not a letter or digit (``Blood.type``, ``blood_type``, ``Blood-Type``);
  runs of single letters joined (``D N A``, ``f.i.n.g.e.r``); adjacent words also tried joined
  (``finger print``).

* combining marks dropped (``re`` U+0301 ``ligion``, ``宗`` U+0301 ``教``);
* terms in other scripts (Chinese simplified and traditional, Japanese, Korean, Russian, Arabic, Uyghur,
  Tibetan) match anywhere in the text with spaces and punctuation removed (``宗 教``, ``р е л и г и я``);
* encodings decoded once and screened too: URL (``%E5%AE%97``), HTML entities, backslash-u escapes, base64 and hex
  runs.

A Latin term of ``forbidden.json`` matches the start of a word (``religi`` -> religion, religious, religiya), a
term of three letters or fewer or ending in ``$`` only a whole word (``dna``, ``rh``: not "rhythm"; ``gene$``:
not "general"), a term of several words consecutive words (or the words written together). ``patterns`` are
regular expressions on the folded text (blood-group notation such as ``AB+``, ICD-10 codes, card numbers).
"""
from __future__ import annotations

import base64
import binascii
import functools
import html
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")
# a letter beyond Latin (Greek, Cyrillic, Arabic, Tibetan, Hangul, kana, CJK, ...): such a term is matched as a
# string of its own script, not folded to Latin
_OTHER_SCRIPT = re.compile(r"[\u0370-\u1dff\u2e80-\ud7ff\uf900-\ufaff\ufb50-\ufdff\ufe70-\ufeff]")
_NOT_WORD = re.compile(r"[\W_]+")
_B64 = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){4,}")
_WORD = re.compile(r"[a-z0-9]+")
MAX_SPAN = 3  # adjacent words tried joined ("finger print", "blood group")


@dataclass(frozen=True)
class ForbiddenCategory:
    code: str
    label: dict
    terms: tuple[str, ...] = ()
    patterns: tuple[re.Pattern, ...] = field(default=(), compare=False)

    @functools.cached_property
    def latin(self) -> tuple[tuple[tuple[str, ...], bool], ...]:
        """Latin terms as (words folded like the text, whole last word only)."""
        out = []
        for t in self.terms:
            if not _OTHER_SCRIPT.search(t):
                words = tuple(_WORD.findall(fold(t.rstrip("$"))))
                if words:
                    out.append((words, t.endswith("$")))
        return tuple(out)

    @functools.cached_property
    def chinese(self) -> tuple[str, ...]:
        """Terms in scripts other than Latin, as :func:`squeezed` reads them (matched anywhere)."""
        return tuple(q for q in (squeezed(t) for t in self.terms if _OTHER_SCRIPT.search(t)) if q)


@functools.lru_cache(maxsize=1)
def _confusables() -> dict[int, str]:
    """Non-ASCII characters that look like an ASCII letter or digit -> that character (str.translate map).
    CJK characters are left alone (Chinese terms are matched as they are)."""
    from confusable_homoglyphs import utils
    table: dict[int, str] = {}
    for ch, alternatives in utils.load("confusables.json").items():
        if len(ch) != 1 or ch.isascii() or _CJK.match(ch):
            continue
        for alt in alternatives:
            c = alt.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[ord(ch)] = c
                break
    return table


def _visible(text: str) -> str:
    """NFKC without format characters (zero-width, soft hyphen, bidi controls)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def squeezed(text: str) -> str:
    """The text as the screen reads other scripts: NFKC, invisible characters and combining marks removed, case
    folded, everything that is not a letter or digit removed."""
    text = unicodedata.normalize("NFKD", _visible(text))
    text = unicodedata.normalize("NFKC", "".join(ch for ch in text if not unicodedata.combining(ch)))
    return _NOT_WORD.sub("", text.casefold())


def _printable(raw: bytes) -> str | None:
    try:
        out = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return out if out and all(ch.isprintable() or ch.isspace() for ch in out) else None


def decoded(text: str) -> list[str]:
    """What ``text`` says once URL, HTML, ``\\u`` escapes, base64 or hex are decoded (those that change it)."""
    out = []
    if "%" in text:
        out.append(urllib.parse.unquote(text))
    if "&" in text:
        out.append(html.unescape(text))
    if "\\u" in text or "\\x" in text:
        try:
            out.append(text.encode("latin-1", "backslashreplace").decode("unicode_escape"))
        except (UnicodeDecodeError, UnicodeEncodeError):
            pass
    for run in _B64.findall(text):
        padded = run.replace("-", "+").replace("_", "/")
        padded += "=" * (-len(padded) % 4)
        try:
            got = _printable(base64.b64decode(padded, validate=True))
        except (binascii.Error, ValueError):
            got = None
        if got:
            out.append(got)
    for run in _HEX.findall(text):
        got = _printable(bytes.fromhex(run))
        if got:
            out.append(got)
    return [o for o in out if o and o != text]


def fold(text: str) -> str:
    """The text as the screen reads Latin script: NFKC, invisible characters removed, look-alikes folded,
    accents dropped, case folded."""
    text = _visible(text).translate(_confusables())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", text.translate(_confusables())).casefold()


def _words(folded: str) -> list[str]:
    words = _WORD.findall(folded)
    out: list[str] = []
    run: list[str] = []
    for w in words + [""]:  # a sentinel flushes the last run
        if len(w) == 1:
            run.append(w)
            continue
        if len(run) >= 3:  # "d n a", "f.i.n.g.e.r.p.r.i.n.t"
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if w:
            out.append(w)
    return out


def _word_ok(word: str, term_word: str, whole: bool) -> bool:
    return word == term_word if whole or len(term_word) <= 3 else word.startswith(term_word)


def _matches(words: list[str], term: tuple[str, ...], whole: bool) -> bool:
    n = len(term)
    for i in range(len(words) - n + 1):
        if all(_word_ok(words[i + k], term[k], whole and k == n - 1) for k in range(n)):
            return True
    joined = "".join(term)
    if whole or len(joined) < 6:
        return False
    # the words written together or apart: "fingerprint" / "finger print", "bloodtype" / "blood type"
    for i in range(len(words)):
        acc = ""
        for k in range(MAX_SPAN):
            if i + k >= len(words):
                break
            acc += words[i + k]
            if acc.startswith(joined) and len(joined) > len(acc) - len(words[i + k]):
                return True
    return False


def find_forbidden(value, categories: Iterable[ForbiddenCategory], *, _decode: bool = True) -> ForbiddenCategory | None:
    """The forbidden category that ``value`` (any text: a field name, a code, a label) names, if any, as written
    or once decoded (:func:`decoded`)."""
    if not isinstance(value, str) or not value:
        return None
    categories = tuple(categories)
    squeezed_text = squeezed(value)
    folded = fold(value)
    words = _words(folded)
    for cat in categories:
        if any(t in squeezed_text for t in cat.chinese):
            return cat
        if any(_matches(words, term, whole) for term, whole in cat.latin):
            return cat
        if any(p.search(folded) for p in cat.patterns):
            return cat
    if _decode:
        for text in decoded(value):
            hit = find_forbidden(text, categories, _decode=False)
            if hit is not None:
                return hit
    return None


def screen_record(record: Mapping, categories: Iterable[ForbiddenCategory], where: str = "") -> dict[str, list[str]]:
    """Every field of a record whose *name* or text value names forbidden data: {field path: [message]}."""
    categories = tuple(categories)
    hits: dict[str, list[str]] = {}
    for key, value in record.items():
        path = f"{where}{key}"
        cat = find_forbidden(str(key), categories)
        if cat is not None:
            hits.setdefault(path, []).append(f"Field names forbidden data ({cat.code}).")
            continue
        if isinstance(value, str):
            cat = find_forbidden(value, categories)
            if cat is not None:
                hits.setdefault(path, []).append(f"Names forbidden data ({cat.code}).")
    return hits


def categories_in(hits: Mapping[str, list[str]]) -> list[str]:
    """The category codes named in :func:`screen_record` messages (for errors and the audit log)."""
    return sorted({m.rsplit("(", 1)[1].rstrip(").") for msgs in hits.values() for m in msgs if "(" in m})


def load_categories(raw: dict) -> list[ForbiddenCategory]:
    """``forbidden.json``'s categories: code, label, terms (stems, phrases, Chinese), patterns (regexes)."""
    out = []
    for i, c in enumerate(raw.get("categories") or []):
        where = f"forbidden.json categories[{i}]"
        if not (isinstance(c, dict) and isinstance(c.get("code"), str) and c["code"]):
            raise ValueError(f"{where}: needs a code")
        terms = c.get("terms") or []
        patterns = c.get("patterns") or []
        if not (isinstance(terms, list) and all(isinstance(t, str) and t.strip() for t in terms)):
            raise ValueError(f"{where}: terms must be strings")
        if not (isinstance(patterns, list) and all(isinstance(p, str) and p for p in patterns)):
            raise ValueError(f"{where}: patterns must be strings")
        try:
            compiled = tuple(re.compile(p) for p in patterns)
        except re.error as exc:
            raise ValueError(f"{where}: bad pattern: {exc}") from exc
        code = re.sub(r"[\s_]+", "-", c["code"].strip().lower())
        out.append(ForbiddenCategory(code, c.get("label") or {}, tuple([code] + [t.strip() for t in terms]), compiled))
    return out
