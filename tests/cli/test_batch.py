"""cli/batch.py: `rm-advisor sample-portfolio` and `rm-advisor batch` as a user runs them on CSV
files, one of them with a bad cell."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from rm_advisor.cli.main import app
from rm_advisor.engine.loading import load_knowledge_base, read_kb_files
from tests.helpers import rejectable

runner = CliRunner()
Run = tuple[Path, Result]  # the output folder of the batch run on the bad history, and the run
AS_OF = "2026-11-23"
OUTPUTS = ["recommendations.csv", "worklists.csv", "coaching.csv", "bad_rows.csv", "to_confirm.csv", "decisions.jsonl",
           "report.html", "summary.json"]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def corrupt(path: Path, column: str, value: str, row_filter: str | None = None) -> int:
    """Write ``value`` into ``column`` of the first row (matching ``kind``); return its CSV line."""
    frame = read(path)
    rows = frame.index[frame["kind"] == row_filter] if row_filter else frame.index
    idx = int(rows[0])
    frame.loc[idx, column] = value
    frame.to_csv(path, index=False)
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(frame) + 1  # one line per row
    return idx + 2  # the header is line 1


def batch_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["batch", "--clients", str(folder / "clients.csv"), "--managers", str(folder / "managers.csv"),
            "--history", str(folder / "history.csv"), "--out", str(out), "--as-of", AS_OF, "--jobs", "1", *extra]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    result = runner.invoke(app, ["sample-portfolio", "--out", str(folder), "--clients", "120", "--managers", "4",
                                 "--seed", "3"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def bad_history(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("bad_history")
    for name in ("clients.csv", "managers.csv", "history.csv"):
        shutil.copy(sample / name, folder / name)
    line = corrupt(folder / "history.csv", "quantity", "many", row_filter="order")
    return folder, line


@pytest.fixture(scope="module")
def run(bad_history: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder, _ = bad_history
    out = tmp_path_factory.mktemp("out")
    result = runner.invoke(app, batch_args(folder, out))
    assert result.exit_code == 0, result.output
    return out, result


def test_sample_portfolio_writes_four_csv_files(sample: Path) -> None:
    assert sorted(p.name for p in sample.iterdir()) == ["clients.csv", "history.csv", "links.csv", "managers.csv"]
    links = read(sample / "links.csv")
    ends = set(links["from_client"]) | set(links["to_client"])
    assert len(links) > 0 and ends <= set(read(sample / "clients.csv")["id"])
    assert len(read(sample / "clients.csv")) == 120 and len(read(sample / "managers.csv")) == 4
    assert set(read(sample / "clients.csv")["manager_id"]) <= set(read(sample / "managers.csv")["id"])
    assert len(read(sample / "history.csv")) > 120


def test_batch_writes_every_output(run: Run) -> None:
    out, _ = run
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name


def test_bad_rows_name_the_file_line_and_column_of_the_bad_cell(run: Run, bad_history: tuple[Path, int]) -> None:
    out, _ = run
    folder, line = bad_history
    bad = read(out / "bad_rows.csv")
    assert bad[["file", "line", "column", "code", "severity"]].values.tolist() == \
        [[str(folder / "history.csv"), str(line), "quantity", "fact_type", "error"]]
    assert "many" in bad["message"][0]


def test_summary_counts_what_was_written(run: Run) -> None:
    out, result = run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    recs, worklists, coaching = (read(out / f"{n}.csv") for n in ("recommendations", "worklists", "coaching"))
    assert summary["clients"] == 120 and summary["managers"] == 4 and summary["bad_rows"] == 1
    assert summary["as_of"] == AS_OF
    assert summary["recommendations"] == int((recs["status"] == "recommended").sum()) > 0
    contacts = worklists[worklists["section"] == "contacts"]
    assert summary["planned"] == int((contacts["status"] == "planned").sum()) > 0
    assert summary["deferred"] == int((contacts["status"] == "deferred").sum())
    assert summary["desk"] == int((worklists["section"] == "desk").sum()) > 0
    assert summary["set_aside"] == int((worklists["section"] == "set_aside").sum()) > 0
    assert summary["coaching"] == len(coaching)
    assert "1 bad row(s) skipped" in result.output


def test_to_confirm_csv_lists_each_decisions_missing_facts_in_rank_and_the_report_shows_them(run: Run) -> None:
    out, result = run
    rows = read(out / "to_confirm.csv")
    decisions = [json.loads(line) for line in (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    items = [(s["id"], rank, " ".join(f"{f['fact']}.{f['field']}" for f in t["fields"]), str(t["score"]),
              t["text"]["en"]) for d in decisions for s in d["clients"] + d["managers"]
             for rank, t in enumerate(s["to_confirm"], 1)]
    assert len(items) > 0  # the sample portfolio leaves some asked facts unrecorded
    assert sorted(rows[["subject_id", "rank", "fields", "score", "text_en"]].itertuples(index=False, name=None)) == \
        sorted((i, str(r), f, sc, t) for i, r, f, sc, t in items)
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["to_confirm"] == len(rows)
    assert f"{len(rows)} fact(s) to confirm" in result.output
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "待确认 To confirm" in report and rows["text_zh"][0] in report


def test_decisions_jsonl_has_one_decision_per_manager(run: Run, sample: Path) -> None:
    out, _ = run
    decisions = [json.loads(line) for line in (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    managers = read(sample / "managers.csv")
    assert sorted(d["managers"][0]["id"] for d in decisions) == sorted(managers["id"])
    assert sorted(c["id"] for d in decisions for c in d["clients"]) == sorted(read(sample / "clients.csv")["id"])
    assert {d["as_of"] for d in decisions} == {AS_OF}


def test_worklists_keep_each_manager_within_capacity(run: Run, sample: Path) -> None:
    out, _ = run
    worklists = read(out / "worklists.csv")
    capacity = read(sample / "managers.csv").set_index("id")["capacity_visits_week"].astype(int).to_dict()
    planned = worklists[(worklists["status"] == "planned") & (worklists["contact"] == "visit")]
    for manager, visits in planned.groupby("manager_id").size().items():
        assert visits <= capacity[manager], manager


def test_worklists_a_manager_would_accept(run: Run, sample: Path) -> None:
    out, _ = run
    worklists = read(out / "worklists.csv")
    kb = load_knowledge_base(read_kb_files())
    contacts = worklists[worklists["section"] == "contacts"]
    # internal desk actions are listed apart and take no visit or call
    internal = {a.id for a in kb.actions.values() if a.channel == "internal"}
    assert not contacts["actions"].str.split().apply(lambda a: bool(internal & set(a))).any()
    desk = worklists[worklists["section"] == "desk"]
    assert (desk["contact"] == "desk").all() and desk["actions"].str.split().apply(lambda a: set(a) <= internal).all()
    # no sales ask rides on a collection, complaint or risk contact: it is set aside with the reason
    for kinds in contacts["kinds"].str.split():
        assert not ("sales" in kinds and {"risk", "obligation"} & set(kinds)), kinds
    aside = worklists[worklists["section"] == "set_aside"]
    assert (aside["kinds"] == "sales").all() and (aside["blocked_by"] != "").all()
    assert aside["reason_en"].str.contains("a sales ask does not ride on it").all()
    # every row names the client
    names = read(sample / "clients.csv").set_index("id")["name"]
    assert (worklists["client_name"] == worklists["client_id"].map(names)).all()


def test_report_has_a_section_per_manager_and_the_charts(run: Run, sample: Path) -> None:
    out, _ = run
    html = (out / "report.html").read_text(encoding="utf-8")
    for manager in read(sample / "managers.csv")["id"]:
        assert f"<summary>{manager} " in html, manager
    assert html.count("<svg") >= 4
    assert "history.csv" in html  # the bad row is listed
    # desk work and the sales asks kept off duty contacts are sections of their own
    assert html.count('<table class="desk-work">') >= 1 and html.count('<table class="set-aside">') >= 1
    assert "a sales ask does not ride on it" in html


def test_strict_stops_on_a_bad_row_and_names_it(sample: Path, tmp_path: Path) -> None:
    for name in ("clients.csv", "managers.csv", "history.csv"):
        shutil.copy(sample / name, tmp_path / name)
    line = corrupt(tmp_path / "clients.csv", "satisfaction", "high")
    out = tmp_path / "out"
    result = runner.invoke(app, batch_args(tmp_path, out, "--strict"))
    assert result.exit_code == 1, result.output
    assert f"clients.csv:{line}" in result.output and "fact_type" in result.output
    assert not (out / "recommendations.csv").exists()
    # the file the message refers to is there, with the bad row and where the check stopped
    assert f"the bad rows found so far are in {out / 'bad_rows.csv'}" in result.output
    bad = read(out / "bad_rows.csv")
    assert bad[["line", "column", "code"]].values.tolist()[0] == [str(line), "satisfaction", "fact_type"]
    assert bad["code"].tolist()[-1] == "too_many_bad_rows"


def test_the_terminal_names_a_bad_cells_column_as_bad_rows_csv_does(run: Run, bad_history: tuple[Path, int]) -> None:
    _, result = run
    folder, line = bad_history
    assert f"{folder / 'history.csv'}:{line}:quantity: fact_type" in result.output
    assert f"{folder / 'history.csv'}:{line}:0:" not in result.output


def test_summary_json_is_listed_with_the_outputs(run: Run) -> None:
    _, result = run
    # the default language is both: "  已写入 <path> / wrote <path>"
    wrote = [ln.rsplit("wrote ", 1)[1] for ln in result.output.splitlines() if "wrote " in ln]
    assert [Path(w).name for w in wrote] == OUTPUTS
    assert f"as of {AS_OF} in" in result.output and f"数据日期 {AS_OF}，" in result.output  # no note: --as-of gave it


def test_a_batch_without_as_of_says_which_date_it_used(sample: Path, tmp_path: Path) -> None:
    args = [a for a in batch_args(sample, tmp_path) if a not in ("--as-of", AS_OF)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    today = dt.date.today().isoformat()
    # in both languages the note is said once in each, not doubled inside either
    assert f"数据日期 {today} (今天：未给 --as-of)" in result.output
    assert "today: no --as-of / " not in result.output
    result = runner.invoke(app, [*args, "--lang", "en"])
    assert result.exit_code == 0, result.output
    today = dt.date.today().isoformat()
    assert f"as of {today} (today: no --as-of)" in result.output
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["as_of_given"] is False
    assert f"as of {today} (today: no --as-of)" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_parquet_output_is_readable_by_pandas(bad_history: tuple[Path, int], run: Run, tmp_path: Path) -> None:
    folder, _ = bad_history
    result = runner.invoke(app, batch_args(folder, tmp_path, "--format", "parquet", "--no-report"))
    assert result.exit_code == 0, result.output
    csv_out, _ = run
    for name in ("recommendations", "worklists", "coaching"):
        frame = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(frame) == len(read(csv_out / f"{name}.csv")) > 0, name
    assert (tmp_path / "bad_rows.csv").is_file()
    assert not (tmp_path / "report.html").exists()


def test_only_some_input_tables_is_a_usage_error(sample: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", "--clients", str(sample / "clients.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--managers" in result.output and "--history" in result.output
    assert not (tmp_path / "o").exists()


def test_a_bank_history_without_order_columns_is_decided(tmp_path: Path) -> None:
    # a bank has no order quantities, brands or stock checks: those columns are simply absent
    (tmp_path / "clients.csv").write_text("id,manager_id,domain\nB1,MB1,bank\n", encoding="utf-8")
    (tmp_path / "managers.csv").write_text("id,domain\nMB1,bank\n", encoding="utf-8")
    (tmp_path / "history.csv").write_text("id,manager_id,client_id,kind,date,status,amount\n"
                                          "E1,MB1,B1,loan_event,2026-10-01,open,120000\n", encoding="utf-8")
    result = runner.invoke(app, batch_args(tmp_path, tmp_path / "out", "--no-report"))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    recs = read(tmp_path / "out" / "recommendations.csv")
    assert (recs["client_id"] == "B1").any()


def test_a_history_with_no_events_yet_is_decided_from_the_facts_alone(sample: Path, tmp_path: Path) -> None:
    # a new portfolio: the history file has its header and no rows
    for name in ("clients.csv", "managers.csv"):
        shutil.copy(sample / name, tmp_path / name)
    header = (sample / "history.csv").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "history.csv").write_text(header + "\n", encoding="utf-8")
    result = runner.invoke(app, batch_args(tmp_path, tmp_path / "out", "--no-report"))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    recs = read(tmp_path / "out" / "recommendations.csv")
    lines = (tmp_path / "out" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    decided = [json.loads(line) for line in lines]
    assert sum(len(d["clients"]) for d in decided) == len(read(sample / "clients.csv"))
    assert len(recs) > 0  # what the clients' own facts say still raises advice


def test_a_logged_batch_applies_feedback_and_reports_effectiveness(sample: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    first = runner.invoke(app, batch_args(sample, tmp_path / "first", "--db", db))
    assert first.exit_code == 0, first.output
    recs = read(tmp_path / "first" / "recommendations.csv")
    assert recs["decision_id"].str.startswith("d-").all()  # every manager's decision is logged
    recommended = recs[recs["status"] == "recommended"]
    target = recommended[recommended["action"] == rejectable(list(recommended["action"]))].iloc[0]
    rejected = runner.invoke(app, ["feedback", "add", target["decision_id"], target["client_id"], target["action"],
                                   "--status", "rejected", "--reason", "client_not_interested", "--db", db])
    assert rejected.exit_code == 0, rejected.output
    second = runner.invoke(app, batch_args(sample, tmp_path / "second", "--db", db))
    assert second.exit_code == 0, second.output
    again = read(tmp_path / "second" / "recommendations.csv")
    row = again[(again["client_id"] == target["client_id"]) & (again["action"] == target["action"])]
    assert row[["status", "suppressed_by"]].values.tolist() == [["suppressed", "rest_after_rejection"]]
    worklists = read(tmp_path / "second" / "worklists.csv")
    mine = worklists[worklists["client_id"] == target["client_id"]]
    assert not mine["actions"].str.split().apply(lambda a: target["action"] in a).any()
    report = (tmp_path / "second" / "report.html").read_text(encoding="utf-8")
    assert "Effectiveness" in report and "client_not_interested" in report


def test_an_unlogged_batch_applies_no_contact_policy(sample: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, batch_args(sample, tmp_path / "out"))
    assert result.exit_code == 0, result.output
    recs = read(tmp_path / "out" / "recommendations.csv")
    assert set(recs["status"]) <= {"recommended", "vetoed"} and recs["decision_id"].isna().all()


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`rm-advisor batch` as `make demo` runs it: the generated sample portfolio."""
    out = tmp_path_factory.mktemp("demo_batch")
    result = runner.invoke(app, ["batch", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_demo_batch_coaches_from_clients_with_the_portfolio_benchmark_in_every_domain(demo_batch: Path) -> None:
    decisions = [json.loads(line) for line in (demo_batch / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    for domain, entry in (("tobacco", "from_clients.tobacco_stale_complaints"),
                          ("bank", "from_clients.bank_credit_file_problems"),
                          ("telecom", "from_clients.telecom_group_payment_waiting")):
        coached = [r for d in decisions for m in d["managers"] for r in m["recommendations"] if entry in r["rules"]]
        assert coached, domain
        cards = [r["card"] for r in coached]
        assert all(c["next_behaviour"]["form"] in ("keep", "start", "stop") for c in cards)
        assert any(c.get("benchmark") and c["benchmark"]["basis"] == "portfolio" and c["benchmark"]["domain"] == domain
                   for c in cards), domain
    html = (demo_batch / "report.html").read_text(encoding="utf-8")
    assert html.count('<div class="from-clients">') >= 3 and "of the whole portfolio (computed by the batch)" in html
    assert "开始 Start</b>" in html and "再次衡量" in html and "来自客户的辅导 coaching from clients" in html


def test_coaching_csv_has_the_card_columns(demo_batch: Path) -> None:
    coaching = read(demo_batch / "coaching.csv")
    assert {"metric", "value", "team_median", "benchmark_basis", "standing", "next_form", "next_zh", "next_en",
            "review_date"} <= set(coaching.columns)
    assert set(coaching["next_form"]) <= {"keep", "start", "stop"} and set(coaching["benchmark_basis"].dropna()) == {
        "portfolio"}


def test_recommendations_csv_names_the_alternatives_a_recommendation_folds(demo_batch: Path) -> None:
    recs = read(demo_batch / "recommendations.csv")
    folded = recs[recs["alternatives"].notna()]
    assert len(folded) > 0  # the demo has one-cause pairs (README: "One cause, one action")
    decisions = [json.loads(line) for line in (demo_batch / "decisions.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = {(c["id"], r["id"]): (" ".join(a["id"] for a in r["alternatives"]), r["cause"]["zh"], r["cause"]["en"])
                for d in decisions for c in d["clients"] for r in c["recommendations"] if r.get("alternatives")}
    listed = {(row.client_id, row.action): (row.alternatives, row.cause_zh, row.cause_en)
              for row in folded[folded["status"] == "recommended"].itertuples()}
    assert listed == expected
    assert recs[recs["alternatives"].isna()]["cause_en"].isna().all()


#: the runs whose outputs must be a one-process local run's: the batch's own two worker processes
#: (each writing its buckets' parts) and a Dask cluster of two
PARALLEL = (("jobs2", ("--jobs", "2")), ("dask", ("--backend", "dask", "--jobs", "2")))


@pytest.mark.parametrize(("out", "extra"), PARALLEL, ids=[name for name, _ in PARALLEL])
def test_two_workers_and_dask_write_what_one_process_writes(run: Run, bad_history: tuple[Path, int], tmp_path: Path,
                                                           out: str, extra: tuple[str, ...]) -> None:
    folder, _ = bad_history
    local, _ = run
    result = runner.invoke(app, batch_args(folder, tmp_path, *extra))
    assert result.exit_code == 0, result.output
    if out == "dask":
        assert "Dask cluster: 2 worker(s)" in result.output
    for name in OUTPUTS[:6]:  # recommendations, worklists, coaching, bad rows, to confirm, decisions
        assert (tmp_path / name).read_bytes() == (local / name).read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(OUTPUTS)  # the workers' parts joined and gone
    # the report, made of the pieces the workers sent, is a local run's (the charts' random ids and dates aside)
    assert comparable_report(tmp_path / "report.html") == comparable_report(local / "report.html")
    summary, local_summary = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (tmp_path, local))
    assert summary.pop("workers") == 2 and local_summary.pop("workers") == 1
    del summary["seconds"], local_summary["seconds"]
    assert summary == local_summary


def comparable_report(path: Path) -> str:
    """report.html without what differs from one rendering to the next: the SVG charts' dates and ids."""
    import re

    text = re.sub(r"<dc:date>[^<]*</dc:date>", "", path.read_text(encoding="utf-8"))
    return re.sub(r"\b[pm][0-9a-f]{10}\b", "ID", text)


def test_two_workers_and_dask_write_the_json_files_of_a_one_process_run(sample: Path, tmp_path: Path) -> None:
    for out, extra in (("local", ()), *PARALLEL):
        result = runner.invoke(app, batch_args(sample, tmp_path / out, "--format", "json", *extra))
        assert result.exit_code == 0, result.output
    for run, _ in PARALLEL:
        for name in ("recommendations.json", "worklists.json", "coaching.json", "to_confirm.json", "decisions.jsonl"):
            assert (tmp_path / run / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), (run, name)
            assert name == "decisions.jsonl" or json.loads((tmp_path / "local" / name).read_text(encoding="utf-8"))
        assert not (tmp_path / run / ".parts").exists()
        assert comparable_report(tmp_path / run / "report.html") == \
            comparable_report(tmp_path / "local" / "report.html"), run


def test_a_logged_dask_run_logs_from_the_workers_what_a_local_logged_run_logs(sample: Path, tmp_path: Path) -> None:
    from rm_advisor.store import Store

    for out, extra in (("local", ()), ("dask", ("--backend", "dask", "--jobs", "2"))):
        result = runner.invoke(app, batch_args(sample, tmp_path / out, "--db", f"sqlite:///{tmp_path / out}.db",
                                               "--no-report", *extra))
        assert result.exit_code == 0, result.output
    recs = {out: read(tmp_path / out / "recommendations.csv") for out in ("local", "dask")}
    pd.testing.assert_frame_equal(recs["dask"].drop(columns="decision_id"), recs["local"].drop(columns="decision_id"))
    with Store(f"sqlite:///{tmp_path / 'dask'}.db") as store:
        logged = {d.id: store.decisions.get(d.id).decision.managers[0].id for d in store.decisions.recent(1000)}
    managers = read(sample / "managers.csv")["id"]
    assert sorted(logged.values()) == sorted(managers)  # each manager's decision once
    assert set(recs["dask"]["decision_id"]) == set(logged)  # the outputs name the decisions the workers logged


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A sample portfolio with its links table, and a link to a client nobody has (at the line returned)."""
    folder = tmp_path_factory.mktemp("linked")
    result = runner.invoke(app, ["sample-portfolio", "--out", str(folder), "--clients", "400", "--managers", "6",
                                 "--seed", "1"])
    assert result.exit_code == 0, result.output
    guarantor = read(folder / "links.csv")["from_client"].iloc[0]
    with (folder / "links.csv").open("a", encoding="utf-8") as f:
        f.write(f"K-bad,guarantor_of,{guarantor},B-nobody,2026-01-01\n")
    return folder, len(read(folder / "links.csv")) + 1


LINK_RULES = {"bank.guarantor_of_overdue_loan", "bank.group_red_flag_reaches_members",
              "tobacco.same_owner_counterfeit_exposure", "telecom.group_in_arrears_member_prepays"}


def test_links_reach_the_batch_and_a_link_to_an_unknown_client_is_a_bad_row(linked: tuple[Path, int],
                                                                           tmp_path: Path) -> None:
    folder, line = linked
    for out, extra in (("local", ()), ("dask", ("--backend", "dask", "--jobs", "2"))):
        result = runner.invoke(app, batch_args(folder, tmp_path / out, "--links", str(folder / "links.csv"),
                                               "--no-report", *extra))
        assert result.exit_code == 0, result.output
    bad = read(tmp_path / "local" / "bad_rows.csv")
    assert bad[["file", "line", "column", "code"]].values.tolist() == [
        [str(folder / "links.csv"), str(line), "to_client", "fact_bad_value"]]
    recs = read(tmp_path / "local" / "recommendations.csv")
    assert LINK_RULES & {r for rules in recs["rules"].dropna() for r in rules.split()}
    without = runner.invoke(app, batch_args(folder, tmp_path / "unlinked", "--no-report"))
    assert without.exit_code == 0, without.output
    unlinked = read(tmp_path / "unlinked" / "recommendations.csv")
    assert not LINK_RULES & {r for rules in unlinked["rules"].dropna() for r in rules.split()}
    for name in OUTPUTS[:6]:  # the Dask backend writes what the local run writes
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_links_go_with_the_three_tables(tmp_path: Path) -> None:
    result = runner.invoke(app, ["batch", "--links", str(tmp_path / "links.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--links" in result.output


def test_a_scheduler_nobody_runs_is_named_in_the_error(sample: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, batch_args(sample, tmp_path, "--scheduler", "tcp://127.0.0.1:1", "--format", "json"))
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["code"] == "cluster_unreachable" and "tcp://127.0.0.1:1" in error["message"]


def test_backend_dask_writes_parquet_outputs_in_parts_that_read_as_the_local_files(sample: Path,
                                                                                 tmp_path: Path) -> None:
    for out, extra in (("local", ()), *PARALLEL):
        result = runner.invoke(app, batch_args(sample, tmp_path / out, "--format", "parquet", "--no-report", *extra))
        assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    for name in ("recommendations", "worklists", "coaching", "to_confirm"):
        # the batch's own workers' parts joined into one file, as a one-process run writes it
        joined, whole = (tmp_path / run / f"{name}.parquet" for run in ("jobs2", "local"))
        assert joined.is_file() and pq.read_schema(joined).equals(pq.read_schema(whole)), name
        pd.testing.assert_frame_equal(pd.read_parquet(joined), pd.read_parquet(whole))
    assert not (tmp_path / "jobs2" / ".parts").exists()

    managers = len(read(sample / "managers.csv"))
    for name in ("recommendations", "worklists", "coaching", "to_confirm"):
        # one part per bucket (a bucket a manager here), each with the schema of the local file
        parts = sorted(p.name for p in (tmp_path / "dask" / name).iterdir())
        assert parts == [f"part-{i:05d}.parquet" for i in range(managers)], name
        schema = pq.read_schema(tmp_path / "local" / f"{name}.parquet")
        assert all(pq.read_schema(tmp_path / "dask" / name / p).equals(schema) for p in parts), name
        local = pd.read_parquet(tmp_path / "local" / f"{name}.parquet")
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / name), local)
        assert len(local), name
    assert not (tmp_path / "dask" / ".parts").exists()
    # the shards the workers read the checked rows from are gone with the run
    assert not [p for p in (tmp_path / "dask").iterdir() if p.name.startswith(".rm-advisor-shards-")]
    # coaching's `value` mixes counts and levels (`perfunctory`): one Parquet column, as text
    assert all(isinstance(v, str) for v in pd.read_parquet(tmp_path / "local" / "coaching.parquet")["value"].dropna())
