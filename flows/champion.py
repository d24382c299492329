"""Champion promotion: a registered version takes the `champion` alias only on merit.

A candidate beats the champion when, on the same data (same sha256 digest), its
validation accuracy is higher, or equal with a lower validation cost. A champion
trained on other data cannot be compared on these numbers, so the candidate is scored
against the champion's own recorded metrics only when the digests match; otherwise the
champion is re-scored on the candidate's validation rows before comparing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flows.prepare import split_rows
from flows.tracking import Registry, Tracker, load_model


@dataclass(frozen=True)
class Score:
    val_accuracy: float
    val_cost: float

    def beats(self, other: Score) -> bool:
        return (self.val_accuracy, -self.val_cost) > (other.val_accuracy, -other.val_cost)


def best_run(runs: list) -> object | None:
    """The best FINISHED run by validation accuracy; ties go to the lower validation cost."""
    finished = [r for r in runs if r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics]
    if not finished:
        return None
    return max(
        finished,
        key=lambda r: (
            r.data.metrics["val_accuracy"],
            -r.data.metrics.get("val_cost", float("inf")),
        ),
    )


def rescorer(
    frame: pd.DataFrame, *, label: str, split_seed: int, fractions, tracking: str | None = None
) -> Callable[[str], Score]:
    """`rescore(model_uri) -> Score`: another model's accuracy on this run's validation rows.

    Its validation cost cannot be computed on the same terms (it needs that model's own
    lam), so it counts as infinite: on new data, a tie in accuracy goes to the new model.
    """
    _, val_rows, _ = split_rows(frame, label=label, seed=split_seed, fractions=fractions)
    rows = frame.iloc[val_rows]

    def rescore(model_uri: str) -> Score:
        predicted = np.asarray(load_model(model_uri, tracking).predict(rows.drop(columns=[label])))
        truth = rows[label].to_numpy()
        return Score(float(np.mean(predicted.astype(str) == truth.astype(str))), float("inf"))

    return rescore


def model_name(experiment: str) -> str:
    return f"nnflow-{experiment}"


def promote(tracker: Tracker, run_id: str, experiment: str, rescore=None) -> dict[str, str]:
    """Register `run_id`'s model; move `champion` to it only if it beats the champion.

    `rescore(model_uri) -> Score` scores another model on this run's validation data; it
    is used when the champion was trained on a different data digest. Returns a summary
    (`version`, `alias`: champion|challenger, `reason`).
    """
    registry = Registry(tracker)
    name = model_name(experiment)
    run = tracker.get_run(run_id)
    if run.info.status != "FINISHED":
        raise ValueError(f"run {run_id} is {run.info.status}: only finished runs are promoted")
    metrics, digest = run.data.metrics, run.data.params["data_digest"]
    candidate = Score(metrics["val_accuracy"], metrics["val_cost"])
    version = registry.register(
        name,
        run_id,
        run.data.tags["model_uri"],
        tags={
            "data_digest": digest,
            "val_accuracy": candidate.val_accuracy,
            "val_cost": candidate.val_cost,
        },
    )
    current = registry.version_by_alias(name, "champion")
    if current is None:
        won, reason = True, "no champion yet"
    else:
        same_data = current.tags.get("data_digest") == digest
        if same_data or rescore is None:
            held = Score(float(current.tags["val_accuracy"]), float(current.tags["val_cost"]))
            basis = (
                "recorded metrics on the same data"
                if same_data
                else "recorded metrics; the champion was trained on other data"
            )
        else:
            held = rescore(current.source)
            basis = "champion re-scored on this run's validation data"
        won = candidate.beats(held)
        reason = (
            f"val_accuracy {candidate.val_accuracy:.4f} vs champion v{current.version} "
            f"{held.val_accuracy:.4f} ({basis})"
        )
    alias = "champion" if won else "challenger"
    if won:
        registry.set_alias(name, "champion", version)
    registry.tag_version(name, version, "role", alias)
    tracker.set_tags(run_id, {"registered_version": version, "registry_role": alias})
    return {"model": name, "version": version, "alias": alias, "reason": reason}
