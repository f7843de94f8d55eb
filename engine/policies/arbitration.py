"""Arbitration as data: how the recommended actions of a client are ranked (``rules/arbitration.yaml``).

Each action recommended to a client gets a priority, the product of four factors, each raised to
the weight the file gives it (Pega's P·C·V·L)::

    priority = context^w_context × value^w_value × levers^w_levers × propensity^w_propensity

* ``context`` — the recommendation's score (the highest priority of the rules behind it) / 100:
  what the rules say the facts of this client call for;
* ``value`` and ``levers`` — the business value of the action and the levers the business pulls on
  it (a campaign, a quota), from the file's ``items`` (per action, or per action kind; an action's
  own entry wins over its kind's); 1 when the file says nothing;
* ``propensity`` — how much more (or less) often managers accept this action in this segment than
  its rules' priority predicts: the posterior acceptance rate over the prior one
  (:mod:`engine.policies.propensity`); 1 without evidence enough, or without a decision log.

Recommendations are ordered by priority, then score, then number of supporting rules, then id. With
no items and no propensities every factor but ``context`` is 1, so the order is the order of the
scores: today's ranking, and the decision is left exactly as it was (no ``ranking`` on it).

Risk and obligation actions (duties) are never ranked lower than their context alone would put
them: the checker refuses a value or levers below 1 on a duty (``arbitration_lowers_duty``) and a
propensity below the prior does not lower a duty. Vetoed actions stay vetoed: ranking orders what
is recommended only. Coaching topics are ranked by score, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rm_advisor.engine.errors import Diagnostic, suggest
from rm_advisor.engine.language.knowledge import DUTY_KINDS, ID_PATTERN, ActionKind, KnowledgeBase, Text
from rm_advisor.engine.language.rules import file_json_schema
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import ParsedYaml, parse_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Strict):
    """The exponents of the formula's factors (0 leaves a factor out)."""

    context: float = Field(default=1.0, ge=0, le=10, description="weight of the rules' score / 100")
    value: float = Field(default=1.0, ge=0, le=10, description="weight of the action's business value")
    levers: float = Field(default=1.0, ge=0, le=10, description="weight of the business levers on the action")
    propensity: float = Field(default=1.0, ge=0, le=10, description="weight of the learned acceptance lift")


class ItemValue(_Strict):
    """The business value and levers of one action, or of every action of one kind."""

    action: str | None = Field(default=None, pattern=ID_PATTERN, description="an action of the catalogue")
    kind: ActionKind | None = Field(default=None, description="every action of this kind (risk, obligation, "
                                                              "service, sales)")
    value: float = Field(default=1.0, gt=0, le=100, description="business value, 1 = neutral")
    levers: float = Field(default=1.0, gt=0, le=100, description="business levers, 1 = neutral")
    note: Text | None = Field(default=None, description="why, shown in the explanation")

    @model_validator(mode="after")
    def _one_target(self) -> ItemValue:
        if (self.action is None) == (self.kind is None):
            raise ValueError("give exactly one of `action` and `kind`")
        return self


class PropensitySettings(_Strict):
    """How acceptance learned from the decision log moves the ranking."""

    enabled: bool = Field(default=False, description="learn propensities from the decision log (decide, the API "
                                                     "and logged batches)")
    window_days: int = Field(default=90, ge=1, le=3650, description="feedback on decisions of this many days before "
                                                                    "the decision's date counts")
    half_life_days: float = Field(default=30.0, gt=0, le=3650, description="evidence this many days old weighs half")
    prior_strength: float = Field(default=10.0, gt=0, le=10_000, description=(
        "the prior counts as this many decided recommendations at the acceptance rate the rule's priority "
        "predicts (priority / 100)"))
    min_decided: int = Field(default=20, ge=1, description="decided recommendations needed before a propensity "
                                                           "moves a rank")
    by_manager: bool = Field(default=False, description="also learn per manager (used where that manager has "
                                                        "min_decided of the action in the segment)")
    explore: bool = Field(default=False, description="Thompson sampling: draw the propensity from its posterior, "
                                                     "seeded from the decision, instead of taking its mean")


class ArbitrationFile(_Strict):
    """An arbitration file: ``rules/arbitration.yaml``."""

    weights: Weights = Field(default_factory=Weights)
    items: tuple[ItemValue, ...] = ()
    propensity: PropensitySettings = Field(default_factory=PropensitySettings)


