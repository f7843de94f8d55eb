"""Coaching cards: every coaching item measured, compared with the team, and given a next step.

A card is made for each coaching recommendation whose topic has a ``card`` in the coaching
catalogue, after the coaching from clients is merged in and before the contact policies run:

* **metric**: the manager field the topic's behaviour is measured by, and the manager's value;
* **benchmark**: the value against the team, the managers of the same domain. From a
  ``team_benchmark`` fact when one is posted for the domain and metric (the batch posts the
  portfolio's: basis ``portfolio``; a caller's: basis ``given``), else computed from the managers
  posted with the decision (basis ``posted``); none when fewer than two managers have a value;
* **diagnosis**: the metric, where it stands, and what found it (the titles of the rules behind it);
* **next behaviour**: the topic's one concrete behaviour, to keep, start or stop;
* **evidence**: the values the rules matched, the related facts they joined, the clients waiting;
* **review**: the metric measured again ``review_days`` after the decision (``$coaching_review_days``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rm_advisor.engine.derivation.benchmarks import benchmark_id, team_benchmarks
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.inference.from_clients import TRACE_PREFIX, waiting_actions
from rm_advisor.engine.language.decision import (
    Benchmark,
    CardMetric,
    CoachingCard,
    Evidence,
    NextBehaviour,
    Recommendation,
    Review,
    SubjectDecision,
)
from rm_advisor.engine.language.facts import Fact, FactSet
from rm_advisor.engine.language.knowledge import CardSpec, FieldSpec, KnowledgeBase, Text, resolve_count
from rm_advisor.engine.language.values import shift

Standing = Literal["behind", "level", "ahead"]
_DOMAINS = {"bank": Text(zh="银行", en="bank"), "tobacco": Text(zh="烟草", en="tobacco"),
            "telecom": Text(zh="电信", en="telecom")}
_BASIS = {"portfolio": Text(zh="按全组合计算(批处理)", en="of the whole portfolio (computed by the batch)"),
          "given": Text(zh="由输入事实提供", en="given in the facts"),
          "posted": Text(zh="由本次提交的客户经理计算", en="computed from the managers posted")}
_STANDING = {"behind": Text(zh="落后于团队", en="behind the team"),
             "level": Text(zh="与团队持平", en="level with the team"),
             "ahead": Text(zh="领先于团队", en="ahead of the team")}
_FORMS = {"keep": Text(zh="保持", en="Keep"), "start": Text(zh="开始", en="Start"), "stop": Text(zh="停止", en="Stop")}
#: how a unit reads after a number (none: a plain count)
_UNITS = {"day": Text(zh="天", en=" days"), "percent": Text(zh="%", en="%"), "point": Text(zh="分", en=" points"),
          "score": Text(zh="分", en=" points"), "month": Text(zh="个月", en=" months"),
          "pack": Text(zh="包", en=" packs"), "RMB": Text(zh="元", en=" RMB")}
_TYPES = {"client": Text(zh="客户", en="client"), "manager": Text(zh="客户经理", en="manager"),
          "interaction": Text(zh="往来记录", en="interaction")}
Lang = Literal["zh", "en"]


def form_title(form: str) -> Text:
    """Keep, Start or Stop as people read it."""
    return _FORMS[form]


def with_cards(book: RuleBook, facts: FactSet, clients: Sequence[SubjectDecision],
               managers: Sequence[SubjectDecision]) -> list[SubjectDecision]:
    """``managers`` with a coaching card on every coaching recommendation whose topic has one."""
    kb = book.kb
    if not any(t.card for t in kb.coaching.values()):
        return list(managers)
    given = {str(b["id"]): b for b in facts.subjects("team_benchmark")}
    posted = {str(b["id"]): b for b in team_benchmarks(facts.subjects("manager"), kb, "posted")}
    decided = {c.id: c for c in clients}
    out = []
    for manager in managers:
        if not any(r.kind == "coaching" and r.card is None for r in manager.recommendations):
            out.append(manager)  # nothing to add a card to
            continue
        fact = facts.get("manager", manager.id) or {}
        recs = [r.model_copy(update={"card": _card(kb, r, fact, given, posted, decided, facts.as_of)})
                if r.kind == "coaching" and r.card is None else r for r in manager.recommendations]
        out.append(manager.model_copy(update={"recommendations": recs}))
    return out


def _card(kb: KnowledgeBase, rec: Recommendation, manager: Fact, given: Mapping[str, Fact],
          posted: Mapping[str, Fact], decided: Mapping[str, SubjectDecision], as_of: dt.date) -> CoachingCard | None:
    topic = kb.coaching.get(rec.id)
    spec = topic.card if topic is not None else None
    field = kb.facts["manager"].fields.get(spec.metric) if spec is not None else None
    if spec is None or field is None:
        return None
    value = _plain(manager.get(spec.metric))
    metric = CardMetric(field=f"manager.{spec.metric}", title=field.description, value=value, unit=field.unit,
                        better=spec.better, target=spec.target)
    domain = str(manager.get("domain", ""))
    key = benchmark_id(domain, spec.metric, spec.target)
    found = given.get(key)
    basis: Literal["portfolio", "given", "posted"] = (
        ("portfolio" if found.get("source") == "portfolio" else "given") if found is not None else "posted")
    record = found if found is not None else posted.get(key)
    benchmark = _benchmark(spec, field, value, domain, basis, record) if record is not None else None
    days = resolve_count(spec.review_days, kb)
    return CoachingCard(metric=metric, benchmark=benchmark, diagnosis=_diagnosis(rec, field, spec, value, benchmark),
                        next_behaviour=NextBehaviour(form=spec.behaviour.form, text=spec.behaviour.text),
                        evidence=_evidence(kb, rec, decided, spec), review=_review(rec, metric, field, as_of, days))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _benchmark(spec: CardSpec, field: FieldSpec, value: Any, domain: str,
               basis: Literal["portfolio", "given", "posted"], record: Fact) -> Benchmark:
    team = _DOMAINS.get(domain, Text(zh=domain, en=domain))
    n = int(record["managers"])
    how = _BASIS[basis]
    if spec.target is None:
        median, mean = float(record.get("median", 0.0)), float(record.get("mean", 0.0))
        standing = _numeric_standing(value, median, spec.better)
        zh = (f"团队中位数{_num(median, field, 'zh')}(均值{_num(mean, field, 'zh')}),"
              f"{team.zh}客户经理{n}人,{how.zh}")
        en = (f"team median {_num(median, field, 'en')} (mean {_num(mean, field, 'en')}) over {n} {team.en} "
              f"managers, {how.en}")
        return Benchmark(basis=basis, domain=domain, managers=n, median=median, mean=mean, standing=standing,
                         text=_with_standing(Text(zh=zh, en=en), standing))
    share = float(record.get("share_pct", 0.0))
    standing = _target_standing(value, spec.target, share)
    text = Text(zh=f"{team.zh}客户经理{n}人中{share:g}%达到目标,{how.zh}",
                en=f"{share:g}% of {n} {team.en} managers are at the target, {how.en}")
    return Benchmark(basis=basis, domain=domain, managers=n, share_pct=share, standing=standing,
                     text=_with_standing(text, standing))


def _numeric_standing(value: Any, median: float, better: str | None) -> Standing | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or better is None:
        return None
    if value == median:
        return "level"
    return "ahead" if (value < median) == (better == "lower") else "behind"


def _target_standing(value: Any, target: bool | str, share: float) -> Standing | None:
    """At the target while most of the team is not: ahead; off it while most are on it: behind."""
    if value is None:
        return None
    if value == target:
        return "ahead" if share < 50 else "level"
    return "behind" if share >= 50 else "level"


def _with_standing(text: Text, standing: Standing | None) -> Text:
    if standing is None:
        return Text(zh=f"{text.zh};本人数值未知", en=f"{text.en}; this manager's value is unknown")
    return Text(zh=f"{text.zh};本人{_STANDING[standing].zh}", en=f"{text.en}; this manager is {_STANDING[standing].en}")


def _num(value: float, field: FieldSpec, lang: Lang) -> str:
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
    unit = _UNITS.get(field.unit or "")
    return shown + (getattr(unit, lang) if unit else "")


def value_text(value: Any, field: FieldSpec, target: bool | str | None, lang: Lang) -> str:
    """A metric's value as people read it: a number with its unit, yes or no, at the target or not."""
    if value is None:
        return "未知" if lang == "zh" else "unknown"
    if isinstance(value, bool) and target is None:
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if target is not None:
        if isinstance(value, bool):
            yes = ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
            goal = ("是" if target else "否") if lang == "zh" else ("yes" if target else "no")
            return f"{yes}(目标:{goal})" if lang == "zh" else f"{yes} (target: {goal})"
        if lang == "zh":
            return "达到目标" if value == target else "未达到目标"
        return "at the target" if value == target else "not at the target"
    if isinstance(value, (int, float)):
        return _num(float(value), field, lang)
    return str(value).replace("_", " ")  # an enum value as the schema spells it (too_direct: too direct)


