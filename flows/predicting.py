"""`nnflow predict`: raw rows in, labels and class probabilities out."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from flows.data import load_table
from flows.errors import DataError, UsageError

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def resolve_model_uri(model: str, *, experiment: str | None = None, data: str | None = None) -> str:
    """A run id, `runs:/`/`models:/` URI, `champion`, or a local model directory -> a URI."""
    if model.startswith(("runs:/", "models:/")) or Path(model).is_dir():
        return model
    if _RUN_ID.match(model):
        return f"runs:/{model}/model"
    if model == "champion":
        name = experiment or (Path(data).stem if data else None)
        if not name:
            raise UsageError("--model champion needs --experiment (or a --data file stem)")
        return f"models:/nnflow-{name}@champion"
    raise UsageError(
        f"--model: {model!r} is not a run id, a runs:/ or models:/ URI, "
        "'champion', or a model directory"
    )


def predict_frame(model_uri: str, frame: pd.DataFrame) -> pd.DataFrame:
    """`prediction` plus one `p_<class>` column per class, in the input's row order."""
    from flows.tracking import load_model

    pyfunc = load_model(model_uri)
    features = [c.name for c in pyfunc.metadata.get_input_schema().inputs]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing feature column(s) {', '.join(missing[:5])}"
            f"{' ...' if len(missing) > 5 else ''} expected by {model_uri}"
        )
    X = frame[features]
    non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(X[c])]
    if non_numeric:
        raise DataError(f"column {non_numeric[0]}: expected numbers, got {X[non_numeric[0]].dtype}")
    X = X.astype("float64")
    bad = ~np.isfinite(X.to_numpy())
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {features[col]}: {int(bad.sum())} missing or non-finite "
            f"values (first at data row {row})"
        )
    labels = pyfunc.predict(X)
    proba = pyfunc.predict(X, params={"predict_method": "predict_proba"})
    out = pd.DataFrame({"prediction": np.asarray(labels)}, index=frame.index)
    for column in proba.columns:
        out[f"p_{column}"] = proba[column].to_numpy()
    return out


def predict_file(model: str, data: str, out: str | None, *, experiment: str | None = None) -> int:
    """Predict every row of `data`; write CSV to `out` (or stdout). Returns the row count."""
    frame = load_table(data)
    uri = resolve_model_uri(model, experiment=experiment, data=data)
    result = predict_frame(uri, frame)
    if out is None:
        result.to_csv(sys.stdout, index=False)
    else:
        target = Path(out)
        tmp = target.with_name(target.name + ".part")
        result.to_csv(tmp, index=False)
        tmp.replace(target)  # no half-written file if anything above failed
    return len(result)