def arbitration_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of an arbitration file, for editors (committed as ``rules/arbitration.schema.json``)."""
    return file_json_schema(ArbitrationFile, "arbitration.schema.json", "rm-advisor arbitration file")


@dataclass(frozen=True)
class Arbitration:
    """The checked arbitration of a rule set: the weights, the values and levers by action and by
    kind, and the propensity settings. The default (no file) ranks by score."""

    weights: Weights = field(default_factory=Weights)
    by_action: tuple[tuple[str, ItemValue], ...] = ()
    by_kind: tuple[tuple[str, ItemValue], ...] = ()
    propensity: PropensitySettings = field(default_factory=PropensitySettings)

    @property
    def static(self) -> bool:
        """No values or levers: without propensities, the ranking is by score."""
        return not self.by_action and not self.by_kind

    def value_of(self, action: str, kind: str) -> ItemValue | None:
        """The entry that sets the action's value and levers: its own, else its kind's, else none."""
        return dict(self.by_action).get(action) or dict(self.by_kind).get(kind)


def check_arbitration_files(files: dict[str, str], kb: KnowledgeBase) -> tuple[Arbitration | None, list[Diagnostic]]:
    """Parse and check arbitration files (name -> YAML text; usually one) against the knowledge base."""
    diags: list[Diagnostic] = []
    weights, settings = Weights(), PropensitySettings()
    by_action: dict[str, ItemValue] = {}
    by_kind: dict[str, ItemValue] = {}
    settled: str | None = None  # the file that set the weights and propensity settings
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.unreadable:
            continue
        doc, errs = validate_document(ArbitrationFile, parsed)
        diags.extend(errs)
        raw = parsed.data if isinstance(parsed.data, dict) else {}
        if doc is None:  # still check the entries that are well formed
            for i, item in _well_formed(raw.get("items")):
                diags.extend(_check_item(item, parsed, ("items", i), kb, by_action, by_kind))
            continue
        for key in ("weights", "propensity"):
            if key in raw and settled is not None and settled != name:
                diags.append(Diagnostic("duplicate_arbitration_entry", f"`{key}` is set in {settled} already",
                                        parsed.locate((key,)), hint="set the weights and the propensity settings in "
                                                                    "one arbitration file"))
            elif key in raw:
                settled = name
        if "weights" in raw:
            weights = doc.weights
        if "propensity" in raw:
            settings = doc.propensity
        for i, item in enumerate(doc.items):
            diags.extend(_check_item(item, parsed, ("items", i), kb, by_action, by_kind))
    if any(d.severity == "error" for d in diags):
        return None, sorted(diags, key=Diagnostic.sort_key)
    return Arbitration(weights, tuple(sorted(by_action.items())), tuple(sorted(by_kind.items())), settings), diags


def _well_formed(items: Any) -> list[tuple[int, ItemValue]]:
    out = []
    for i, raw in enumerate(items if isinstance(items, list) else []):
        try:
            out.append((i, ItemValue.model_validate(raw)))
        except ValidationError:
            continue  # reported by the whole-file validation
    return out


def _check_item(item: ItemValue, parsed: ParsedYaml, at: tuple[Any, ...], kb: KnowledgeBase,
                by_action: dict[str, ItemValue], by_kind: dict[str, ItemValue]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    key = item.action or item.kind or ""
    target, seen = ("action", by_action) if item.action is not None else ("kind", by_kind)
    if item.action is not None and item.action not in kb.actions:
        return [Diagnostic("unknown_action", f"unknown action `{item.action}`", parsed.locate((*at, "action")),
                           hint=suggest(item.action, kb.actions))]
    if key in seen:
        out.append(Diagnostic("duplicate_arbitration_entry", f"{target} `{key}` has two entries",
                              parsed.locate((*at, target)), hint="give each action and each kind one entry"))
    seen[key] = item
    kind = kb.actions[item.action].kind if item.action is not None else item.kind
    if kind in DUTY_KINDS:
        for name in ("value", "levers"):
            if getattr(item, name) < 1:
                out.append(Diagnostic(
                    "arbitration_lowers_duty", f"{target} `{key}` is a {kind} duty: its {name} may not be below 1",
                    parsed.locate((*at, name)),
                    hint="risk and obligation actions are never ranked below what their rules call for"))
    return out
