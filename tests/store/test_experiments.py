"""store/service.py: deciding in a champion/challenger experiment (each subject by its arm's rule
set, logged with the arm) and the experiment report, on simulated managers with a planted effect."""

from __future__ import annotations

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.experiments import Experiment
from rm_advisor.engine.language import SubjectKey
from rm_advisor.store import ExperimentRun, Store, StoreError, decide_in_experiment, experiment_report, replay
from tests.store.simulated_managers import Managers, clients

TRIAL = Experiment.model_validate({"id": "trial", "arms": [{"name": "champion", "rules": "rules"},
                                                           {"name": "challenger", "rules": "rules"}],
                                   "start": "2026-12-01", "end": "2026-12-31"})


def _run_and_answer(store: Store, advisor: Advisor, managers: Managers, batches: int = 4) -> None:
    run = ExperimentRun(TRIAL, {"champion": advisor, "challenger": advisor})
    decided = [d for b in range(batches) for d in decide_in_experiment(store, run, clients(b * 20, 20))]
    managers.answer(store, decided)


def test_each_client_is_decided_and_logged_in_its_arm(store: Store, advisor: Advisor) -> None:
    run = ExperimentRun(TRIAL, {"champion": advisor, "challenger": advisor})
    decided = decide_in_experiment(store, run, clients(0, 12))
    assert len(decided) == 12  # one logged decision per client
    for decision, arm in decided:
        [subject] = decision.clients
        assert arm is not None and arm.arm == TRIAL.assign(SubjectKey("client", subject.id))
        assert decision.id is not None
        logged = store.decisions.get(decision.id)
        assert logged.experiment == arm and logged.subject == f"client:{subject.id}"
        assert replay(store.decisions, decision.id).on_logged.identical
    assert {arm.arm for _, arm in decided if arm} == {"champion", "challenger"}
    outside = decide_in_experiment(store, run, clients(0, 12, as_of="2027-01-04"))
    assert [arm for _, arm in outside] == [None] and len(outside[0][0].clients) == 12  # after its end: champion


def test_the_report_finds_the_planted_better_arm_at_the_planted_effect(store: Store, advisor: Advisor) -> None:
    _run_and_answer(store, advisor, Managers({"champion": 0.30, "challenger": 0.50}))
    report = experiment_report(store, "trial")
    champion, challenger = report.arms
    assert (champion.name, challenger.name) == ("champion", "challenger")
    assert min(champion.shown, challenger.shown) >= report.min_per_arm
    for arm, planted in ((champion, 0.30), (challenger, 0.50)):
        assert arm.acceptance.low is not None and arm.acceptance.high is not None
        assert arm.acceptance.low <= planted <= arm.acceptance.high
    acceptance = next(c for c in report.comparisons if c.metric == "acceptance")
    assert acceptance.verdict == "better" and report.enough_evidence
    assert acceptance.low is not None and acceptance.high is not None
    assert acceptance.low <= 0.20 <= acceptance.high and acceptance.low > 0
    assert acceptance.p_value is not None and acceptance.p_value < 0.05
    assert "challenger is better than champion" in acceptance.summary.en


def test_no_effect_is_not_enough_evidence(store: Store, advisor: Advisor) -> None:
    _run_and_answer(store, advisor, Managers({"champion": 0.40, "challenger": 0.40}))
    report = experiment_report(store, "trial")
    assert [c.verdict for c in report.comparisons] == ["not_enough_evidence", "not_enough_evidence"]
    assert not report.enough_evidence
    assert all(c.p_value is not None and c.p_value >= 0.05 for c in report.comparisons)


def test_too_few_recommendations_are_not_enough_evidence_even_with_an_effect(store: Store, advisor: Advisor) -> None:
    _run_and_answer(store, advisor, Managers({"champion": 0.10, "challenger": 0.90}), batches=1)
    report = experiment_report(store, "trial")
    assert {c.verdict for c in report.comparisons} == {"not_enough_evidence"}
    assert {c.p_value for c in report.comparisons} == {None}
    assert "100 needed" in report.comparisons[0].summary.en
    assert experiment_report(store, "trial", min_per_arm=10).enough_evidence  # a smaller minimum judges it


def test_an_unknown_experiment_or_champion_is_refused(store: Store, advisor: Advisor) -> None:
    with pytest.raises(StoreError) as exc:
        experiment_report(store, "trial")
    assert exc.value.diagnostics[0].code == "experiment_not_found"
    _run_and_answer(store, advisor, Managers({"champion": 0.5, "challenger": 0.5}), batches=1)
    with pytest.raises(StoreError) as exc:
        experiment_report(store, "trial", champion="control")
    assert exc.value.diagnostics[0].code == "experiment_not_found"
    assert "champion, challenger" in exc.value.diagnostics[0].message or \
        "challenger, champion" in exc.value.diagnostics[0].message
