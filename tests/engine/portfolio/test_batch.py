"""engine/portfolio/batch.py: a batch run in order — tables read through the caller's reader (or
the sample portfolio) and checked, bad rows dropped or the run stopped, every good book decided,
and with a decision log the contact policies applied and every decision recorded."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.errors import TooManyBadRows
from rm_advisor.engine.language import Decision, FeedbackEvent, PropensityTable, SubjectKey
from rm_advisor.engine.policies import EffectivenessReport, PolicySet, PropensitySettings, effectiveness
from rm_advisor.engine.portfolio import (
    BatchCounts,
    BatchPlan,
    BatchResult,
    Chunk,
    PortfolioTables,
    Report,
    TableInput,
    TableReader,
    generate,
    run_batch,
)
from tests.helpers import holdable

AS_OF = dt.date(2026, 11, 23)
TEXTS = {
    "clients": """id,manager_id,domain,network_client,days_since_last_visit
T1,MT1,tobacco,false,3
T2,MT1,tobacco,true,40
X1,M9,tobacco,false,50
B1,MB1,bank,,
""",
    "managers": """id,domain,capacity_visits_week
MT1,tobacco,3
MB1,bank,
""",
    "history": """id,manager_id,client_id,kind,date,status,amount
E1,MT1,T1,visit,2026-11-20,done,
E2,MT1,T99,complaint,2026-11-10,open,
E3,M9,X1,visit,2026-11-01,done,
E4,M7,T2,visit,2026-11-02,done,
E5,MB1,B1,loan_event,2026-10-01,open,120000
E6,MT1,,market_report,2026-11-15,done,
""",
}
SOURCES = {name: f"in/{name}.csv" for name in TEXTS}
#: the bad rows of TEXTS: X1's manager, E2's client and E4's manager do not exist; E3's client X1 was skipped
BAD = [("fact_bad_value", "in/clients.csv", 4), ("fact_bad_value", "in/history.csv", 3),
       ("fact_ref_skipped", "in/history.csv", 4), ("fact_bad_value", "in/history.csv", 5)]


class Tables:
    """The hand tables as a plan reads them, minding what is asked for and when they are open."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.open = False
        self.closed = False

    def __enter__(self) -> TableReader:
        self.open = True
        return self.read

    def __exit__(self, *exc: object) -> None:
        self.open, self.closed = False, True

    def read(self, name: str) -> TableInput:
        self.asked.append(name)
        frame = pd.read_csv(io.StringIO(TEXTS[name]), dtype=str, keep_default_na=False, na_values=[""])
        return TableInput(list(frame.columns), [Chunk(frame)])


class Heard:
    """BatchEvents that write down what they hear, with the plan's tables' state when checked."""

    def __init__(self, tables: Tables | None = None, said: list[Any] | None = None) -> None:
        self.tables = tables
        self.said: list[Any] = said if said is not None else []
        self.advanced: list[int] = []

    def checked(self, tables: PortfolioTables) -> None:
        self.said.append(("checked", tables.bad_rows, self.tables.open if self.tables else None))

    @contextmanager
    def deciding(self, total: int) -> Iterator[Callable[[int], None]]:
        self.said.append(("deciding", total))
        yield self.advanced.append
        self.said.append("decided")


class Log:
    """A decision log in memory: the feedback it holds, and what the batch asked of it."""

    def __init__(self, history: list[FeedbackEvent], said: list[Any]) -> None:
        self.history = history
        self.said = said
        self.subjects: list[SubjectKey] = []
        self.recorded: dict[str, tuple[list[str], list[FeedbackEvent]]] = {}  # manager -> client ids, feedback
        self.period: tuple[dt.date, dt.date] | None = None
        self.report = effectiveness([], [])

    def __enter__(self) -> Log:
        self.said.append("log opened")
        return self

    def __exit__(self, *exc: object) -> None:
        self.said.append("log closed")

    def feedback(self, subjects: list[SubjectKey], as_of: dt.date, policies: PolicySet) -> list[FeedbackEvent]:
        self.subjects = list(subjects)
        return self.history

    def record(self, decision: Decision, facts: dict[str, Any], history: list[FeedbackEvent],
               decision_id: str | None = None) -> Decision:
        manager = decision.managers[0].id
        self.recorded[manager] = ([c["id"] for c in facts["clients"]], history)
        return decision.model_copy(update={"id": f"logged-{manager}"})

    def effectiveness(self, since: dt.date, until: dt.date) -> EffectivenessReport:
        self.period = (since, until)
        return self.report

    def propensities(self, as_of: dt.date, settings: PropensitySettings) -> PropensityTable | None:
        return None


def books(result: BatchResult) -> dict[str, list[str]]:
    return {r.manager_id: sorted(c.id for c in r.decision.clients) for r in result.run.results}


@pytest.fixture(scope="module")
def dry(advisor: Advisor) -> tuple[BatchResult, Tables, Heard]:
    tables = Tables()
    heard = Heard(tables)
    return run_batch(advisor, BatchPlan(AS_OF, tables, SOURCES, jobs=1), Report(), heard), tables, heard


