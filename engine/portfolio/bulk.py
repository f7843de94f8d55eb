"""Evaluate every rule's fact conditions for a whole portfolio at once, as pandas boolean masks.

The per-record predicates of :mod:`engine.inference.conditions` and these masks implement one semantics
(a missing value fails every comparison except ``present: false``, unless the condition's
``unknown:`` says what it counts as; ``not`` of a failed comparison holds); a test runs both on
generated portfolios and requires identical decisions. The masks give the *gates* — (rule,
subject) pairs whose fact conditions hold — which :meth:`Inference.run` takes instead of
evaluating them subject by subject; :mod:`engine.portfolio.columnar` settles the signals and joins
on them in bulk too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rm_advisor.engine.inference.compiler import RuleBook, local_conditions
from rm_advisor.engine.inference.conditions import compare_operands, field_test, window_days
from rm_advisor.engine.language.aggregates import aggregate_column, window_start
from rm_advisor.engine.language.deadlines import days_left_column, deadline_column_holds, deadline_operands
from rm_advisor.engine.language.knowledge import KnowledgeBase, resolve
from rm_advisor.engine.language.links import LINK_FACT, linked_frame
from rm_advisor.engine.language.operators import Unknown, compare_column_holds, field_column_holds
from rm_advisor.engine.language.rules import (
    AllCond,
    AnyCond,
    CompareCond,
    Condition,
    DeadlineCond,
    EventsCond,
    ExistsCond,
    FieldCond,
    LinkedCond,
    LinkedSpec,
    NotCond,
)
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.walk import EVENT_FACT, Path, ScopedVisitor

Mask = Callable[["Frames", str], pd.Series]


@dataclass(frozen=True)
class Frames:
    """Typed fact tables (one row per fact, index = id as text) and the as-of date. ``history`` (when
    given) is every event as posted, open or closed, which ``events`` conditions count; without it,
    the ``interaction`` table is the history (as a fact set that was not derived).

    Column dtypes: numbers as float or nullable Int64, dates as datetime64, booleans and texts as
    objects; a missing value is NA.
    """

    tables: dict[str, pd.DataFrame]
    as_of: dt.date
    kb: KnowledgeBase

    def view(self, fact_type: str) -> pd.DataFrame:
        """Rows of ``fact_type`` with their own columns (``client.x``) and their one-linked facts'
        (``manager.y``), as one wide frame."""
        base = self.tables.get(fact_type, pd.DataFrame())
        wide = base.add_prefix(f"{fact_type}.")
        for target, link in self.kb.one_links(fact_type).items():
            other = self.tables.get(target)
            if other is None or link not in base:
                continue
            joined = other.add_prefix(f"{target}.").reindex(base[link].astype(object).where(base[link].notna(), None))
            joined.index = base.index
            wide = pd.concat([wide, joined], axis=1)
        return wide


class BulkGates:
    """Every rule's gate as a mask function, compiled once per rule book. ``chain``: a portfolio run
    decides the chaining rules in bulk too (:mod:`engine.portfolio.columnar`); off for the reference
    engine, which decides them itself."""

    def __init__(self, book: RuleBook, chain: bool = True):
        self.book = book
        self.chain = chain
        # each conjunct with the key of its field test (None: not a plain field test), which rules share
        self._masks = [(r, [(field_test(c, book.kb).key if isinstance(c, FieldCond) else None,
                             _compile(c, book.kb, r.rule.subject)) for c in local_conditions(r.rule)])
                       for r in book.rules]

    def masks(self, frames: Frames) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray[Any, Any]]]:
        """Each subject type's wide view, and per rule in effect on the as-of date the mask of its
        view's rows whose gate holds. A field test several rules share (``client.domain: bank``) is
        evaluated once per view."""
        views: dict[str, pd.DataFrame] = {s: frames.view(s) for s in {r.rule.subject for r in self.book.rules}}
        shared: dict[tuple[str, Hashable], pd.Series] = {}
        out: dict[str, np.ndarray[Any, Any]] = {}
        for rule, masks in self._masks:
            if not rule.active_on(frames.as_of):
                continue
            subject = rule.rule.subject
            view = views[subject]
            ctx = Scope(frames, view, subject)
            mask = pd.Series(True, index=view.index)
            for key, m in masks:
                if key is None:
                    part = m(ctx, subject)
                else:
                    known = shared.get((subject, key))
                    part = shared[(subject, key)] = m(ctx, subject) if known is None else known
                mask &= part
                if not mask.any():
                    break
            out[rule.id] = mask.to_numpy(dtype=bool)
        return views, out

    def gates(self, frames: Frames) -> dict[SubjectKey, list[tuple[str, SubjectKey]]]:
        """(rule id, subject) pairs whose fact conditions hold, grouped by subject."""
        views, masks = self.masks(frames)
        return gates_of(self.book, views, masks)


def gates_of(book: RuleBook, views: dict[str, pd.DataFrame],
             masks: dict[str, np.ndarray[Any, Any]]) -> dict[SubjectKey, list[tuple[str, SubjectKey]]]:
    """The masks of :meth:`BulkGates.masks` as (rule id, subject) pairs grouped by subject, the
    rules in the book's order."""
    out: dict[SubjectKey, list[tuple[str, SubjectKey]]] = {}
    for rule in book.rules:
        mask = masks.get(rule.id)
        if mask is None:
            continue
        for fact_id in views[rule.rule.subject].index[mask]:
            key = SubjectKey.of(rule.rule.subject, fact_id)
            out.setdefault(key, []).append((rule.id, key))
    return out


