"""engine/messages.py and its catalogue: every string the sources mark is in both catalogues, the
Chinese one translates it (not fuzzy, not empty, with the same fields), and no entry is stale.

The strings are extracted as ``make messages`` extracts them: Babel's Python extractor and jinja2's,
through ``engine/locale/babel.cfg``. A failure names the strings; ``make messages`` adds or drops
them, and the new Chinese ones are translated in ``engine/locale/zh/LC_MESSAGES/messages.po``."""

from __future__ import annotations

import os
import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from rm_advisor.engine.language import Text
from rm_advisor.engine.loading.sources import catalogue_file, read_catalogue
from rm_advisor.engine.messages import LANGS, N_, Translator, gettext_in, in_both
from tests.conftest import ROOT

#: the name the CLI and the report give a translator that joins both languages with a space
KEYWORDS = {**DEFAULT_KEYWORDS, "L_": None}
#: ``{name}`` (str.format, the Python sources) and ``%(name)s`` (jinja2's i18n extension)
FIELDS = re.compile(r"\{(\w*)[^{}]*\}|%\((\w+)\)s")


def _not_built(dirpath: str) -> bool:
    name = os.path.basename(dirpath)
    return not name.startswith((".", "_")) and name != "build"


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    """Every marked msgid in the sources and the report template, with where it is."""
    with (ROOT / "engine" / "locale" / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)  # type: ignore[no-untyped-call]
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=_not_built):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _catalogue(lang: str) -> Catalog:
    return read_po(BytesIO(read_catalogue(lang)), locale=lang)


def test_the_sources_mark_the_interface_strings(extracted: dict[str, list[str]]) -> None:
    # a sample from each door: the terminal, the batch, the report template and the API's problems
    for msgid, where in (("next-best-actions", "cli/render.py"), ("deciding", "cli/batch.py"),
                         ("Worklists per manager", "cli/templates/report.html.j2"),
                         ("The request body is not valid JSON", "api/problems.py")):
        assert any(w.startswith(where) for w in extracted.get(msgid, [])), (msgid, extracted.get(msgid))


@pytest.mark.parametrize("lang", LANGS)
def test_every_marked_string_is_in_the_catalogue(lang: str, extracted: dict[str, list[str]]) -> None:
    ids = {str(m.id) for m in _catalogue(lang) if m.id}
    missing = {m: extracted[m] for m in sorted(set(extracted) - ids)}
    assert not missing, f"not in the {lang} catalogue (run `make messages`, then translate): {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_no_catalogue_entry_is_stale_or_fuzzy(lang: str, extracted: dict[str, list[str]]) -> None:
    catalog = _catalogue(lang)
    stale = sorted(str(m.id) for m in catalog if m.id and m.id not in extracted)
    assert not stale, f"no longer used (run `make messages`): {stale}"
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are not translations"
    assert not catalog.obsolete


def test_every_string_has_a_chinese_translation_with_the_same_fields() -> None:
    untranslated, wrong_fields = [], []
    for m in _catalogue("zh"):
        if not m.id:
            continue
        msgid, text = str(m.id), str(m.string)
        if not text.strip():
            untranslated.append(msgid)
        elif sorted(FIELDS.findall(msgid)) != sorted(FIELDS.findall(text)):
            wrong_fields.append((msgid, text))
        elif re.fullmatch(r"[\x00-\x7f]*", msgid) and re.search(r"[A-Za-z]{3}", msgid) and text == msgid:
            untranslated.append(msgid)  # copied, not translated
    assert not untranslated, f"no Chinese translation: {untranslated}"
    assert not wrong_fields, f"the translation's fields differ from the English: {wrong_fields}"


def test_english_is_the_msgid_itself() -> None:
    # the English catalogue leaves msgstr empty (gettext: the msgid is the English text)
    assert all(not m.string or m.string == m.id for m in _catalogue("en") if m.id)
    assert gettext_in("en", "next-best-actions") == "next-best-actions"


def test_a_translator_speaks_zh_en_or_both() -> None:
    assert Translator("zh")("Client") == "客户" and Translator("en")("Client") == "Client"
    assert Translator("both")("Client") == "客户 / Client" and Translator("both", sep=" ")("Keep") == "保持 Keep"
    assert Translator("zh")("wrote {path}", path="a.csv") == "已写入 a.csv"
    assert Translator("both")("{errors} error(s)", errors=2) == "2 个错误 / 2 error(s)"
    # a string the catalogue does not have stays as written; a field-less message keeps its braces
    assert Translator("zh")("not in the catalogue {x}") == "not in the catalogue {x}"
    assert N_("Keep") == "Keep"
    with pytest.raises(ValueError):
        Translator("fr")
    with pytest.raises(ValueError):
        gettext_in("both", "Client")


def test_the_engine_composes_texts_in_both_languages_from_the_catalogue() -> None:
    # the set-aside reason of a worklist (engine/portfolio/worklist.py), word for word as before the catalogue
    reason = in_both("not raised on this {contact}: it is for {duties} (risk or obligation), and a sales ask does "
                     "not ride on it; raise it once that is settled", contact=in_both("call"),
                     duties=Text(zh="催收欠息", en="Collect unpaid interest"))
    assert reason == {"zh": "本次电话联系是为催收欠息(风险或义务事项),不同时提出营销请求;待其处理后再提",
                      "en": "not raised on this call: it is for Collect unpaid interest (risk or obligation), and a "
                            "sales ask does not ride on it; raise it once that is settled"}
    assert Text(**reason).zh.startswith("本次电话联系")


def test_the_catalogues_ship_as_package_data() -> None:
    for lang in LANGS:
        path = catalogue_file(lang)
        assert path.is_file() and Path(path).parent.parent.name == lang
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"rm_advisor.engine" = ["locale/*/LC_MESSAGES/*.po"]' in text
