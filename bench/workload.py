"""A synthetic workload for comparing rule engines side by side (``bench/engines_bench.py``).

``generate(rules=R, clients=N, seed=S)`` makes, deterministically:

* **clients** with 15 fields of the shipped client schema — 5 integers, 5 enums, 5 booleans —
  and no missing values (every engine compared reads a missing value its own way);
* **R rules** over them in three strata: 60% read fields only (2–4 comparisons), 25% also require
  a signal of the first stratum, 15% require a signal of the second and may forbid one of the first
  (``not``); about half of the first two strata assert a signal, every rule recommends an action;
* the same rules as **rm-advisor YAML** (rule file and the signal declarations), as **CLIPS**
  constructs (``defrule`` with salience by stratum, so a negated signal is tested after every
  producer has fired), and as data that the two reference evaluators here run:

  - :func:`python_firings`: plain Python, stratum by stratum, the comparisons as closures from the
    operator table (never ``eval``);
  - :func:`mask_firings`: the pandas lower bound, every rule a boolean mask over all clients, the
    signals as ORs of their producers' masks.

Every engine must give the same firings (rule id, client id); ``tests/bench/test_workload.py``
holds rm-advisor to both reference evaluators on small workloads, the bench to CLIPS as well.
"""

from __future__ import annotations

import operator as op
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

#: 15 fields of the shipped client schema (knowledge_base/facts/*.yaml) that nothing derives
INTEGERS = ("offnet_members", "promises_overdue", "referrals_given", "pending_opinions", "retail_products_held")
ENUMS: dict[str, tuple[str, ...]] = {
    "weekly_plan": ("agreed", "resisting", "none"),
    "law_compliance": ("good", "fair", "poor"),
    "staff_issue": ("none", "phone_order_clerk", "delivery_staff", "inspector"),
    "lead_intent": ("none", "unclear", "interested"),
    "competitor_move": ("none", "price_cut", "bundle_offer", "direct_approach"),
}
BOOLEANS = ("onboarding_adapted", "campaign_planned", "benefit_evaluated", "work_phone_rollout", "ledger_complete")
#: actions of the shipped catalogue the rules recommend (any will do: firings are compared)
ACTIONS = ("ask_for_referral", "relationship_care", "explain_policy", "diagnose_needs_on_visit",
           "develop_prospect", "functional_maintenance", "capital_use_advice", "counter_placement")
MAX_INT = 100
AS_OF = "2026-11-23"

_OPS: dict[str, Callable[[Any, Any], bool]] = {"eq": op.eq, "ne": op.ne, "gt": op.gt, "ge": op.ge, "lt": op.lt,
                                               "le": op.le}