@dataclass(frozen=True)
class Scope:
    """What a mask is evaluated over: the frames, the wide frame of the facts in scope and their type."""

    frames: Frames
    view: pd.DataFrame
    fact_type: str


Column = Callable[[Scope, str], pd.Series]


def _compile(cond: Condition, kb: KnowledgeBase, outer: str) -> Column:
    return _Masks(kb, outer).visit(cond)


def conjunction_mask(conds: list[Condition], kb: KnowledgeBase, outer: str) -> Column | None:
    """The mask of the conjunction of ``conds`` about facts of type ``outer`` (None: no conditions)."""
    if not conds:
        return None
    parts = [_compile(c, kb, outer) for c in conds]
    return lambda ctx, o: _fold(ctx, o, parts, all_=True)


class _Masks(ScopedVisitor[Column]):
    """A condition as a function from a frame of facts to the mask of rows where it holds."""

    def all_(self, cond: AllCond, path: Path) -> Column:
        parts = self.each(cond, path)
        return lambda ctx, o: _fold(ctx, o, parts, all_=True)

    def any_(self, cond: AnyCond, path: Path) -> Column:
        parts = self.each(cond, path)
        return lambda ctx, o: _fold(ctx, o, parts, all_=False)

    def not_(self, cond: NotCond, path: Path) -> Column:
        inner = self.visit(cond.not_)
        return lambda ctx, o: ~inner(ctx, o)

    def exists(self, cond: ExistsCond, path: Path) -> Column:
        return _exists(cond, self.kb, self.outer)

    def field(self, cond: FieldCond, path: Path) -> Column:
        ops = {op: resolve(v, self.kb) for op, v in cond.ops.items()}
        ref, unknown = cond.ref, cond.unknown
        return lambda ctx, o: _field(ctx, ref, ops, unknown)

    def events(self, cond: EventsCond, path: Path) -> Column:
        return _events(cond, self.kb, self.outer)

    def deadline(self, cond: DeadlineCond, path: Path) -> Column:
        spec = cond.deadline
        after, within = deadline_operands(spec, self.kb)

        def deadline_(ctx: Scope, _: str) -> pd.Series:
            left = days_left_column(spec.basis, _column(ctx, spec.ref), after, ctx.frames.as_of)
            return deadline_column_holds(left, within, spec.unknown)
        return deadline_

    def linked(self, cond: LinkedCond, path: Path) -> Column:
        spec = cond.linked
        where = _compile(spec.where, self.kb, "client") if spec.where is not None else None

        def linked_(ctx: Scope, _: str) -> pd.Series:
            owners = set(linked_hits(ctx.frames, spec, where)["owner"])
            return pd.Series(ctx.view.index.isin(list(owners)), index=ctx.view.index)
        return linked_

    def compare(self, cond: CompareCond, path: Path) -> Column:
        spec = cond.compare
        times, plus = compare_operands(spec, self.kb)

        def compare_(ctx: Scope, _: str) -> pd.Series:
            return compare_column_holds(spec.op, _column(ctx, spec.left), _column(ctx, spec.right), ctx.frames.as_of,
                                        times, plus, spec.unknown)
        return compare_


def _fold(ctx: Scope, outer: str, parts: list[Callable[[Scope, str], pd.Series]], all_: bool) -> pd.Series:
    acc = pd.Series(all_, index=ctx.view.index)
    for p in parts:
        acc = (acc & p(ctx, outer)) if all_ else (acc | p(ctx, outer))
    return acc


def _exists(cond: ExistsCond, kb: KnowledgeBase, outer: str) -> Callable[[Scope, str], pd.Series]:
    fact = cond.exists.fact
    where = _compile(cond.exists.where, kb, fact) if cond.exists.where else None
    link = kb.facts[fact].links[outer]

    def exists_(ctx: Scope, _: str) -> pd.Series:
        hits = exists_hits(ctx, fact, link, where)
        owners = set(hits[link].dropna().astype(str)) if len(hits) else set()
        return pd.Series(ctx.view.index.isin(list(owners)), index=ctx.view.index)
    return exists_


