"""The champion rule against a real MLflow store: the alias moves only on improvement."""

from __future__ import annotations

import pytest

from flows.champion import Score, best_run, promote
from flows.tracking import Tracker


def finished_run(
    tracker: Tracker, experiment_id: str, val_accuracy: float, val_cost: float, digest: str = "d1"
) -> str:
    """A FINISHED run carrying what promotion reads (a model URI stands in for the model)."""
    run_id = tracker.start_run(experiment_id, "point")
    tracker.log_params(run_id, {"data_digest": digest})
    tracker.log_metrics(run_id, {"val_accuracy": val_accuracy, "val_cost": val_cost})
    tracker.set_tags(run_id, {"model_uri": f"runs:/{run_id}/model"})
    tracker.end_run(run_id)
    return run_id


@pytest.fixture
def tracker(project) -> Tracker:
    tracker = Tracker()
    tracker.ensure_store()
    return tracker


def test_alias_moves_only_on_improvement(tracker):
    exp = tracker.experiment_id("champ")
    first = finished_run(tracker, exp, 0.90, 0.30)
    assert promote(tracker, first, "champ")["alias"] == "champion"
    worse = finished_run(tracker, exp, 0.85, 0.20)
    assert promote(tracker, worse, "champ")["alias"] == "challenger"
    tie_but_costlier = finished_run(tracker, exp, 0.90, 0.35)
    assert promote(tracker, tie_but_costlier, "champ")["alias"] == "challenger"
    better = finished_run(tracker, exp, 0.90, 0.25)
    outcome = promote(tracker, better, "champ")
    assert outcome["alias"] == "champion"
    champion = tracker.client.get_model_version_by_alias("nnflow-champ", "champion")
    assert champion.run_id == better and str(champion.version) == outcome["version"] == "4"


def test_failed_runs_are_never_promoted(tracker):
    exp = tracker.experiment_id("champ")
    run_id = tracker.start_run(exp, "broken")
    tracker.end_run(run_id, failed_reason="TrainingDiverged: cost is inf")
    with pytest.raises(ValueError, match="only finished runs"):
        promote(tracker, run_id, "champ")
    assert best_run([tracker.get_run(run_id)]) is None


def test_other_data_is_compared_by_rescoring_the_champion(tracker):
    exp = tracker.experiment_id("champ")
    promote(tracker, finished_run(tracker, exp, 0.99, 0.1, digest="old"), "champ")
    newer = finished_run(tracker, exp, 0.80, 0.5, digest="new")
    # On the new data the old champion only manages 0.70: the new run wins.
    outcome = promote(tracker, newer, "champ", rescore=lambda uri: Score(0.70, 0.9))
    assert outcome["alias"] == "champion" and "re-scored" in outcome["reason"]


def test_score_ordering():
    assert Score(0.9, 0.5).beats(Score(0.8, 0.1))
    assert Score(0.9, 0.1).beats(Score(0.9, 0.2))
    assert not Score(0.9, 0.2).beats(Score(0.9, 0.2))


def test_rescorer_scores_a_logged_model_on_the_validation_rows(prefect_api, project):
    """A real model, re-scored on iris's validation rows, matches its logged accuracy."""
    import pandas as pd

    from flows.champion import rescorer
    from flows.params import TrainParams
    from flows.pipeline import train_flow

    params = TrainParams(data="data/iris.csv", max_iter=30, seed=4)
    run = Tracker().get_run(train_flow(params))
    rescore = rescorer(
        pd.read_csv("data/iris.csv"), label="label", split_seed=4, fractions=params.fractions
    )
    score = rescore(run.data.tags["model_uri"])
    assert score.val_accuracy == pytest.approx(run.data.metrics["val_accuracy"])