def test_the_tables_are_read_in_order_closed_and_their_bad_rows_dropped_before_deciding(
        dry: tuple[BatchResult, Tables, Heard]) -> None:
    result, tables, heard = dry
    assert tables.asked == ["managers", "clients", "history"] and tables.closed
    found = sorted((d.code, d.location.file, d.location.line) for d in result.run.tables.diagnostics)
    assert found == sorted(BAD)
    # checked with the files closed, then 3 clients and 2 managers decided, every one counted as progress
    assert heard.said == [("checked", 4, False), ("deciding", 5), "decided"]
    assert sum(heard.advanced) == 5


def test_every_good_book_is_decided_and_counted(advisor: Advisor, dry: tuple[BatchResult, Tables, Heard]) -> None:
    result, _, _ = dry
    assert books(result) == {"MB1": ["B1"], "MT1": ["T1", "T2"]}
    items = [i for r in result.run.results for i in r.worklist.items]
    recs = sum(len(c.recommendations) for r in result.run.results for c in r.decision.clients)
    assert result.counts == BatchCounts(
        clients=3, managers=2, recommendations=recs, planned=sum(i.status == "planned" for i in items),
        deferred=sum(i.status == "deferred" for i in items),
        coaching=sum(len(m.recommendations) for r in result.run.results for m in r.decision.managers), bad_rows=4,
        desk=sum(len(r.worklist.desk) for r in result.run.results),
        set_aside=sum(len(r.worklist.set_aside) for r in result.run.results),
        to_confirm=sum(len(s.to_confirm) for r in result.run.results for s in r.decision.clients + r.decision.managers))
    assert recs > 0 and result.counts.planned > 0
    assert result.workers == 1 and result.revision == advisor.revision and result.seconds > 0
    assert result.logged is None and result.effectiveness is None  # a dry run: nothing logged
    assert not any(c.suppressed for r in result.run.results for c in r.decision.clients)  # no contact policy


def test_more_bad_rows_than_the_report_allows_stop_the_run_before_anything_is_decided(advisor: Advisor) -> None:
    tables = Tables()
    heard = Heard(tables)
    with pytest.raises(TooManyBadRows) as stop:
        run_batch(advisor, BatchPlan(AS_OF, tables, SOURCES, jobs=1), Report(max_bad_rows=2), heard)
    where = stop.value.diagnostics[0]
    # X1 and E2 are the two allowed; E3 (its client was skipped) does not count; E4 is one too many
    assert (where.code, where.location.file, where.location.line) == ("too_many_bad_rows", "in/history.csv", 5)
    assert heard.said == [] and tables.closed


def test_without_tables_the_batch_runs_on_the_sample_portfolio(advisor: Advisor) -> None:
    result = run_batch(advisor, BatchPlan(AS_OF, sample_clients=120, jobs=1))
    sample = generate(120, 3, as_of=AS_OF)  # 50 clients per manager, and at least 3 managers
    assert result.counts.clients == 120 and result.counts.managers == 3 and result.counts.bad_rows == 0
    assert sorted(c for book in books(result).values() for c in book) == sorted(sample.clients["id"])
    assert result.run.tables.as_of == AS_OF
    assert result.run.tables.clients.source == "<sample clients>"


def test_a_logged_batch_applies_the_feedback_and_records_each_book_with_its_own(
        advisor: Advisor, dry: tuple[BatchResult, Tables, Heard]) -> None:
    before = dry[0].run.results
    t1 = next(r for r in before if r.manager_id == "MT1").decision.subject("client", "T1")
    assert t1 is not None and t1.recommendations
    action = holdable(t1)  # a service or sales action: a rejection rests it
    rejected = FeedbackEvent(decision_id="d-old", subject_id="T1", item_id=action, status="rejected",
                             reason_code="client_not_interested", date=AS_OF - dt.timedelta(days=2))
    other = rejected.model_copy(update={"subject_id": "B1"})
    said: list[Any] = []
    log = Log([rejected, other], said)
    plan = BatchPlan(AS_OF, Tables(), SOURCES, jobs=1, log=log, effectiveness_days=30)
    result = run_batch(advisor, plan, Report(), Heard(said=said))
    assert said == [("checked", 4, None), ("deciding", 5), "decided", "log opened", "log closed"]
    assert sorted(log.subjects) == sorted(SubjectKey.of(t, i) for t, i in [
        ("manager", "MT1"), ("manager", "MB1"), ("client", "T1"), ("client", "T2"), ("client", "B1")])
    # each book is logged with its own facts and only the feedback about its own subjects
    assert log.recorded == {"MT1": (["T1", "T2"], [rejected]), "MB1": (["B1"], [other])}
    assert [r.decision.id for r in result.run.results] == ["logged-MB1", "logged-MT1"]
    mt1 = next(r for r in result.run.results if r.manager_id == "MT1")
    logged_t1 = mt1.decision.subject("client", "T1")
    assert logged_t1 is not None
    held = {s.id: [x.policy_id for x in s.suppressed_by] for s in logged_t1.suppressed}
    assert held[action] == ["rest_after_rejection"]
    assert action not in {a for i in mt1.worklist.items if i.client_id == "T1" for a in i.actions}
    assert result.logged == 2 and result.effectiveness is log.report
    assert log.period == (AS_OF - dt.timedelta(days=29), AS_OF)
