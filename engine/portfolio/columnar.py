"""Chaining in bulk: the chaining rules of a whole portfolio decided as mask operations.

After the bulk gates (:mod:`engine.portfolio.bulk`), signals are settled stratum by stratum over
every subject at once: a signal of a subject type is the union of its producers' masks; a chaining
rule fires where its gate holds, every signal it requires is held and none it forbids; a join
(``exists`` a related fact, or a ``linked`` client, that passes ``where`` and holds signals) is the
table of (subject, related subject) pairs that pass, grouped by subject. The language is
stratified and a decision only adds facts, so one pass in stratum order reaches the fixpoint of
:class:`engine.inference.stratified.StratifiedInference` and experta's network, the reference.

The result (:class:`Chained`) is handed, book by book, to the stratified evaluator, which then
records those firings without deciding them again (their match traces and explanations are built
per subject as before). ``tests/engine/portfolio/test_columnar.py`` requires the same firings,
traces, producers and decisions from experta, the stratified evaluator and this one, on random rule
sets, the shipped scenarios and generated portfolios.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rm_advisor.engine.inference.chaining import Chained, Related
from rm_advisor.engine.inference.compiler import CompiledRule, Join
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.knowledge import FactSpec, KnowledgeBase
from rm_advisor.engine.language.links import LINK_FACT
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.portfolio.bulk import (
    BulkGates,
    Column,
    Frames,
    Scope,
    conjunction_mask,
    exists_hits,
    gates_of,
    linked_hits,
)
from rm_advisor.engine.portfolio.tables import check_table

Bool = np.ndarray[Any, np.dtype[np.bool_]]
Gated = dict[SubjectKey, list[tuple[str, SubjectKey]]]


class BulkChaining:
    """The gates and the chaining rules of a rule book over whole tables, compiled once per book."""

    def __init__(self, gates: BulkGates):
        self.gates = gates
        kb = gates.book.kb
        self._chaining = sorted((r for r in gates.book.rules if not r.direct), key=lambda r: (r.stratum, r.id))
        self._where: dict[tuple[str, int], Column | None] = {
            (r.id, k): conjunction_mask(list(j.conditions), kb, j.fact) for r in self._chaining
            for k, j in enumerate(r.joins)}

    def run(self, frames: Frames) -> tuple[Gated, Chained]:
        """The gates grouped by subject (as :meth:`BulkGates.gates`) and what the chaining rules fired on."""
        book = self.gates.book
        views, masks = self.gates.masks(frames)
        held: dict[tuple[str, str], Bool] = {}
        for rule in book.rules:
            if rule.direct and rule.id in masks:
                _assert(held, rule, masks[rule.id])
        fired: dict[SubjectKey, dict[str, Related]] = {}
        for rule in self._chaining:
            gate = masks.get(rule.id)
            if gate is None or not gate.any():
                continue
            subject = rule.rule.subject
            mask = gate.copy()
            for name in rule.requires:
                mask &= held.get((subject, name), False)
            for name in rule.forbids:
                if (subject, name) in held:
                    mask &= ~held[(subject, name)]
            joined: list[tuple[np.ndarray[Any, Any], list[SubjectKey]]] = []
            for k, join in enumerate(rule.joins):
                if not mask.any():
                    break
                owners, related = self._pairs(frames, views, rule, k, join, held)
                has = np.zeros(len(mask), dtype=bool)
                has[owners] = True
                mask &= has
                joined.append((owners, related))
            if not mask.any():
                continue
            index = views[subject].index
            per_subject: dict[int, list[list[SubjectKey]]] = {
                int(p): [[] for _ in rule.joins] for p in np.flatnonzero(mask)}
            for k, (owners, related) in enumerate(joined):
                for owner, rel in zip(owners.tolist(), related, strict=True):
                    lists = per_subject.get(owner)
                    if lists is not None:
                        lists[k].append(rel)
            for p, lists in per_subject.items():
                fired.setdefault(SubjectKey.of(subject, index[p]), {})[rule.id] = tuple(tuple(r) for r in lists)
            _assert(held, rule, mask)
        return gates_of(book, views, masks), Chained(fired)

    def _pairs(self, frames: Frames, views: dict[str, pd.DataFrame], rule: CompiledRule, k: int, join: Join,
               held: dict[tuple[str, str], Bool]) -> tuple[np.ndarray[Any, Any], list[SubjectKey]]:
        """(positions of the owners in their view, related subjects) for each related fact that passes
        join ``k`` of ``rule`` and holds its signals, in the order the per-record evaluator finds them."""
        subject = rule.rule.subject
        where = self._where[(rule.id, k)]
        related_index = (views[join.fact] if join.fact in views else frames.view(join.fact)).index
        if join.via is not None:
            pairs = linked_hits(frames, join.via, where)
            # one pair per link, as the per-record evaluator counts activations; sorted by (other, link)
            pairs = pairs.sort_values(["owner", "other", "id"] if "id" in pairs else ["owner", "other"], kind="stable")
            owner_ids, rel_ids = pairs["owner"].astype(str), pairs["other"].astype(str)
        else:
            hits = exists_hits(Scope(frames, views[subject], subject), join.fact, join.link_field, where)
            if len(hits):
                hits = hits[hits[join.link_field].notna()]
            owner_ids = hits[join.link_field].astype(str) if len(hits) else pd.Series(dtype=object)
            rel_ids = pd.Series(hits.index.astype(str), index=hits.index)
        owners = views[subject].index.get_indexer(pd.Index(owner_ids))
        positions = related_index.get_indexer(pd.Index(rel_ids))
        ok = (owners >= 0) & (positions >= 0)
        for name in join.signals:
            signal = held.get((join.fact, name))
            ok &= signal[positions] if signal is not None else False
        return owners[ok], [SubjectKey.of(join.fact, i) for i in np.asarray(rel_ids, dtype=object)[ok]]


def _assert(held: dict[tuple[str, str], Bool], rule: CompiledRule, mask: Bool) -> None:
    """The signals ``rule`` asserts now hold where ``mask`` does."""
    for name in rule.rule.then.signals:
        key = (rule.rule.subject, name)
        held[key] = held[key] | mask if key in held else mask.copy()


def frames_of(fact_set: FactSet, kb: KnowledgeBase) -> Frames:
    """A validated fact set as the batch's typed tables (one row per fact, indexed by id), its
    history (when derived) as the ``history`` table: one decision evaluated in bulk."""
    tables = {fact: fact_table(list(facts), kb.facts[fact], fact) for fact, facts in fact_set.by_type.items()
              if fact in kb.facts and facts}
    if fact_set.history is not None:
        events = {str(e["id"]): e for evs in fact_set.history.values() for e in evs}
        tables["history"] = fact_table([events[k] for k in sorted(events)], kb.facts["interaction"], "interaction")
    tables.setdefault(LINK_FACT, pd.DataFrame())
    return Frames(tables, fact_set.as_of, kb)


def fact_table(rows: Sequence[Mapping[str, Any]], spec: FactSpec, fact: str) -> pd.DataFrame:
    """Validated facts of one type as the batch's typed table of them (indexed by id)."""
    names = [n for n in spec.fields if any(n in r for r in rows)]
    raw = pd.DataFrame([{n: _text(r.get(n)) for n in names} for r in rows], columns=names, dtype=object)
    checked = check_table(raw, spec, fact, f"{fact}.csv")
    if checked.diagnostics:  # validated facts type as the tables do; a difference is a defect here
        raise ValueError(f"{fact}: {checked.diagnostics[0].message}")
    typed = checked.frame
    return typed.set_index(typed["id"].astype(str), drop=False).rename_axis(None) if "id" in typed else typed


def _text(value: Any) -> str | None:
    """A cell as a table file holds it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)