def _diagnosis(rec: Recommendation, field: FieldSpec, spec: CardSpec, value: Any,
               benchmark: Benchmark | None) -> Text:
    """The metric, where it stands, and what found it (the rules' titles: no name or other
    sensitive value, so the card needs no masking in the decision log)."""
    found = list(dict.fromkeys(t.title.zh for t in rec.because)), list(dict.fromkeys(t.title.en for t in rec.because))
    bench_zh = (f";{benchmark.text.zh}" if benchmark is not None
                else ";没有可比的团队基准(同行业有数值的客户经理不足两人)")
    bench_en = (f"; {benchmark.text.en}" if benchmark is not None
                else "; no team benchmark (fewer than two managers of the domain have a value)")
    return Text(zh=f"{field.description.zh}:{value_text(value, field, spec.target, 'zh')}{bench_zh}。"
                   f"依据:{'、'.join(found[0])}",
                en=f"{field.description.en}: {value_text(value, field, spec.target, 'en')}{bench_en}. "
                   f"Found by: {'; '.join(found[1])}")


def _evidence(kb: KnowledgeBase, rec: Recommendation, decided: Mapping[str, SubjectDecision],
              card: CardSpec) -> list[Evidence]:
    out: dict[str, Evidence] = {}
    for trace in rec.because:
        entry = kb.coaching_from_clients.get(trace.rule_id.removeprefix(TRACE_PREFIX)) \
            if trace.rule_id.startswith(TRACE_PREFIX) else None
        if entry is not None:
            for key in trace.related.get("client", []):
                client = decided.get(key.partition(":")[2])
                actions = waiting_actions(entry, client) if client is not None else ()
                zh = "、".join(f"{a.title.zh}({a.score}分)" for a in actions)
                en = "; ".join(f"{a.title.en} (score {a.score})" for a in actions)
                out.setdefault(key, Evidence(fact=key, value=[a.id for a in actions], rule_id=trace.rule_id,
                                             text=Text(zh=f"客户 {key.partition(':')[2]} 等待:{zh}",
                                                       en=f"client {key.partition(':')[2]} waits on: {en}")))
            continue
        for ref, value in trace.matched.items():
            fact_type, _, name = ref.partition(".")
            schema = kb.facts.get(fact_type)
            spec = schema.fields.get(name) if schema is not None else None
            if spec is None or spec.sensitive or name == "domain" or ref in out:
                continue  # a name stays out of the card; the domain only scoped the rule
            target = card.target if ref == f"manager.{card.metric}" else None  # the metric reads against its target
            out[ref] = Evidence(fact=ref, value=value, rule_id=trace.rule_id,
                                text=Text(zh=f"{spec.description.zh}:{value_text(value, spec, target, 'zh')}",
                                          en=f"{spec.description.en}: {value_text(value, spec, target, 'en')}"))
        for fact_type, keys in trace.related.items():
            kind = _TYPES.get(fact_type, Text(zh=fact_type, en=fact_type))
            for key in keys:
                ident = key.partition(":")[2] or key
                name = f"{fact_type}:{ident}"
                out.setdefault(name, Evidence(fact=name, rule_id=trace.rule_id,
                                              text=Text(zh=f"相关{kind.zh} {ident}", en=f"related {kind.en} {ident}")))
    return list(out.values())


def _review(rec: Recommendation, metric: CardMetric, field: FieldSpec, as_of: dt.date, days: int) -> Review:
    day = shift(as_of, days)
    zh = f"{day.isoformat()}(本次决策后{days}天)再次衡量:{field.description.zh}"
    en = f"Measure again on {day.isoformat()} ({days} days after this decision): {field.description.en}"
    waiting = [t for t in rec.because if t.rule_id.startswith(TRACE_PREFIX)]
    if waiting:
        count, top = waiting[0].matched.get("clients.count"), waiting[0].matched.get("clients.top")
        zh += f";并重新清点等待中的客户(目前{top}户中有{count}户)"
        en += f"; and count again the clients waiting (now {count} of {top})"
    return Review(metric=metric.field, date=day, days=days, text=Text(zh=zh, en=en))
