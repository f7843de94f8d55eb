"""`rm-advisor batch` on input as CRMs export it and as attackers write it (issue 12): GBK, UTF-16
and byte-order marks give the same outputs as UTF-8; hostile cells, ragged rows and stray quotes
are located bad rows, not the end of the run; a bad-row limit stops a garbage file early; no CSV
cell written by the project starts a formula, and a CR in a name does not split a row."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from rm_advisor.cli.main import app
from rm_advisor.cli.tableio import FORMULA_START

runner = CliRunner()
AS_OF = "2026-11-23"
DANGER_IDS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]
DANGER_NAMES = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
                "王\r伟", "恒达\r\n机械", "\t=1+1"]


def invoke(folder: Path, out: Path, *extra: str, names: tuple[str, str, str] = ("clients", "managers", "history"),
           ext: str = "csv") -> Result:
    c, m, h = (str(folder / f"{n}.{ext}") for n in names)
    return runner.invoke(app, ["batch", "--clients", c, "--managers", m, "--history", h, "--out", str(out),
                               "--as-of", AS_OF, "--jobs", "1", *extra])


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def bad_rows(out: Path) -> list[tuple[str, str, str, str]]:
    return [(r[0], r[1], r[2], r[3]) for r in rows(out / "bad_rows.csv")[1:]]


def sample(folder: Path, encoding: str) -> Path:
    result = runner.invoke(app, ["sample-portfolio", "--out", str(folder), "--clients", "120", "--managers", "4",
                                 "--seed", "3", "--encoding", encoding])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample portfolio in plain UTF-8, and its batch outputs."""
    folder = sample(tmp_path_factory.mktemp("utf8"), "utf-8")
    out = folder / "out"
    result = invoke(folder, out, "--no-report")
    assert result.exit_code == 0, result.output
    return folder, out


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "utf-8-sig"])
def test_a_gbk_utf16_or_bom_export_of_the_sample_portfolio_runs_unchanged(
        encoding: str, plain: tuple[Path, Path], tmp_path: Path) -> None:
    folder = sample(tmp_path / "in", encoding)
    if encoding == "gbk":  # what Excel on Chinese Windows writes: not a byte of it is valid UTF-8 Chinese
        assert "王" not in (folder / "managers.csv").read_bytes().decode("utf-8", "replace")
    result = invoke(folder, tmp_path / "out", "--no-report")
    assert result.exit_code == 0, result.output
    for name in ("recommendations.csv", "worklists.csv", "coaching.csv", "bad_rows.csv", "decisions.jsonl"):
        assert (tmp_path / "out" / name).read_bytes() == (plain[1] / name).read_bytes(), name
    assert '"bad_rows": 0' in (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")


def hostile(folder: Path, plain: tuple[Path, Path]) -> Path:
    """The sample portfolio with formula-like ids and names, bare CRs in names, and, in the
    history, cells and rows as the issue found them."""
    folder.mkdir()
    clients = pd.read_csv(plain[0] / "clients.csv", dtype=str, keep_default_na=False, na_values=[""])
    history = pd.read_csv(plain[0] / "history.csv", dtype=str, keep_default_na=False, na_values=[""])
    # clients with a recommendation in the plain run, so that each id is seen in the outputs
    recommended = set(pd.read_csv(plain[1] / "recommendations.csv", encoding="utf-8-sig", dtype=str)["client_id"])
    renamed = dict(zip([c for c in clients["id"] if c in recommended][:len(DANGER_IDS)], DANGER_IDS, strict=True))
    clients["id"] = clients["id"].replace(renamed)
    history["client_id"] = history["client_id"].replace(renamed)
    clients["name"] = [DANGER_NAMES[i % len(DANGER_NAMES)] for i in range(len(clients))]
    clients.to_csv(folder / "clients.csv", index=False, lineterminator="\r\n")  # CRLF: a CR in a name is quoted
    shutil.copy(plain[0] / "managers.csv", folder / "managers.csv")
    history.to_csv(folder / "history.csv", index=False, lineterminator="\r\n")
    with (folder / "history.csv").open(encoding="utf-8", newline="") as fh:
        header, *lines = fh.read().split("\r\n")
    order = [i for i, line in enumerate(lines) if ",order," in line]
    cols = header.split(",")
    q = cols.index("quantity")

    def with_quantity(i: int, value: str) -> str:
        cells = lines[i].split(",")
        cells[q] = value
        return ",".join(cells)

    bad = {order[0]: with_quantity(order[0], "99999999999999999999"), order[1]: with_quantity(order[1], "1e19"),
           order[2]: with_quantity(order[2], "1e30"), order[3]: lines[order[3]] + ",x,y",         # ragged
           order[4]: lines[order[4]].replace(",order,", ',"order,', 1),                          # stray quote
           order[5]: lines[order[5]].replace(",order,", ',"ord\ner",', 1)}                       # quoted newline
    lines = [bad.get(i, line) for i, line in enumerate(lines)]
    (folder / "history.csv").write_text("\r\n".join([header, *lines]), encoding="utf-8", newline="")
    return folder


def test_hostile_cells_and_rows_are_located_bad_rows_and_the_run_goes_on(
        plain: tuple[Path, Path], tmp_path: Path) -> None:
    folder = hostile(tmp_path / "in", plain)
    out = tmp_path / "out"
    result = invoke(folder, out)
    assert result.exit_code == 0, result.output
    history = str(folder / "history.csv")
    found = [(code, int(line)) for file, line, _, code in bad_rows(out) if file == history]
    # the physical line of each (rows after the quoted newline are a line further down than their index says)
    with (folder / "history.csv").open(encoding="utf-8", newline="") as fh:
        text = fh.read()
    line_of = {code: 1 + text[:text.index(needle)].replace("\r\n", "\n").count("\n")
               for code, needle in [("huge", "99999999999999999999"), ("1e19", ",1e19"), ("1e30", ",1e30"),
                                    ("ragged", ",x,y"), ("quote", '"order,'), ("newline", '"ord\ner"')]}
    assert found == [("fact_bad_value", line_of["huge"]), ("fact_bad_value", line_of["1e19"]),
                     ("fact_bad_value", line_of["1e30"]), ("table_ragged_row", line_of["ragged"]),
                     ("table_bad_quote", line_of["quote"]), ("fact_bad_value", line_of["newline"])]
    assert "6 bad row(s) skipped" in result.output
    for name in ("recommendations.csv", "worklists.csv", "coaching.csv", "report.html", "decisions.jsonl"):
        assert (out / name).stat().st_size > 0, name


def test_no_csv_cell_written_starts_a_formula_and_parquet_keeps_the_raw_ids(
        plain: tuple[Path, Path], tmp_path: Path) -> None:
    folder = hostile(tmp_path / "in", plain)
    csv_out, pq_out = tmp_path / "csv", tmp_path / "parquet"
    assert invoke(folder, csv_out, "--no-report").exit_code == 0
    seen = set()
    for path in sorted(csv_out.glob("*.csv")):
        table = rows(path)
        assert all(len(r) == len(table[0]) for r in table), path.name  # no row split by a CR
        for row in table[1:]:
            for cell in row:
                if cell.startswith(FORMULA_START):
                    float(cell)  # only a number may start with `-` (or `+`)
                seen.add(cell)
    assert "'" + DANGER_IDS[0] in seen and "'" + DANGER_IDS[3] in seen  # the ids are there, neutralised
    assert any(c.startswith(("'=", "'+", "'@", "'-")) and " " in c and c not in ("'" + i for i in DANGER_IDS)
               for c in seen)  # a reason that starts with a client's name
    assert any("\r" in c for c in seen)  # a CR inside a name, quoted
    assert invoke(folder, pq_out, "--no-report", "--format", "parquet").exit_code == 0
    ids = set(pd.read_parquet(pq_out / "recommendations.parquet")["client_id"])
    assert set(DANGER_IDS) <= ids  # Parquet and JSON keep the raw values
    assert DANGER_IDS[1] in (pq_out / "decisions.jsonl").read_text(encoding="utf-8")


def test_csv_outputs_have_a_byte_order_mark_unless_plain_utf8_is_asked(plain: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    for name in ("recommendations.csv", "worklists.csv", "coaching.csv", "bad_rows.csv"):
        assert (plain[1] / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    assert (plain[0] / "clients.csv").read_bytes().startswith(b"id,")  # sample-portfolio --encoding utf-8
    result = invoke(plain[0], tmp_path, "--no-report", "--csv-encoding", "utf-8")
    assert result.exit_code == 0, result.output
    for name in ("recommendations.csv", "worklists.csv", "coaching.csv", "bad_rows.csv"):
        assert not (tmp_path / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    assert (tmp_path / "recommendations.csv").read_bytes()[:-2].decode("utf-8") == \
        (plain[1] / "recommendations.csv").read_bytes()[3:-2].decode("utf-8")


def small(folder: Path, bad_events: int, good_events: int = 3) -> Path:
    folder.mkdir()
    (folder / "clients.csv").write_text("id,manager_id,domain\nB1,MB1,bank\nB2,MB1,bank,extra\n", encoding="utf-8")
    (folder / "managers.csv").write_text("id,domain\nMB1,bank\n", encoding="utf-8")
    events = [f"E{i},MB1,B1,loan_event,2026-10-01,open,120000" for i in range(good_events)]
    events += [f"X{i},MB1,B1,loan_event,2026-10-01,open,lots" for i in range(bad_events)]
    events += [f"S{i},MB1,B2,loan_event,2026-10-01,open,1" for i in range(5)]  # B2's row is ragged: skipped
    (folder / "history.csv").write_text("id,manager_id,client_id,kind,date,status,amount\n" + "\n".join(events)
                                        + "\n", encoding="utf-8")
    return folder


def test_more_bad_rows_than_allowed_stop_the_run_naming_the_file_and_line(tmp_path: Path) -> None:
    folder = small(tmp_path / "in", bad_events=10)
    out = tmp_path / "out"
    result = invoke(folder, out, "--max-bad-rows", "4")
    assert result.exit_code == 1
    history = str(folder / "history.csv")
    # B2's ragged row counts, its 5 events do not: the 4th bad event (line 8) is the 5th bad row
    assert f"{history}:8" in result.output and "too_many_bad_rows" in result.output
    assert "Traceback" not in result.output and not (out / "recommendations.csv").exists()
    assert [(line, code) for _, line, _, code in bad_rows(out)] == \
        [("3", "table_ragged_row"), ("5", "fact_type"), ("6", "fact_type"), ("7", "fact_type"), ("8", "fact_type"),
         ("8", "too_many_bad_rows")]
    result = invoke(folder, tmp_path / "more", "--max-bad-rows", "11", "--no-report")
    assert result.exit_code == 0, result.output
    assert "16 bad row(s) skipped" in result.output  # 1 client, 10 bad events, 5 events of the skipped client
    assert [code for _, _, _, code in bad_rows(tmp_path / "more")].count("fact_ref_skipped") == 5


@pytest.mark.parametrize("extra, message", [
    (["--as-of", "2026-13-01"], "--as-of"), (["--encoding", "klingon"], "--encoding"),
])
def test_a_bad_option_value_is_a_usage_error_not_a_traceback(extra: list[str], message: str, tmp_path: Path) -> None:
    folder = small(tmp_path / "in", bad_events=0)
    result = invoke(folder, tmp_path / "out", *extra)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_file_that_is_no_table_stops_the_run_with_its_name(tmp_path: Path) -> None:
    folder = small(tmp_path / "in", bad_events=0)
    (folder / "history.csv").write_bytes(b"PK\x03\x04\x14\x00 an xlsx workbook renamed")
    result = invoke(folder, tmp_path / "out")
    assert result.exit_code == 1
    assert f"{folder / 'history.csv'}: table_unreadable" in result.output and "Traceback" not in result.output


def test_a_forced_encoding_is_used_and_a_wrong_one_gives_located_bad_rows(plain: tuple[Path, Path],
                                                                           tmp_path: Path) -> None:
    folder = sample(tmp_path / "in", "gbk")
    assert invoke(folder, tmp_path / "ok", "--no-report", "--encoding", "gbk").exit_code == 0
    result = invoke(folder, tmp_path / "wrong", "--no-report", "--encoding", "utf-8", "--max-bad-rows", "10")
    assert result.exit_code == 1  # every Chinese name is a bad row: past the limit
    codes = {(file, code) for file, _, _, code in bad_rows(tmp_path / "wrong")}
    assert (str(folder / "managers.csv"), "table_encoding") in codes
