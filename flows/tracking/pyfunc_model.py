"""The MLflow pyfunc model, logged "from code": this file is the model's definition.

MLflow copies this file into the model directory and executes it on load; the weights
and the preparation come from the model's artifacts (`thetas.npz`, `preprocessing.json`),
so loading the model unpickles nothing.

`predict(df)` takes raw feature columns (any order, extra columns ignored) and returns
the original class labels; `predict(df, params={"predict_method": "predict_proba"})`
returns one probability column per class, named after the class.
"""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd

from flows.prepare import decode_labels, transform_features
from nncore import load_thetas, predict_proba


class NnflowModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.thetas = load_thetas(context.artifacts["thetas"])
        with open(context.artifacts["preprocessing"], encoding="utf-8") as f:
            self.preprocessing = json.load(f)

    def predict_proba(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities, one column per class (K = 1 outputs are expanded to 2)."""
        P = predict_proba(self.thetas, transform_features(model_input, self.preprocessing))
        if P.shape[1] == 1:  # two classes, one sigmoid output = P(class 1)
            P = np.hstack([1.0 - P, P])
        return pd.DataFrame(P, columns=[str(c) for c in self.preprocessing["classes"]])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        if (params or {}).get("predict_method") == "predict_proba":
            return self.predict_proba(model_input)
        P = self.predict_proba(model_input).to_numpy()
        return pd.Series(decode_labels(P.argmax(axis=1), self.preprocessing), name="prediction")


mlflow.models.set_model(NnflowModel())
