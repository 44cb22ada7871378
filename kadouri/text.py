"""One rule for text that comes into Kadouri, whichever way it comes: the pages' forms, the JSON API, the Django
admin and QuickBooks (webhooks, catch-up, documents read back).

Refused everywhere: control characters (NUL, BEL, ESC, …), lone surrogates, and the invisible format
characters that make a text look like something else — bidirectional embeddings, overrides and isolates
("Trojan Source": U+202E turns "gnp.exe" around), zero-width spaces and word joiners (two names that look the
same but are not), the byte-order mark. Kept: the left-to-right / right-to-left / Arabic letter marks and the
zero-width (non-)joiner, which Hebrew, Arabic, Persian names and emoji sequences need.

Single-line text (names, codes, numbers, SKUs, address lines) never holds a line break or tab; multi-line text
(notes, descriptions) keeps newlines and tabs. Forms and the API *refuse* hidden characters (the person can fix
what they typed); values from QuickBooks are *cleaned* (nobody is there to ask, and the inbox must go on).
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

_WHITESPACE = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\r\n?")
# Format characters (category Cf) that belong in real names and emoji.
_LEGITIMATE_FORMAT = {"\u200c", "\u200d", "\u200e", "\u200f", "\u061c"}
_EMOJI_TAGS = ("\U000e0020", "\U000e007f")  # inside flag sequences such as England's
MULTI_LINE_KEEPS = "\t\n"


def is_hidden(ch: str) -> bool:
    """A character that is invisible, reorders the text around it, or controls a terminal."""
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):
        return True
    if category == "Cf":
        return ch not in _LEGITIMATE_FORMAT and not (_EMOJI_TAGS[0] <= ch <= _EMOJI_TAGS[1])
    return ch in "\u2028\u2029"  # line / paragraph separators: line breaks in disguise


def _codes(chars) -> str:
    return ", ".join(sorted({f"U+{ord(ch):04X}" for ch in chars}))


def _refuse(bad: list[str]) -> None:
    if bad:
        raise ValidationError(
            "Remove the invisible or control character(s) (%(codes)s): they hide or reorder what people see.",
            code="control_character",
            params={"codes": _codes(bad)},
        )


def validate_single_line(value: str) -> None:
    """Model validator for one-line text: no hidden characters, no line break or tab."""
    if value is None:
        return
    _refuse([ch for ch in value if is_hidden(ch) and ch not in "\r\n\t"])
    if any(ch in "\r\n\t" for ch in value):
        raise ValidationError("Keep this on one line: remove the line break or tab.", code="line_break")


def validate_multi_line(value: str) -> None:
    """Model validator for notes and descriptions: newlines and tabs are fine, hidden characters are not."""
    if value is None:
        return
    _refuse([ch for ch in value if is_hidden(ch) and ch not in MULTI_LINE_KEEPS + "\r"])


def single_line_name(value: str) -> str:
    """A typed name: tabs, newlines and runs of spaces become one space; hidden characters are refused."""
    value = _WHITESPACE.sub(" ", value or "").strip()
    validate_single_line(value)
    return value


def multi_line_text(value: str) -> str:
    """Typed notes: Windows and old Mac line breaks become newlines; hidden characters are refused."""
    value = _LINE_BREAKS.sub("\n", value or "")
    validate_multi_line(value)
    return value


def refuse_control_characters(value: str, what: str) -> str:
    """The API's notes: the multi-line rule, as a ValueError whose message names the field."""
    try:
        return multi_line_text(value)
    except ValidationError as e:
        raise ValueError(f"{what} cannot contain invisible or control characters ({e.params['codes']}).") from None


def strip_hidden(value: str, *, keep: str = "") -> str:
    """`value` without its hidden characters (those in `keep` excepted)."""
    return "".join(ch for ch in value if ch in keep or not is_hidden(ch))


def clean_inbound_line(value) -> str:
    """A one-line value from QuickBooks: hidden characters removed, whitespace collapsed. Never refuses."""
    return _WHITESPACE.sub(" ", strip_hidden(str(value or ""))).strip()


# --- JSON from outside -------------------------------------------------------------------------------
# PostgreSQL stores neither NUL in text columns nor NUL or a lone UTF-16 surrogate (JSON allows "\ud800") in
# jsonb: either would make the INSERT fail.


def _unstorable(ch: str) -> bool:
    return ch == "\x00" or "\ud800" <= ch <= "\udfff"


def has_unstorable(value) -> bool:
    """Whether a NUL or a lone surrogate hides anywhere in a parsed JSON value (keys included)."""
    if isinstance(value, str):
        return any(_unstorable(ch) for ch in value)
    if isinstance(value, dict):
        return any(has_unstorable(k) or has_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_unstorable(item) for item in value)
    return False


def storable(value):
    """A copy of a parsed JSON value without NUL characters and lone surrogates (keys included)."""
    if isinstance(value, str):
        return "".join(ch for ch in value if not _unstorable(ch)) if has_unstorable(value) else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def is_ascii_digits(value: str) -> bool:
    """True for a non-empty run of 0-9 only. `str.isdigit()` also accepts other scripts' digits ('٩١٣') and
    superscripts ('²'), which `int()` may read differently or refuse."""
    return bool(_ASCII_DIGITS.fullmatch(value or ""))
