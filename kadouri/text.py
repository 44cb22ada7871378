"""Cleaning typed text that leaves Kadouri: names become QuickBooks DisplayNames and item names (qbo-api.md §2.1, §2.2)."""

import re
import unicodedata

from django.core.exceptions import ValidationError

_WHITESPACE = re.compile(r"\s+")
# Bidirectional embeddings, overrides and isolates reorder what a reader sees ("Trojan Source"); the plain
# left-to-right / right-to-left marks (U+200E, U+200F) are legitimate in Hebrew and Arabic names and stay.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def single_line_name(value: str) -> str:
    """Tabs, newlines and runs of spaces become one space; other control characters are refused."""
    value = _WHITESPACE.sub(" ", value or "").strip()
    bad = [ch for ch in value if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS]
    if bad:
        raise ValidationError(
            "Remove the invisible control character(s) from the name (%(codes)s).",
            code="control_character",
            params={"codes": ", ".join(sorted({f"U+{ord(ch):04X}" for ch in bad}))},
        )
    return value


def refuse_control_characters(value: str, what: str) -> str:
    """For multi-line text (notes): newlines and tabs are fine, NUL and other control characters are not
    (PostgreSQL cannot store NUL in text at all)."""
    bad = {ch for ch in value if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"}
    if bad:
        codes = ", ".join(sorted(f"U+{ord(ch):04X}" for ch in bad))
        raise ValueError(f"{what} cannot contain control characters ({codes}).")
    return value


# --- JSON from outside -------------------------------------------------------------------------------
# PostgreSQL stores no NUL in text columns nor (as \u0000) in jsonb: one would make the INSERT fail.

def has_nul(value) -> bool:
    """Whether a NUL character hides anywhere in a parsed JSON value (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def without_nul(value):
    """A copy of a parsed JSON value with every NUL character removed (keys included)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value
