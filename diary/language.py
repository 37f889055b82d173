"""Small pieces of wording that depend on the reader's language: numbers in messages, whose.

Numbers in messages use the active language's decimal mark ("0,5" in French) and never an
exponent (Decimal("5000").normalize() prints as "5E+3"). French elides "de" before a vowel or a
mute h ("d’Amira", "d’Émile", "de Noah"); English writes "Amira’s".
"""

import unicodedata
from decimal import Decimal

from django.utils import formats
from django.utils.translation import get_language

# Letters before which French writes "d’" for "de": the vowels, y and (mute) h; accented
# vowels count by their base letter, and the ligatures too.
ELIDING = set("aeiouyhæœ")


def number(value) -> str:
    """VALUE in the active language, as written (no trailing zeros, no exponent): 0.5 → "0,5"
    in French, 5000 → "5000"."""
    if value is None or value == "":
        return ""
    value = Decimal(str(value))
    if value.is_finite():
        value = value.normalize()
        # normalize() writes 5000 as 5E+3: put the zeros back.
        if value.as_tuple().exponent > 0:
            value = value.quantize(Decimal(1))
    return formats.number_format(value, use_l10n=True)


def elides(word: str) -> bool:
    """Whether French writes "d’" rather than "de" before WORD."""
    word = word.strip()
    if not word:
        return False
    first = unicodedata.normalize("NFD", word[0].lower())[0]
    return first in ELIDING


def of_name(name: str) -> str:
    """French "de NAME", elided before a vowel or h: "d’Amira", "de Noah"."""
    name = name.strip()
    return f"d’{name}" if elides(name) else f"de {name}"


def whose(name: str) -> str:
    """NAME as the owner of what follows, in the active language: "Amira’s" in English,
    "d’Amira" (placed after the noun by the French message) in French."""
    if (get_language() or "en").split("-")[0] == "fr":
        return of_name(name)
    return f"{name.strip()}’s"
