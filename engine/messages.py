"""The zh/en message catalogue of the interface: every string the CLI, the report and the API's
problems show to people, looked up by its English text (the gettext convention).

The catalogues are the PO files in ``engine/locale/<lang>/LC_MESSAGES/messages.po``, read with
Babel when a language is first used (no compiled ``.mo`` to build or to go stale). ``make messages``
extracts the marked strings from the sources (``_("...")``, ``N_("...")`` and ``_()`` in the
report template) and updates both catalogues; ``tests/engine/test_messages.py`` fails when a
string has no Chinese translation, is fuzzy, or is no longer used.

Texts that come with the rules and the knowledge base (titles, reasons) are not here: they are
bilingual :class:`engine.language.Text` values of the data itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Literal

#: the languages of the interface, and ``both`` (Chinese then English)
Lang = Literal["zh", "en", "both"]
LANGS: tuple[str, ...] = ("zh", "en")


def N_(msgid: str) -> str:
    """Mark ``msgid`` for the catalogue without translating it (a table of messages defined at import)."""
    return msgid


@cache
def _entries(lang: str) -> dict[str, str]:
    """The translated, non-fuzzy messages of ``lang`` (an English msgstr left empty means "as written")."""
    from io import BytesIO

    from babel.messages.pofile import read_po

    from rm_advisor.engine.loading.sources import read_catalogue

    catalog = read_po(BytesIO(read_catalogue(lang)), locale=lang)
    return {str(m.id): str(m.string) for m in catalog
            if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy}


def gettext_in(lang: str, msgid: str) -> str:
    """``msgid`` in ``lang`` (``zh`` or ``en``); a message the catalogue lacks stays as written."""
    if lang not in LANGS:
        raise ValueError(f"no catalogue for language {lang!r} (zh or en)")
    return _entries(lang).get(msgid, msgid)


class Translator:
    """The messages of one language choice: ``zh``, ``en`` or ``both`` (Chinese, ``sep``, English).

    ``tr("{n} file(s)", n=3)`` translates first and fills the ``{name}`` fields after, in each language.
    """

    def __init__(self, lang: str, sep: str = " / ") -> None:
        if lang not in ("zh", "en", "both"):
            raise ValueError(f"unknown language {lang!r} (zh, en or both)")
        self.lang, self.sep = lang, sep

    def __call__(self, msgid: str, **fields: object) -> str:
        """A field given in both languages (see :func:`in_both`) is filled language by language, so
        a translated phrase inside a translated sentence is not doubled."""
        if self.lang != "both":
            return _fill(gettext_in(self.lang, msgid), _in(fields, self.lang))
        zh = _fill(gettext_in("zh", msgid), _in(fields, "zh"))
        en = _fill(gettext_in("en", msgid), _in(fields, "en"))
        return en if zh == en else f"{zh}{self.sep}{en}"

    def gettext(self, msgid: str) -> str:
        """The plain gettext call (jinja2's i18n extension fills ``%(name)s`` fields itself)."""
        return self(msgid)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Plural forms are not used: messages say ``file(s)``; this only serves jinja2's interface."""
        return self(singular if n == 1 else plural)


def _in(fields: dict[str, object], lang: str) -> dict[str, object]:
    return {k: _member(v, lang) for k, v in fields.items()}


def _fill(text: str, fields: dict[str, object]) -> str:
    return text.format(**fields) if fields else text


def in_both(msgid: str, **fields: object) -> dict[str, str]:
    """``msgid`` in Chinese and in English, as the members of an :class:`engine.language.Text`
    (``Text(**in_both(...))``), for the texts the engine composes. Each field is filled in each
    language; a field given in both languages (a ``{"zh": ..., "en": ...}`` mapping, or a text with
    ``zh`` and ``en``) gives each language its own member."""
    return {lang: gettext_in(lang, msgid).format(**{k: _member(v, lang) for k, v in fields.items()})
            for lang in LANGS}


def _member(value: object, lang: str) -> object:
    if isinstance(value, Mapping) and lang in value:
        return value[lang]
    if hasattr(value, "zh") and hasattr(value, "en"):
        return getattr(value, lang)
    return value
