"""cli/learning_demo.py: `rm-advisor demo --learning` shows a decision whose ranking changed because
of feedback, with the explanation."""

from __future__ import annotations

from typer.testing import CliRunner

from rm_advisor.cli.main import app


def test_the_learning_demo_ranks_the_accepted_action_first_and_explains_why() -> None:
    result = CliRunner().invoke(app, ["demo", "--learning", "--lang", "en"])
    assert result.exit_code == 0, result.output
    before, after = result.output.split("After 7 days of feedback on 28 retailers")
    first_before = before.split("Before any feedback")[1].split(" 1. ")[1].splitlines()[0]
    first_after = after.split(" 1. ")[1].splitlines()[0]
    assert "promote_e_settlement" not in first_before and "promote_e_settlement" in first_after
    assert "accepted 28 of 28 in tobacco class B over 90 days → propensity 0.90" in after
    # the training, turned down, ranks last and the weekly contact cap holds it back
    assert "⏸ [75] Teach the retailer to spot counterfeits" in after
    assert "⏸ [75] Teach the retailer to spot counterfeits" not in before
