"""What a posted value may be: the one place that decides whether a text, a number, a date or an
identifier is acceptable, and how dates move. Every validator uses it: fact validation
(:mod:`engine.language.facts`), the API's request models, the CLI's options and the feedback store.

* **Text** holds no NUL (PostgreSQL cannot store it in text or JSON) and no lone surrogate
  (U+D800..U+DFFF, which JSON's ``\\ud800`` escape can carry but UTF-8 cannot encode: neither
  SQLite nor a JSON answer could hold it).
* **Numbers** are finite (NaN fails neither side of a range check, and PostgreSQL's JSON refuses
  NaN and Infinity); integers fit in 64 bits, as the batch's columns and PostgreSQL hold them.
* **Dates** are written ``YYYY-MM-DD`` and lie in :data:`DATE_MIN` .. :data:`DATE_MAX`.
* **Identifiers** (fact ids and the fields linking to them) are 1 to :data:`ID_MAX_LENGTH`
  characters without control characters: the decision log's columns hold 200, and feedback names
  them in a request.

Date arithmetic goes through :func:`shift`, which saturates at the ends of the calendar instead of
raising ``OverflowError``: a rule's ``in_next_days: 100000000`` means "any later date".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

#: The calendar of business dates: an as-of date, a fact's date, a feedback date. Inside pandas'
#: timestamp range (1677-09-21 .. 2262-04-11), which the batch and the scoring use, with room for
#: rule offsets of several decades on either side; wider than any client relationship needs.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)
#: Longest identifier: the decision log stores subject and manager ids in 200-character columns.
ID_MAX_LENGTH = 200
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

#: The same rules as JSON Schema patterns (ECMA 262 syntax, which validators share), for specs that
#: state what a request may hold: text without NUL; identifiers without control characters; dates
#: written YYYY-MM-DD in the years of DATE_MIN .. DATE_MAX. A lone surrogate cannot be written in an
#: ECMA pattern (and JSON decoders differ on it): it is refused all the same, which specs say in words.
TEXT_PATTERN = r"^[^\x00]*$"
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
DATE_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_SHOWN = 60  # characters of a posted value echoed in a message


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be accepted (a NUL, a lone surrogate), or None when it can."""
    bad = _BAD_TEXT.search(text)
    if bad is None:
        return None
    char = bad.group()
    what = "a NUL character" if char == "\x00" else f"a lone surrogate U+{ord(char):04X}"
    return f"contains {what} at position {bad.start()}"


def id_problem(text: str) -> str | None:
    """Why ``text`` cannot be an identifier, or None when it can."""
    if not text:
        return "is empty"
    if len(text) > ID_MAX_LENGTH:
        return f"is {len(text)} characters long; at most {ID_MAX_LENGTH}"
    bad = text_problem(text)
    if bad:
        return bad
    control = _CONTROL.search(text)
    if control is not None:
        return f"contains the control character U+{ord(control.group()):04X} at position {control.start()}"
    return None


def number_problem(value: int | float) -> str | None:
    """Why a number cannot be accepted (NaN, an infinity, an integer beyond 64 bits), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number (NaN and Infinity are refused)"
    if INT_MIN <= value <= INT_MAX:
        return None
    return "is outside the 64-bit integer range"


def parse_date(value: Any) -> dt.date:
    """A business date from ``YYYY-MM-DD`` text (or a date, as YAML reads one), within the bounds.

    Raises :class:`ValueError` saying what is wrong; :class:`DateRangeError` (a ValueError) when
    the date is valid but outside :data:`DATE_MIN` .. :data:`DATE_MAX`.
    """
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(f"expected a date YYYY-MM-DD, got {shown(value)}")
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{shown(value)} is not a date: {exc}") from None
    if not isinstance(value, dt.date):
        raise ValueError(f"expected a date YYYY-MM-DD, got {type(value).__name__} {shown(value)}")
    check_date(value)
    return value


class DateRangeError(ValueError):
    """A valid date outside the business calendar."""


def check_date(day: dt.date) -> dt.date:
    """``day`` if it lies within the bounds; else :class:`DateRangeError`."""
    if not DATE_MIN <= day <= DATE_MAX:
        raise DateRangeError(f"{day.isoformat()} is outside {DATE_MIN.isoformat()} .. {DATE_MAX.isoformat()}")
    return day


def shift(day: dt.date, days: float) -> dt.date:
    """``day`` moved by ``days`` (truncated to whole days, as ``day + timedelta(days=...)`` is),
    saturating at ``date.min`` and ``date.max`` where the calendar ends: a window or a rest that
    would reach past them ends there. From a date within :data:`DATE_MIN` .. :data:`DATE_MAX`, an
    offset of up to 1,800 years either way is plain date arithmetic."""
    if isinstance(days, float) and not math.isfinite(days):
        ordinal = dt.date.max.toordinal() if days > 0 else 1
    else:
        ordinal = day.toordinal() + int(days)
    return dt.date.fromordinal(min(max(ordinal, 1), dt.date.max.toordinal()))


def shown(value: Any, limit: int = _SHOWN) -> str:
    """A posted value as a message may echo it: short, and with control characters and lone
    surrogates escaped (``\\x00``, ``\\ud800``), so that every message can be printed and sent
    as UTF-8 JSON."""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, int):
        text = str(value) if value.bit_length() <= 128 else f"<integer of {value.bit_length()} bits>"
    elif isinstance(value, (str, float, dt.date)):
        text = str(value)
    else:
        text = _short_repr(value, limit)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text)} characters)"
    return printable(text)


def printable(text: str) -> str:
    """``text`` with control characters and lone surrogates escaped (``\\x00``, ``\\ud800``)."""
    return _UNPRINTABLE.sub(_escape, text)


def _short_repr(value: Any, limit: int) -> str:
    import reprlib

    r = reprlib.Repr()
    r.maxstring = r.maxother = limit
    try:
        return r.repr(value)
    except ValueError:  # an integer too long to print, deep inside
        return f"<{type(value).__name__}>"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
