"""A deterministic, realistic sample portfolio: managers, clients and 90 days of history.

``generate(clients=2000, managers=40, seed=7)`` always returns the same three tables for the same
arguments. The mix follows the domain documents: tobacco retailers (ABC inputs, network ordering,
weekly orders, stock checks, complaints, new-brand launch), bank clients (corporate owners,
overdue loans, unpaid interest, collateral, designated accounts and credit-file checks) and a few
telecom group clients (members, monthly bills, agreement expiry); managers with grades,
capacities, plans, inspections and market reports.

The rates that decide what a manager sees most (how many clients are credit red flags, trusted, behind
on a visit) are :class:`Rates`, each with the reason for its value: plausible settings for one real
branch, not figures from the documents (README.md, "Portfolio batch runs", lists them). The other
mixes (grades, scales, tiers) are spread evenly enough not to drive any one action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

Column = np.ndarray[Any, Any] | list[str]  # one generated column, a value per row
Generated = Callable[[int, np.ndarray[Any, Any]], np.ndarray[Any, Any]]  # (rows, days ago of each) -> column

AS_OF = dt.date(2026, 11, 23)
DOMAIN_SHARE = {"tobacco": 0.55, "bank": 0.35, "telecom": 0.10}
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
_SHOP = {"tobacco": (list("城东西南北新老金福兴顺旺佳康安"), ["便民店", "烟酒行", "小卖部", "超市", "商店", "烟酒店"]),
         "bank": (list("恒达绿源华宏远盛鑫隆泰丰"), ["机械有限公司", "农业合作社", "贸易公司", "建材厂", "食品公司"]),
         "telecom": (list("市县区一二三中心"), ["人民医院", "第一中学", "税务局", "物流园", "制造集团"])}


def _rate(value: float, why: str) -> Any:
    return field(default=value, metadata={"why": why})


@dataclass(frozen=True)
class Rates:
    """The shares of clients (or of their events) with each condition, as in one real branch.
    Every field says why it has its value (``metadata["why"]``, listed by :func:`rates_table`)."""

    # all domains
    prospect: float = _rate(0.10, "a branch keeps working a tenth of its book as prospects")
    lapsed: float = _rate(0.05, "a few clients a year stop doing business; the rest are active")
    trust_recorded: float = _rate(0.45, "trust is a judgement many CRM files leave blank: fewer than half carry it")
    trust_established: float = _rate(0.5, "of the clients judged, half are trusted; the others need care first")
    referrals_recorded: float = _rate(0.5, "referrals are counted on half the files; the rest leave it blank")
    complaints_per_client: float = _rate(0.1, "about one client in ten complains in a quarter (Poisson mean)")
    complaint_open: float = _rate(0.25, "a quarter of complaints are still open on the day of the run")
    # tobacco
    network_ordering: float = _rate(0.94, "network ordering covers nearly every licensed retailer")
    e_settlement_none: float = _rate(0.04, "e-settlement is the norm; a few retailers have not signed up")
    e_settlement_low_awareness: float = _rate(0.08, "some signed up but barely use it")
    registration_card_stale: float = _rate(0.12, "cards are reviewed twice a year; about one in eight is behind")
    orders_declining: float = _rate(0.12, "one retailer in eight orders clearly less than in the weeks before")
    weak_self_promotion: float = _rate(0.2, "a fifth of retailers do not recommend products to their customers")
    counterfeit_awareness_weak: float = _rate(0.12, "mostly new or off-channel retailers cannot tell fakes well")
    law_compliance_poor: float = _rate(0.03, "licence or conduct problems are rare among active retailers")
    hard_to_reach: float = _rate(0.06, "a few retailers are often shut or away when the phone-order clerk calls")
    unreachable_call: float = _rate(0.4, "such a retailer misses about two calls in five; the others almost none")
    # bank
    multi_bank_credit: float = _rate(0.025, "prominent multi-bank or off-site credit: a few corporate borrowers")
    credit_bad_record: float = _rate(0.015, "a bad national credit record is rare among clients a bank keeps")
    integrity_termination: float = _rate(0.005, "cooperation ended for integrity in 5 years: very rare on the books")
    overdue_loan: float = _rate(0.03, "borrowers with a loan overdue: a few percent (NPL ratios are near 2%)")
    interest_unpaid: float = _rate(0.03, "interest receivable unpaid at the run: as rare as overdue loans")
    loan_near_limitation: float = _rate(0.004, "a few loans fell due nearly three years ago and are still open")
    collateral_uninsured: float = _rate(0.06, "most collateral is insured at drawdown; a few policies lapse")
    # links between clients (the links table)
    guarantor: float = _rate(0.08, "county lending to small firms often rests on another client's guarantee: about "
                                   "one bank client in twelve guarantees another")
    guarantee_chain: float = _rate(0.3, "a guaranteed firm often guarantees a third in turn: the guarantee chains "
                                        "the documents warn of")
    overdue_guaranteed: float = _rate(0.5, "about half the overdue loans were lent against another client's "
                                           "guarantee")
    bank_group_member: float = _rate(0.06, "a few corporate borrowers are members of a group the bank also lends to "
                                           "(three members a group)")
    group_multi_bank: float = _rate(0.3, "groups borrow from several banks: three groups in ten are the multi-bank "
                                         "borrowers")
    related_company: float = _rate(0.03, "related companies beyond groups and guarantees: a few")
    same_owner_shop: float = _rate(0.04, "an owner with two licensed shops: about one retailer in 25")
    off_channel_second_shop: float = _rate(0.3, "an owner often keeps an outlet outside the official channel beside "
                                                "a licensed shop: three in ten such outlets share an owner")
    telecom_group_member: float = _rate(0.15, "branch units (a hospital's clinics, a school's campuses) sign as "
                                              "members of a group account")
    # telecom
    groups_paying_individually: float = _rate(0.4, "in 4 groups of 10 some members still pay their own bills")
    bill_unpaid: float = _rate(0.06, "monthly group bills unpaid on their due date")


RATES = Rates()


def rates_table(rates: Rates = RATES) -> list[tuple[str, float, str]]:
    """Each rate of ``rates`` as (name, value, why it has that value), in the order of the class."""
    return [(f.name, getattr(rates, f.name), f.metadata["why"]) for f in fields(rates)]


@dataclass(frozen=True)
class Portfolio:
    clients: pd.DataFrame
    managers: pd.DataFrame
    history: pd.DataFrame
    as_of: dt.date
    links: pd.DataFrame = field(default_factory=pd.DataFrame)  # links between clients (``link`` facts)


def generate(clients: int = 2000, managers: int = 40, days: int = 90, seed: int = 7,
             as_of: dt.date = AS_OF, rates: Rates = RATES) -> Portfolio:
    """The sample portfolio: same arguments, same tables. Every domain has a manager, so at least
    three managers are needed; ``rates`` are the shares of clients with each condition."""
    if managers < len(DOMAIN_SHARE):
        raise ValueError(f"the sample portfolio needs at least {len(DOMAIN_SHARE)} managers (one per domain), "
                         f"got {managers}")
    rng = np.random.default_rng(seed)
    mgr = _managers(rng, managers)
    cli = _clients(rng, clients, mgr, rates)
    hist = _history(rng, cli, mgr, days, as_of, rates)
    # from a child generator: the links leave the other tables as they were before there were links
    links = _links(rng.spawn(1)[0], cli, hist, as_of, rates)
    return Portfolio(cli, mgr, hist, as_of, links)


def _pick(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None) -> np.ndarray:
    return rng.choice(np.array(values, dtype=object), size=n, p=p)


def _names(rng: np.random.Generator, n: int) -> list[str]:
    s = _pick(rng, _SURNAMES, n)
    g1, g2 = _pick(rng, _GIVEN, n), _pick(rng, _GIVEN, n)
    return [a + b + (c if i % 2 else "") for i, (a, b, c) in enumerate(zip(s, g1, g2, strict=False))]


def _managers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    counts = {d: max(1, round(n * share)) for d, share in DOMAIN_SHARE.items()}
    counts["tobacco"] += n - sum(counts.values())
    domains = [d for d, c in counts.items() for _ in range(c)]
    prefix = {"tobacco": "MT", "bank": "MB", "telecom": "MC"}
    seq = {d: 0 for d in counts}
    ids = []
    for d in domains:
        seq[d] += 1
        ids.append(f"{prefix[d]}{seq[d]:03d}")
    m = len(domains)
    df = pd.DataFrame({
        "id": ids, "name": _names(rng, m), "domain": domains,
        "grade": _pick(rng, ["trainee", "junior", "intermediate", "senior", "chief"], m, [.1, .35, .3, .2, .05]),
        "tenure_months": rng.integers(2, 120, m),
        "capacity_visits_week": rng.choice([15, 20, 25, 30], m),
        "capacity_calls_week": rng.choice([40, 50, 60], m),
        "diary_quality": _pick(rng, ["perfunctory", "adequate", "good"], m, [.25, .5, .25]),
        "crm_proficiency": _pick(rng, ["low", "adequate", "high"], m, [.2, .6, .2]),
        "negotiation_win_pct": rng.integers(20, 80, m),
        "client_satisfaction_avg": rng.integers(55, 95, m),
    })
    tob = df["domain"] == "tobacco"
    df.loc[tob, "new_brand_on_shelf_pct"] = rng.integers(20, 90, int(tob.sum()))
    bank = df["domain"] == "bank"
    df.loc[bank, "reads_statements"] = rng.random(int(bank.sum())) < 0.7
    # the measure of group-payment and solution coaching cards; drawn from a child generator, so
    # every other column (and the clients and history after them) stays as it was
    tel = df["domain"] == "telecom"
    df.loc[tel, "solution_proposals_90d"] = rng.spawn(1)[0].integers(0, 6, int(tel.sum()))
    return df


def _clients(rng: np.random.Generator, n: int, mgr: pd.DataFrame, rates: Rates) -> pd.DataFrame:
    domains = _pick(rng, list(DOMAIN_SHARE), n, list(DOMAIN_SHARE.values()))
    owners = np.empty(n, dtype=object)
    for d in DOMAIN_SHARE:
        pool = mgr.loc[mgr["domain"] == d, "id"].to_numpy()
        idx = np.flatnonzero(domains == d)
        owners[idx] = rng.choice(pool, size=len(idx))
    prefix = {"tobacco": "T", "bank": "B", "telecom": "G"}
    df = pd.DataFrame({"id": [f"{prefix[d]}{i:06d}" for i, d in enumerate(domains, 1)],
                       "manager_id": owners, "domain": domains})
    df["name"] = [_shop_name(rng, d) for d in domains]
    active = 1 - rates.prospect - rates.lapsed
    df["relationship"] = _pick(rng, ["active", "prospect", "lapsed"], n, [active, rates.prospect, rates.lapsed])
    df["trust_established"] = _sometimes(rng, rng.random(n) < rates.trust_established, rates.trust_recorded)
    df["referrals_given"] = _sometimes(rng, rng.poisson(0.6, n), rates.referrals_recorded)
    # surveyed satisfaction centres in the mid 80s; a few percent score below 70
    df["satisfaction"] = np.clip(np.rint(rng.normal(84, 8, n)), 30, 100).astype(int)
    df["repeat_purchase"] = rng.random(n) < 0.7
    for d, fill in (("tobacco", _tobacco), ("bank", _bank), ("telecom", _telecom)):
        mask = df["domain"] == d
        for col, values in fill(rng, int(mask.sum()), rates).items():
            df.loc[mask, col] = values
    return df


def _sometimes(rng: np.random.Generator, values: np.ndarray[Any, Any], recorded: float) -> np.ndarray[Any, Any]:
    """``values`` where the CRM records the field (a share ``recorded`` of the rows), else missing."""
    return np.where(rng.random(len(values)) < recorded, values.astype(object), np.array(None, dtype=object))


def _shop_name(rng: np.random.Generator, domain: str) -> str:
    heads, tails = _SHOP[domain]
    return "".join(rng.choice(heads, 2)) + str(rng.choice(tails))


def _tobacco(rng: np.random.Generator, n: int, rates: Rates) -> dict[str, Column]:
    scale = _pick(rng, ["small", "medium", "large"], n, [.5, .35, .15])
    settled = 1 - rates.e_settlement_none - rates.e_settlement_low_awareness
    stale = rng.random(n) < rates.registration_card_stale
    return {
        "business_scale": scale,
        "business_ability": _pick(rng, ["weak", "medium", "strong"], n, [.25, .5, .25]),
        "credit_standing": _pick(rng, ["poor", "fair", "good"], n, [.1, .4, .5]),
        "social_relations": _pick(rng, ["weak", "medium", "strong"], n, [.3, .5, .2]),
        "is_key": rng.random(n) < 0.12,
        "network_client": rng.random(n) < rates.network_ordering,
        "in_visit_delivery_system": rng.random(n) < 0.96,
        "e_settlement": _pick(rng, ["none", "low_awareness", "active"], n,
                              [rates.e_settlement_none, rates.e_settlement_low_awareness, settled]),
        "counterfeit_awareness": _pick(rng, ["weak", "adequate"], n,
                                       [rates.counterfeit_awareness_weak, 1 - rates.counterfeit_awareness_weak]),
        "new_brand_in_launch": rng.random(n) < 0.4,
        "new_brand_stocked": rng.random(n) < 0.5,
        "new_brand_on_counter": rng.random(n) < 0.6,
        "weekly_plan": _pick(rng, ["agreed", "resisting", "none"], n, [.7, .1, .2]),
        "self_promotion_ability": _pick(rng, ["weak", "adequate"], n,
                                        [rates.weak_self_promotion, 1 - rates.weak_self_promotion]),
        "law_compliance": _pick(rng, ["good", "fair", "poor"], n,
                                [.85 - rates.law_compliance_poor, .15, rates.law_compliance_poor]),
        # the review is due after 180 days ($tobacco_registration_card_review_days)
        "registration_card_age_days": np.where(stale, rng.integers(181, 400, n), rng.integers(0, 181, n)),
    }


def _bank(rng: np.random.Generator, n: int, rates: Rates) -> dict[str, Column]:
    collateral = rng.random(n) < 0.6
    insured = rng.random(n) >= rates.collateral_uninsured / 0.6  # a share of all clients, among those with collateral
    return {
        "segment": _pick(rng, ["corporate", "retail", "public"], n, [.6, .3, .1]),
        "tier": _pick(rng, ["strategic", "major", "general"], n, [.05, .25, .7]),
        "owner_contact": rng.random(n) < 0.5,
        "retail_products_held": rng.integers(0, 4, n),
        "multi_bank_credit": rng.random(n) < rates.multi_bank_credit,
        "credit_bad_record": rng.random(n) < rates.credit_bad_record,
        "integrity_termination_5y": rng.random(n) < rates.integrity_termination,
        "has_collateral": collateral,
        "collateral_insured": np.where(collateral, insured, np.array(None, dtype=object)),
        "capital_strength": _pick(rng, ["weak", "medium", "strong"], n, [.2, .5, .3]),
        "pays_on_time": rng.random(n) < 0.93,
        "is_vip": rng.random(n) < 0.1,
        "new_need": rng.random(n) < 0.1,
        "new_need_reported": rng.random(n) < 0.5,
    }


def _telecom(rng: np.random.Generator, n: int, rates: Rates) -> dict[str, Column]:
    members = rng.integers(30, 2000, n)
    paying = rng.random(n) < rates.groups_paying_individually
    return {
        "tier": _pick(rng, ["strategic", "major", "general"], n, [.1, .3, .6]),
        "members_total": members,
        "members_individual_pay": np.where(paying, (members * rng.uniform(0.01, 0.3, n)).astype(int) + 1, 0),
        "unverified_members": np.where(rng.random(n) < 0.1, rng.integers(1, 30, n), 0),
        "payment_mode": _pick(rng, ["prepaid", "postpaid"], n, [.3, .7]),
        "agreement_expiry": [(AS_OF + dt.timedelta(days=int(d))).isoformat() for d in rng.integers(-30, 400, n)],
        "bundled_fixed_broadband": rng.random(n) < 0.5,
        "usage_rate_pct": rng.integers(10, 100, n),
        "sector": _pick(rng, ["government", "finance_services", "it_manufacturing", "public_utility"], n),
        "service_centre_assigned": rng.random(n) < 0.7,
    }


def _events(kind: str, clients: pd.DataFrame, counts: np.ndarray, rng: np.random.Generator, days: int,
            as_of: dt.date, **cols: str | Generated) -> pd.DataFrame:
    rows = np.repeat(np.arange(len(clients)), counts)
    ago = rng.integers(0, days, len(rows))
    dates = pd.Timestamp(as_of) - pd.to_timedelta(ago, unit="D")
    out = pd.DataFrame({"client_id": clients["id"].to_numpy()[rows],
                        "manager_id": clients["manager_id"].to_numpy()[rows], "kind": kind, "date": dates})
    for name, value in cols.items():
        out[name] = value(len(rows), ago) if callable(value) else value
    return out


def _history(rng: np.random.Generator, cli: pd.DataFrame, mgr: pd.DataFrame, days: int,
             as_of: dt.date, rates: Rates) -> pd.DataFrame:
    parts = []
    n = len(cli)
    tob, bank, tel = (cli[cli["domain"] == d].reset_index(drop=True) for d in ("tobacco", "bank", "telecom"))
    parts.append(_events("visit", cli, rng.poisson(days / 14, n), rng, days, as_of, status="done"))
    # tobacco: weekly orders; some retailers are ordering less lately
    weekly = rng.integers(10, 120, len(tob))
    declining = rng.random(len(tob)) < rates.orders_declining
    orders = _events("order", tob, np.where(tob["network_client"], days // 7, days // 14), rng, days, as_of,
                     status="done", new_brand=lambda k, ago: rng.random(k) < 0.1)
    # one order per ordering cycle (weekly for network clients), on a steady weekday
    step = np.repeat(np.where(tob["network_client"], 7, 14), np.where(tob["network_client"], days // 7, days // 14))
    cycle = orders.groupby("client_id").cumcount().to_numpy()
    offset = np.repeat(rng.integers(0, 7, len(tob)), np.where(tob["network_client"], days // 7, days // 14))
    orders["date"] = pd.Timestamp(as_of) - pd.to_timedelta(cycle * step + offset, unit="D")
    base = np.repeat(weekly, np.where(tob["network_client"], days // 7, days // 14))
    drop = np.repeat(declining, np.where(tob["network_client"], days // 7, days // 14))
    ago = (pd.Timestamp(as_of) - orders["date"]).dt.days.to_numpy()
    orders["quantity"] = np.maximum(1, (base * np.where(drop & (ago < 28), 0.5, 1.0)
                                        * rng.uniform(0.8, 1.2, len(orders))).astype(int))
    parts.append(orders)
    stock = _events("stock_check", tob, np.ones(len(tob), dtype=int), rng, 30, as_of, status="done")
    stock["quantity"] = rng.integers(50, 600, len(stock))
    stock["slow_quantity"] = (stock["quantity"] * np.where(rng.random(len(stock)) < 0.25,
                                                           rng.uniform(0.05, 0.4, len(stock)), 0)).astype(int)
    parts.append(stock)
    # the phone-order clerk's call before each network order; hard-to-reach retailers miss many (order_call)
    calls = _events("order_call", tob, np.where(tob["network_client"], days // 7, 0), rng, days, as_of,
                    status="done")
    hard = set(tob["id"][rng.random(len(tob)) < rates.hard_to_reach])
    missed = rng.random(len(calls)) < np.where(calls["client_id"].isin(hard), rates.unreachable_call, 0.01)
    calls["outcome"] = np.where(missed, "unreachable", "reached")
    parts.append(calls)
    complaints = _events("complaint", cli, rng.poisson(rates.complaints_per_client, n), rng, days, as_of)
    is_open = rng.random(len(complaints)) < rates.complaint_open
    complaints["status"] = np.where(is_open, "open", "closed")
    complaints["closed_date"] = complaints["date"] + pd.to_timedelta(rng.integers(1, 10, len(complaints)), unit="D")
    complaints.loc[is_open | (complaints["closed_date"] > pd.Timestamp(as_of)), "closed_date"] = pd.NaT
    complaints.loc[complaints["closed_date"].isna(), "status"] = "open"
    parts.append(complaints)
    parts.append(_events("feedback", cli, rng.poisson(0.05, n), rng, 30, as_of, status="open"))
    # bank: overdue loans, unpaid interest, designated accounts, farmer loans
    overdue = _events("loan_event", bank, (rng.random(len(bank)) < rates.overdue_loan).astype(int), rng, 120, as_of,
                      status="open", amount=lambda k, ago: rng.integers(1, 40, k) * 10_000.0)
    parts.append(overdue)
    # loans that fell due 900 to 1,095 days ago, still open: the limitation period ends soon
    parts.append(_events("loan_event", bank, (rng.random(len(bank)) < rates.loan_near_limitation).astype(int), rng,
                         195, pd.Timestamp(as_of).date() - dt.timedelta(days=900), status="open",
                         amount=lambda k, ago: rng.integers(1, 40, k) * 10_000.0))
    parts.append(_events("interest_due", bank, (rng.random(len(bank)) < rates.interest_unpaid).astype(int), rng, 45,
                         as_of,
                         status="open", amount=lambda k, ago: rng.integers(1, 50, k) * 1000.0))
    parts.append(_events("loan_managed", bank, (rng.random(len(bank)) < 0.3).astype(int), rng, days, as_of,
                         item="designated", status="done"))
    parts.append(_events("loan_issued", bank, (rng.random(len(bank)) < 0.1).astype(int), rng, days, as_of,
                         item="farmer", status="done", amount=lambda k, ago: rng.integers(1, 20, k) * 10_000.0))
    file_items = ["missing_document", "collateral_uninsured", "ledger_incomplete", "contract_flaw",
                  "collection_notice_missing", "insufficient_guarantee"]
    parts.append(_events("credit_file_check", bank, rng.poisson(0.15, len(bank)), rng, days, as_of,
                         status="done", item=lambda k, ago: _pick(rng, file_items, k)))
    # telecom: monthly bills, some unpaid
    bills = _events("bill", tel, np.full(len(tel), 3), rng, days, as_of,
                    amount=lambda k, ago: rng.integers(5, 200, k) * 100.0)
    bills["due_date"] = bills["date"] + pd.Timedelta(days=15)
    bills["status"] = np.where(rng.random(len(bills)) < rates.bill_unpaid, "open", "done")
    parts.append(bills)
    parts.append(_manager_events(rng, mgr, days, as_of))
    hist = pd.concat(parts, ignore_index=True).sort_values(["date", "client_id", "kind"], kind="stable")
    hist.insert(0, "id", [f"E{i:08d}" for i in range(1, len(hist) + 1)])
    for col in ("date", "closed_date", "due_date"):
        hist[col] = hist[col].dt.strftime("%Y-%m-%d")
    for col in ("quantity", "slow_quantity"):
        hist[col] = hist[col].astype("Int64")
    return hist.reset_index(drop=True)


def _manager_events(rng: np.random.Generator, mgr: pd.DataFrame, days: int, as_of: dt.date) -> pd.DataFrame:
    rows = []
    today = pd.Timestamp(as_of)
    month_days = as_of.day
    levels = ["assessment_centre", "marketing_centre", "market_department"]
    items = ["visit_not_on_schedule", "work_plan_missing", "market_info_missing", "complaint_not_resolved",
             "diary_perfunctory"]
    for _, m in mgr.iterrows():
        for week in range(days // 7):
            due = today - pd.Timedelta(days=7 * week + 1)
            late = rng.random() < (0.25 if m["diary_quality"] == "perfunctory" else 0.08)
            delay = int(rng.integers(1, 4)) if late else 0
            closed = None if late and rng.random() < 0.5 else due + pd.Timedelta(days=delay)
            rows.append({"manager_id": m["id"], "kind": "plan_submission", "date": due, "due_date": due,
                         "closed_date": closed, "status": "done" if closed is not None else "open"})
        for _ in range(int(rng.poisson(4))):
            rows.append({"manager_id": m["id"], "kind": "market_report",
                         "date": today - pd.Timedelta(days=int(rng.integers(0, days))), "status": "done"})
        if m["domain"] == "tobacco":
            for _ in range(int(rng.poisson(2.5 if m["diary_quality"] == "perfunctory" else 1.0))):
                rows.append({"manager_id": m["id"], "kind": "inspection", "item": str(rng.choice(items)),
                             "level": str(rng.choice(levels)), "status": "done",
                             "date": today - pd.Timedelta(days=int(rng.integers(0, month_days)))})
            if rng.random() < 0.1:
                rows.append({"manager_id": m["id"], "kind": "competition_award", "status": "done",
                             "date": today - pd.Timedelta(days=int(rng.integers(0, month_days)))})
    out = pd.DataFrame(rows)
    out["client_id"] = None
    for col in ("date", "due_date", "closed_date"):
        out[col] = pd.to_datetime(out[col])
    return out


def _links(rng: np.random.Generator, cli: pd.DataFrame, hist: pd.DataFrame, as_of: dt.date,
           rates: Rates) -> pd.DataFrame:
    """Links between clients of one domain, drawn across the whole domain (so most cross managers):
    bank guarantees (some in chains, about half the overdue borrowers guaranteed), groups and related
    companies, tobacco shops of one owner (off-channel outlets first) and telecom group members."""
    rows: list[tuple[str, str, str]] = []
    ids = {d: cli.loc[cli["domain"] == d, "id"].to_numpy(dtype=object) for d in DOMAIN_SHARE}
    bank = ids["bank"]

    def others(pool: np.ndarray[Any, Any], me: str, k: int = 1) -> list[str]:
        rest = pool[pool != me]
        return [str(x) for x in rng.choice(rest, size=min(k, len(rest)), replace=False)] if len(rest) else []

    # bank: guarantees; the guaranteed firm sometimes guarantees another (a chain)
    overdue = set(hist.loc[(hist["kind"] == "loan_event") & (hist["status"] == "open"), "client_id"].dropna())
    guaranteed = [b for b in bank if b in overdue and rng.random() < rates.overdue_guaranteed]
    for b in bank:
        if rng.random() < rates.guarantor:
            guaranteed.extend(others(bank, b))
    for b in sorted(set(guaranteed)):
        rows.extend(("guarantor_of", guarantor, b) for guarantor in others(bank, b))
        if rng.random() < rates.guarantee_chain:
            rows.extend(("guarantor_of", b, c) for c in others(bank, b))
    # bank: groups of about three members, and related companies
    corporate = cli.loc[(cli["domain"] == "bank") & (cli["segment"] == "corporate"), "id"].to_numpy(dtype=object)
    members = [b for b in bank if rng.random() < rates.bank_group_member]
    n_groups = min(len(corporate), max(1, len(members) // 3))
    multi = cli.loc[cli["id"].isin(corporate) & (cli["multi_bank_credit"] == True), "id"].to_numpy(dtype=object)  # noqa: E712
    heads = list(rng.choice(multi, size=min(len(multi), round(n_groups * rates.group_multi_bank)), replace=False))
    rest = np.array([c for c in corporate if c not in set(heads)], dtype=object)
    groups = heads + list(rng.choice(rest, size=min(len(rest), n_groups - len(heads)), replace=False))
    for b in members:
        group = str(groups[int(rng.integers(len(groups)))]) if groups else b
        if group != b:
            rows.append(("member_of", b, group))
    for b in bank:
        if rng.random() < rates.related_company:
            rows.extend(("related_company", b, c) for c in others(bank, b))
    # tobacco: shops of one owner, the outlets outside the official channel first
    tob = cli[cli["domain"] == "tobacco"]
    off = tob.loc[(tob["network_client"] == False) | (tob["in_visit_delivery_system"] == False)  # noqa: E712
                  | tob["e_settlement"].isin(["none", "low_awareness"]), "id"]
    pairs = [t for t in off if rng.random() < rates.off_channel_second_shop]
    pairs += [t for t in ids["tobacco"] if rng.random() < rates.same_owner_shop / 2]
    for t in pairs:
        rows.extend(("same_owner", str(t), c) for c in others(ids["tobacco"], str(t)))
    # telecom: members of a group account
    tel = ids["telecom"]
    for g in tel:
        if rng.random() < rates.telecom_group_member:
            rows.extend(("member_of", str(g), c) for c in others(tel, str(g)))
    links = pd.DataFrame(rows, columns=["kind", "from_client", "to_client"]).drop_duplicates(
        subset=["kind", "from_client", "to_client"])
    links.insert(0, "id", [f"K{i:06d}" for i in range(1, len(links) + 1)])
    since = pd.Timestamp(as_of) - pd.to_timedelta(rng.integers(30, 2000, len(links)), unit="D")
    links["since"] = since.strftime("%Y-%m-%d")
    return links.reset_index(drop=True)
