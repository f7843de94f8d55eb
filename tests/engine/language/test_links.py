"""engine/language/links.py: which clients a link reaches, per direction, per record and per table alike;
a link to a client not among the facts or to the subject itself reaches nothing; the path as people read it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine.language.facts import build_fact_set
from rm_advisor.engine.language.links import linked_frame, linked_pairs, path_text
from rm_advisor.engine.language.rules import LinkedSpec
from tests.helpers import KB

AS_OF = dt.date(2026, 11, 23)
IDS = ["A", "B", "C"]


def _facts(links: list[dict[str, Any]]) -> Any:
    clients = [{"id": c, "manager_id": "M1", "domain": "bank"} for c in IDS]
    return build_fact_set({"client": clients, "manager": [{"id": "M1", "domain": "bank"}], "link": links}, AS_OF, KB)


def _others(spec: LinkedSpec, links: list[dict[str, Any]], me: str) -> list[str]:
    return [str(o["id"]) for _, o in linked_pairs(spec, _facts(links), me)]


def test_a_guarantor_reaches_the_client_it_guarantees_and_in_reads_the_link_backwards() -> None:
    links = [{"id": "K1", "kind": "guarantor_of", "from_client": "A", "to_client": "B"}]
    assert _others(LinkedSpec(kind=("guarantor_of",)), links, "A") == ["B"]
    assert _others(LinkedSpec(kind=("guarantor_of",)), links, "B") == []
    assert _others(LinkedSpec(kind=("guarantor_of",), direction="in"), links, "B") == ["A"]
    assert _others(LinkedSpec(kind=("guarantor_of",), direction="both"), links, "B") == ["A"]
    assert _others(LinkedSpec(kind=("same_owner",), direction="both"), links, "A") == []


def test_a_link_to_a_client_not_among_the_facts_or_to_itself_reaches_nothing() -> None:
    links = [{"id": "K1", "kind": "same_owner", "from_client": "A", "to_client": "GONE"},
             {"id": "K2", "kind": "same_owner", "from_client": "A", "to_client": "A"}]
    assert _others(LinkedSpec(kind=("same_owner",), direction="both"), links, "A") == []


def test_the_path_reads_from_the_subject_in_the_links_direction() -> None:
    spec = LinkedSpec(kind=("guarantor_of",))
    assert path_text("client:A", spec, "client:B") == "client:A —guarantor_of→ client:B"
    assert path_text("client:B", LinkedSpec(kind=("guarantor_of",), direction="in"), "client:A") == \
        "client:B ←guarantor_of— client:A"


@settings(max_examples=100, deadline=None)
@given(data=st.data(), direction=st.sampled_from(["out", "in", "both"]),
       kinds=st.sets(st.sampled_from(["guarantor_of", "same_owner", "member_of"]), min_size=1))
def test_the_clients_a_link_reaches_are_the_same_per_record_and_per_table(data: st.DataObject, direction: str,
                                                                          kinds: set[str]) -> None:
    links = [{"id": f"K{i}", "kind": data.draw(st.sampled_from(["guarantor_of", "same_owner", "member_of"])),
              "from_client": data.draw(st.sampled_from(IDS)), "to_client": data.draw(st.sampled_from([*IDS, "GONE"]))}
             for i in range(data.draw(st.integers(0, 6)))]
    spec = LinkedSpec(kind=tuple(sorted(kinds)), direction=direction)
    facts = _facts(links)
    per_record = sorted((me, str(o["id"]), str(ln["id"])) for me in IDS for ln, o in linked_pairs(spec, facts, me))
    frame = linked_frame(spec, pd.DataFrame(links) if links else None, pd.Index(IDS))
    per_table = sorted(zip(frame["owner"], frame["other"], frame["id"] if len(frame) else [], strict=False))
    assert per_table == per_record