def exists_hits(ctx: Scope, fact: str, link: str, where: Column | None) -> pd.DataFrame:
    """The rows of ``fact`` related to the view's facts (through their column ``link``) that pass
    ``where``, which sees the related fact's columns and its owner's, as the per-record form does."""
    related = ctx.frames.tables.get(fact)
    if related is None or not len(related) or link not in related:  # no link column: nothing is related
        return pd.DataFrame({link: pd.Series(dtype=object)})
    if where is None:
        return related
    wide = related.add_prefix(f"{fact}.")
    owner = ctx.view.reindex(related[link].astype(object).where(related[link].notna(), None))
    owner.index = wide.index
    wide = pd.concat([wide, owner], axis=1)
    return related[where(Scope(ctx.frames, wide, fact), fact).to_numpy(dtype=bool)]


def linked_hits(frames: Frames, spec: LinkedSpec, where: Column | None) -> pd.DataFrame:
    """(``owner``, ``other``) client pairs of ``spec``'s links (one row per link) whose other client
    passes ``where``, which sees its columns and the link's (``link.``), as the per-record form does."""
    clients = frames.view("client")
    pairs = linked_frame(spec, frames.tables.get(LINK_FACT), clients.index)
    if not len(pairs) or where is None:
        return pairs
    # indexed by the other client's id (so a condition nested in `where` sees whose row it is), one
    # link per other client at a time
    pairs = pairs.assign(_round=pairs.groupby("other").cumcount().to_numpy())
    kept = []
    for _round, batch in pairs.groupby("_round"):
        other = clients.reindex(batch["other"])
        link_cols = batch.drop(columns=["owner", "other", "_round"]).add_prefix(f"{LINK_FACT}.")
        link_cols.index = other.index
        hit = where(Scope(frames, pd.concat([other, link_cols], axis=1), "client"), "client")
        kept.append(batch[hit.to_numpy(dtype=bool)])
    return pd.concat(kept).drop(columns=["_round"]).sort_index(kind="stable")


def _events(cond: EventsCond, kb: KnowledgeBase, outer: str) -> Column:
    spec = cond.events
    where = _compile(spec.where, kb, EVENT_FACT) if spec.where is not None else None
    link = kb.facts[EVENT_FACT].links[outer]
    days = window_days(spec, kb)
    ops = {op: resolve(v, kb) for op, v in spec.test.used().items()}
    of = spec.of.partition(".")[2] if spec.of else None

    def events_(ctx: Scope, _: str) -> pd.Series:
        tables = ctx.frames.tables
        history = tables["history"] if "history" in tables else tables.get(EVENT_FACT)
        as_of = ctx.frames.as_of
        values = pd.Series(dtype=object)
        picked = pd.DataFrame({"owner": [], "date": pd.Series(dtype="datetime64[ns]"), "id": [], "value": []})
        if history is not None and len(history) and "date" in history and link in history:
            start = window_start(as_of, days)
            dates = history["date"]
            keep = dates.notna() & history[link].notna() & (dates <= pd.Timestamp(as_of))
            if start is not None:
                keep &= dates >= pd.Timestamp(max(start, pd.Timestamp.min.date()))
            related = history[keep.to_numpy(dtype=bool)]
            if where is not None and len(related):
                wide = related.add_prefix(f"{EVENT_FACT}.")
                owner = ctx.view.reindex(related[link].astype(str))  # the subject's columns, as the record form sees
                owner.index = wide.index
                hit = where(Scope(ctx.frames, pd.concat([wide, owner], axis=1), EVENT_FACT), EVENT_FACT)
                related = related[hit.to_numpy(dtype=bool)]
            if of is not None:
                values = related[of] if of in related else pd.Series(pd.NA, index=related.index, dtype=object)
            picked = pd.DataFrame({"owner": related[link].astype(str), "date": related["date"],
                                   "id": related["id"].astype(str),
                                   "value": values if of is not None else pd.NA}, index=related.index)
        col = aggregate_column(spec.aggregate, picked, ctx.view.index, as_of)
        return field_column_holds(ops, col, as_of, spec.never)
    return events_


def _column(ctx: Scope, ref: str) -> pd.Series:
    """The column of ``ref`` in the frame in scope; all missing when no row has it."""
    return ctx.view[ref] if ref in ctx.view else pd.Series(pd.NA, index=ctx.view.index, dtype=object)


def _field(ctx: Scope, ref: str, ops: dict[str, Any], unknown: Unknown | None) -> pd.Series:
    return field_column_holds(ops, _column(ctx, ref), ctx.frames.as_of, unknown)
