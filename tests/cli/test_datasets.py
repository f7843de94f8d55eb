"""cli/datasets.py: a table given as a directory of Parquet files (hive partitions) or a CSV glob
is read file by file, a bad row named by its own file and line, and a batch on such datasets
decides what it decides on the single files."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rm_advisor.cli.datasets import dataset_files, is_dataset, open_dataset, partition_values
from rm_advisor.cli.main import app
from rm_advisor.cli.tableio import TableReadError
from rm_advisor.engine.loading import load_knowledge_base, read_kb_files
from rm_advisor.engine.portfolio import Report
from rm_advisor.engine.portfolio.tables import check_input

runner = CliRunner()
AS_OF = "2026-11-23"


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    result = runner.invoke(app, ["sample-portfolio", "--out", str(folder), "--clients", "90", "--managers", "3",
                                 "--seed", "5"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def datasets(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clients and managers as Parquet partitioned by domain (the domain only in the folder
    names), history as three CSV files."""
    root = tmp_path_factory.mktemp("datasets")
    for name in ("clients", "managers"):
        for domain, part in read(sample / f"{name}.csv").groupby("domain"):
            folder = root / name / f"domain={domain}"
            folder.mkdir(parents=True)
            part.drop(columns=["domain"]).to_parquet(folder / "part-0.parquet", index=False)
    history = read(sample / "history.csv")
    (root / "history").mkdir()
    third = len(history) // 3
    for i, part in enumerate((history.iloc[:third], history.iloc[third:2 * third], history.iloc[2 * third:])):
        part.to_csv(root / "history" / f"history-{i}.csv", index=False)
    return root


def test_a_directory_or_a_glob_is_a_dataset_and_its_files_come_in_path_order(datasets: Path) -> None:
    assert is_dataset(datasets / "clients") and is_dataset(datasets / "history" / "*.csv")
    assert not is_dataset(datasets / "history" / "history-0.csv")
    assert [p.name for p in dataset_files(datasets / "history" / "history-*.csv")] == \
        ["history-0.csv", "history-1.csv", "history-2.csv"]
    assert [p.parent.name for p in dataset_files(datasets / "clients")] == \
        ["domain=bank", "domain=telecom", "domain=tobacco"]
    assert partition_values(datasets / "clients" / "domain=bank" / "part-0.parquet", datasets / "clients") == \
        {"domain": "bank"}


def test_a_bad_row_is_named_by_its_own_file_and_line(datasets: Path, tmp_path: Path) -> None:
    for i in range(2):
        frame = read(datasets / "history" / f"history-{i}.csv")
        frame.loc[frame.index[2], "date"] = "not a date"
        frame.to_csv(tmp_path / f"h-{i}.csv", index=False)
    kb = load_knowledge_base(read_kb_files())
    report = Report()
    with ExitStack() as stack:
        table, _ = open_dataset(tmp_path / "h-*.csv", set(kb.facts["interaction"].fields), stack)
        check_input(table, kb.facts["interaction"], "interaction", str(tmp_path / "h-*.csv"), report)
    bad = [(Path(d.location.file).name, d.location.line, d.location.path) for d in report.held]
    assert bad == [("h-0.csv", 4, "date"), ("h-1.csv", 4, "date")]  # the third row of each file, after its header


def test_the_hive_partition_becomes_a_column_of_every_row(datasets: Path) -> None:
    kb = load_knowledge_base(read_kb_files())
    with ExitStack() as stack:
        table, _ = open_dataset(datasets / "clients", set(kb.facts["client"].fields), stack)
        frames = [c.frame for c in table.chunks]
    assert "domain" in table.columns
    assert sorted(set(pd.concat(frames)["domain"])) == ["bank", "telecom", "tobacco"]


def test_an_empty_dataset_is_unreadable(tmp_path: Path) -> None:
    with ExitStack() as stack, pytest.raises(TableReadError, match="no files"):
        open_dataset(tmp_path / "none-*.csv", {"id"}, stack)


def test_a_batch_on_datasets_decides_as_on_the_single_files(sample: Path, datasets: Path, tmp_path: Path) -> None:
    def batch(clients: Path, managers: Path, history: Path, out: Path) -> None:
        result = runner.invoke(app, ["batch", "--clients", str(clients), "--managers", str(managers),
                                     "--history", str(history), "--out", str(out), "--as-of", AS_OF, "--jobs", "1",
                                     "--no-report"])
        assert result.exit_code == 0, result.output

    batch(sample / "clients.csv", sample / "managers.csv", sample / "history.csv", tmp_path / "files")
    batch(datasets / "clients", datasets / "managers", datasets / "history" / "history-*.csv", tmp_path / "sets")
    for name in ("recommendations.csv", "worklists.csv", "coaching.csv", "to_confirm.csv", "bad_rows.csv"):
        assert (tmp_path / "sets" / name).read_bytes() == (tmp_path / "files" / name).read_bytes(), name
