"""``--lang``: every command's own words come from the message catalogue in the language asked for.

With ``--lang en`` no command writes Chinese of its own: what Chinese remains is data (a client's
or manager's name in the facts, a rule's source quote), and each such text is found in that data.
With ``--lang zh`` the same commands speak Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app, sample_facts_path
from rm_advisor.engine.portfolio import AS_OF
from tests.conftest import ROOT

runner = CliRunner()
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


def _quotes() -> str:
    """The source quotes of the shipped rules and knowledge base (data: they quote Chinese documents)."""
    lines = [line for top in ("rules", "knowledge_base") for p in sorted((ROOT / top).rglob("*.yaml"))
             for line in p.read_text(encoding="utf-8").splitlines() if "quote:" in line]
    return "\n".join(lines)


def _not_data(output: str, *data: str) -> list[str]:
    """The Chinese runs of ``output`` that none of ``data`` holds: the command's own words."""
    corpus = "\n".join((_quotes(), *data))
    return sorted({run for run in CJK.findall(output) if run not in corpus})


def _run(*args: str | Path) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_recommend_and_demo_in_english_write_no_chinese_of_their_own() -> None:
    facts = sample_facts_path().read_text(encoding="utf-8")
    for args in (("demo", "--lang", "en"), ("recommend", sample_facts_path(), "--lang", "en"),
                 ("recommend", sample_facts_path(), "--lang", "en", "--brief")):
        output = _run(*args)
        assert "next-best-actions" in output and "coaching" in output
        assert _not_data(output, facts) == [], args


def test_recommend_in_chinese_speaks_chinese() -> None:
    output = _run("demo", "--lang", "zh")
    assert "下一步行动" in output and "规则集版本" in output and "next-best-actions" not in output


def test_check_and_test_in_english_and_in_chinese() -> None:
    assert _not_data(_run("check", "--lang", "en")) == []
    assert "通过：" in _run("check", "--lang", "zh")
    scenarios = sorted((ROOT / "rules").glob("*.scenarios.yaml"))[0]
    english = _run("test", str(scenarios), "--lang", "en")
    assert english.splitlines()[-1].startswith("OK: ") and _not_data(english) == []
    assert "个通过" in _run("test", str(scenarios), "--lang", "zh")


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("portfolio")
    _run("sample-portfolio", "--out", folder, "--clients", "60", "--managers", "3", "--lang", "en")
    return folder


def _data(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8-sig") for p in sorted(folder.glob("*.csv")))


def test_batch_report_and_effectiveness_in_english(portfolio: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    out = tmp_path / "out"
    terminal = _run("batch", "--clients", portfolio / "clients.csv", "--managers", portfolio / "managers.csv",
                    "--history", portfolio / "history.csv", "--out", out, "--as-of", AS_OF.isoformat(),
                    "--jobs", "1", "--db", db, "--lang", "en")
    assert "recommendations; worklists:" in terminal and _not_data(terminal, _data(portfolio)) == []
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Worklists per manager" in html and "Effectiveness" in html
    assert _not_data(html, _data(portfolio)) == []
    # the CSV outputs keep their stable column names in every language
    assert (out / "recommendations.csv").read_text(encoding="utf-8-sig").startswith("manager_id,client_id,rank")
    report = _run("report", "effectiveness", "--db", db, "--lang", "en")
    assert report.startswith("Effectiveness ") and _not_data(report) == []
    assert _run("report", "effectiveness", "--db", db, "--lang", "zh").startswith("建议采纳情况 ")


def test_the_report_in_chinese_and_in_both(portfolio: Path, tmp_path: Path) -> None:
    args: list[str | Path] = ["batch", "--clients", portfolio / "clients.csv", "--managers", portfolio / "managers.csv",
            "--history", portfolio / "history.csv", "--as-of", AS_OF.isoformat(), "--jobs", "1"]
    zh = _run(*args, "--out", tmp_path / "zh", "--lang", "zh")
    assert "项建议；工作清单" in zh
    html = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert "各客户经理工作清单" in html and "Worklists per manager" not in html
    _run(*args, "--out", tmp_path / "both", "--lang", "both", "--no-report")
    _run(*args, "--out", tmp_path / "both")  # the default: both languages, as before
    both = (tmp_path / "both" / "report.html").read_text(encoding="utf-8")
    assert "各客户经理工作清单 Worklists per manager" in both and '<span class="muted">' in both
