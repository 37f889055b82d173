"""CSV cells that a spreadsheet cannot run as a formula (OWASP, "CSV Injection").

A text cell starting with =, +, -, @, a tab or a carriage return is written with a leading
apostrophe, which spreadsheets show as text. A text that already starts with apostrophes
followed by one of those characters gets one more, so that `restore` (used by the import) can
always take exactly one away: every text comes back as it was written. Numbers are never
touched: the writers pass them as numbers, or name the columns that hold text.
"""

import re

from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat

BOM = "\ufeff"  # UTF-8 byte-order mark: spreadsheets then read accents and µ correctly
TRIGGERS = "=+-@\t\r"
# One character class for Python and SQL (Django's __regex on SQLite and PostgreSQL).
_PATTERN = "^'*[-=+@\t\r]"
_NEUTRALISED = re.compile("^'+[-=+@\t\r]")
_UNSAFE = re.compile(_PATTERN)


def neutralise(text: str) -> str:
    """TEXT as a spreadsheet will show it, never run it."""
    return "'" + text if _UNSAFE.match(text) else text


def restore(text: str) -> str:
    """The text that `neutralise` was given."""
    return text[1:] if _NEUTRALISED.match(text) else text


def cell(value):
    """A cell of a row whose values keep their Python types: only text is neutralised."""
    return neutralise(value) if isinstance(value, str) else value


def row(values) -> list:
    return [cell(value) for value in values]


def neutralised(field: str) -> Case:
    """The text column FIELD neutralised by the database, for rows it formats itself."""
    return Case(
        When(
            **{f"{field}__regex": _PATTERN},
            then=Concat(Value("'"), F(field), output_field=TextField()),
        ),
        default=F(field),
        output_field=TextField(),
    )
