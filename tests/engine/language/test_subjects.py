"""Subject keys: one type and id inside the engine, ``type:id`` text at the edges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rm_advisor.engine.language.subjects import SubjectKey


def test_a_key_reads_and_writes_as_type_colon_id() -> None:
    key = SubjectKey.parse("client:T-1")
    assert key == SubjectKey("client", "T-1") and key.type == "client" and key.id == "T-1"
    assert str(key) == "client:T-1" and f"{key}" == "client:T-1"


def test_ids_from_tables_become_text_and_may_hold_a_colon() -> None:
    assert SubjectKey.of("manager", 7) == SubjectKey("manager", "7")
    assert SubjectKey.parse("interaction:2026:01") == SubjectKey("interaction", "2026:01")


@pytest.mark.parametrize("text", ["client", "client:", ":T-1", ""])
def test_text_without_a_type_or_an_id_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="client:T-1"):
        SubjectKey.parse(text)


@given(st.text(st.characters(blacklist_characters=":"), min_size=1), st.text(min_size=1))
def test_parse_undoes_str(fact_type: str, fact_id: str) -> None:
    key = SubjectKey(fact_type, fact_id)
    assert SubjectKey.parse(str(key)) == key