_CLIPS_OPS = {"eq": "eq", "ne": "neq", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@dataclass(frozen=True)
class Test:
    """One comparison: ``client.<field> <op> <value>``."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class SynthRule:
    id: str
    stratum: int  # 0: fields only; 1: requires a stratum-0 signal; 2: a stratum-1 signal (and maybe not one of 0)
    tests: tuple[Test, ...]
    requires: tuple[str, ...]
    forbids: tuple[str, ...]
    asserts: str | None
    action: str
    priority: int


@dataclass(frozen=True)
class Workload:
    rules: tuple[SynthRule, ...]
    clients: tuple[dict[str, Any], ...]
    seed: int

    @property
    def signals(self) -> list[str]:
        return sorted({r.asserts for r in self.rules if r.asserts})


def generate(rules: int, clients: int, seed: int = 1) -> Workload:
    """``rules`` rules and ``clients`` clients, the same for the same arguments."""
    rng = random.Random(seed)
    out: list[SynthRule] = []
    produced: dict[int, list[str]] = {0: [], 1: []}
    n1, n2 = round(rules * 0.25), round(rules * 0.15)
    strata = [0] * (rules - n1 - n2) + [1] * n1 + [2] * n2
    for i, stratum in enumerate(strata, 1):
        rid = f"bench.r{i:04d}"
        requires: tuple[str, ...] = ()
        forbids: tuple[str, ...] = ()
        if stratum == 1 and produced[0]:
            requires = (rng.choice(produced[0]),)
        elif stratum == 2 and produced[1]:
            requires = (rng.choice(produced[1]),)
            if produced[0] and rng.random() < 0.5:
                forbids = tuple(s for s in (rng.choice(produced[0]),) if s not in requires)
        elif stratum > 0:  # nothing to chain on yet: a field rule
            stratum = 0
        count = rng.randint(2, 4) if stratum == 0 else rng.randint(1, 3)
        tests = tuple(_test(rng, f) for f in rng.sample(_all_fields(), count))
        asserts = None
        if stratum < 2 and rng.random() < 0.5:
            asserts = f"bench_s{stratum}_{len(produced[stratum]) + 1:04d}"
            produced[stratum].append(asserts)
        out.append(SynthRule(rid, stratum, tests, requires, forbids, asserts, rng.choice(ACTIONS),
                             rng.randrange(20, 95, 5)))
    people = tuple(_client(rng, i) for i in range(1, clients + 1))
    return Workload(tuple(out), people, seed)


def _all_fields() -> list[str]:
    return [*INTEGERS, *ENUMS, *BOOLEANS]


def _test(rng: random.Random, name: str) -> Test:
    """A comparison that most clients pass (70–90%), so that chains of three strata still fire."""
    if name in INTEGERS:
        kind = rng.choice(("ge", "le", "gt", "lt"))
        share = rng.uniform(0.7, 0.9)
        cut = round(MAX_INT * (1 - share)) if kind in ("ge", "gt") else round(MAX_INT * share)
        return Test(name, kind, cut)
    if name in ENUMS:
        values = ENUMS[name]
        return Test(name, "ne", rng.choice(values))
    return Test(name, "eq", rng.random() < 0.8)


def _client(rng: random.Random, i: int) -> dict[str, Any]:
    c: dict[str, Any] = {"id": f"C{i:06d}", "manager_id": f"M{(i - 1) // 50 + 1:04d}", "domain": "bank"}
    for name in INTEGERS:
        c[name] = rng.randint(0, MAX_INT)
    for name, values in ENUMS.items():
        c[name] = rng.choice(values)
    for name in BOOLEANS:
        c[name] = rng.random() < 0.8
    return c


def managers(w: Workload) -> list[dict[str, Any]]:
    return [{"id": m, "domain": "bank"} for m in sorted({c["manager_id"] for c in w.clients})]


# ---------------------------------------------------------------- rm-advisor

def rule_file(w: Workload) -> str:
    """The rules as one rm-advisor rule file."""
    docs = []
    for r in w.rules:
        conds: list[Any] = [{f"client.{t.field}": {t.op: t.value}} for t in r.tests]
        conds += [{"signal": s} for s in r.requires] + [{"not": {"signal": s}} for s in r.forbids]
        then: dict[str, Any] = {"actions": [{"action": r.action, "reason": {
            "zh": f"合成规则 {r.id}", "en": f"Synthetic rule {r.id}"}}]}
        if r.asserts:
            then["signals"] = [r.asserts]
        docs.append({"id": r.id, "title": {"zh": f"合成规则 {r.id}", "en": f"Synthetic rule {r.id}"},
                     "domain": "generic", "subject": "client",
                     "provenance": {"document": "D0", "quote": "客户经理"}, "priority": r.priority,
                     "when": {"all": conds}, "then": then})
    return yaml.safe_dump({"pack": "bench", "description": {"zh": "合成基准规则", "en": "Synthetic benchmark rules"},
                           "rules": docs}, allow_unicode=True, sort_keys=False)


def signal_file(w: Workload) -> str:
    """The signals the rules assert, as a knowledge-base signal file."""
    declared = [{"id": s, "subject": "client", "title": {"zh": f"合成信号 {s}", "en": f"Synthetic {s}"},
                 "description": {"zh": "基准测试用", "en": "for the benchmark"}} for s in w.signals]
    return yaml.safe_dump({"signals": declared}, allow_unicode=True, sort_keys=False)


def facts(w: Workload, clients: tuple[dict[str, Any], ...] | None = None) -> dict[str, Any]:
    people = w.clients if clients is None else clients
    ids = {c["manager_id"] for c in people}
    return {"as_of": AS_OF, "clients": [dict(c) for c in people],
            "managers": [m for m in managers(w) if m["id"] in ids]}


# ---------------------------------------------------------------- reference evaluators

Firings = set[tuple[str, str]]


def python_firings(w: Workload, clients: tuple[dict[str, Any], ...] | None = None) -> Firings:
    """Plain Python, stratum by stratum (rules are listed by stratum)."""
    compiled = [(r, [(t.field, _OPS[t.op], t.value) for t in r.tests]) for r in w.rules]
    out: Firings = set()
    for c in w.clients if clients is None else clients:
        held: set[str] = set()
        for r, tests in compiled:
            if (all(fn(c[f], v) for f, fn, v in tests) and all(s in held for s in r.requires)
                    and not any(s in held for s in r.forbids)):
                out.add((r.id, c["id"]))
                if r.asserts:
                    held.add(r.asserts)
    return out


def frame(w: Workload) -> pd.DataFrame:
    return pd.DataFrame(list(w.clients)).set_index("id")


def mask_firings(w: Workload, table: pd.DataFrame) -> dict[str, Any]:
    """The pandas lower bound: each rule a boolean mask (numpy arrays), signals the OR of their producers."""
    cols = {name: table[name].to_numpy() for name in _all_fields()}
    n = len(table)
    signals: dict[str, Any] = {}
    fired: dict[str, Any] = {}
    for r in w.rules:
        mask = _true(n)
        for t in r.tests:
            mask &= _OPS[t.op](cols[t.field], t.value)
        for s in r.requires:
            mask &= signals.get(s, _false(n))
        for s in r.forbids:
            mask &= ~signals.get(s, _false(n))
        fired[r.id] = mask
        if r.asserts:
            signals[r.asserts] = signals.get(r.asserts, _false(n)) | mask
    return fired


def masks_to_firings(fired: dict[str, Any], table: pd.DataFrame) -> Firings:
    ids = table.index.to_numpy()
    return {(rid, str(cid)) for rid, mask in fired.items() for cid in ids[mask]}


def _true(n: int) -> Any:
    import numpy as np

    return np.ones(n, dtype=bool)


def _false(n: int) -> Any:
    import numpy as np

    return np.zeros(n, dtype=bool)


# ---------------------------------------------------------------- CLIPS

def clips_constructs(w: Workload) -> str:
    """The workload as CLIPS constructs: one template per fact kind, one ``defrule`` per rule."""
    slots = " ".join(f"(slot {f})" for f in ["id", *_all_fields()])
    lines = [f"(deftemplate client {slots})", "(deftemplate sig (slot name) (slot subject))",
             "(deftemplate fired (slot rule) (slot subject))"]
    for r in w.rules:
        tests = " ".join(_clips_slot(t, i) for i, t in enumerate(r.tests))
        patterns = [f"(client (id ?id) {tests})"]
        patterns += [f"(sig (name {s}) (subject ?id))" for s in r.requires]
        patterns += [f"(not (sig (name {s}) (subject ?id)))" for s in r.forbids]
        actions = [f"(assert (fired (rule {r.id}) (subject ?id)))"]
        if r.asserts:
            actions.append(f"(assert (sig (name {r.asserts}) (subject ?id)))")
        lines.append(f"(defrule {r.id} (declare (salience {-r.stratum})) {' '.join(patterns)} => {' '.join(actions)})")
    return "\n".join(lines)


def _clips_slot(t: Test, i: int) -> str:
    var = f"?v{i}"
    if t.field in INTEGERS:
        return f"({t.field} {var}&:({_CLIPS_OPS[t.op]} {var} {t.value}))"
    value = _clips_value(t.value)
    return f"({t.field} {value})" if t.op == "eq" else f"({t.field} ~{value})"


def _clips_value(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v)


def clips_fact(c: dict[str, Any]) -> str:
    return "(client " + " ".join(f"({k} {_clips_value(c[k])})" for k in ["id", *_all_fields()]) + ")"
