"""The MLflow ``pyfunc`` flavour of a model bundle: features in, scores out.

MLflow pickles a ``PythonModel`` instance unless it is logged "from code"; we log
:mod:`smsseg.tracking.pyfunc_model` (a file that builds the model) instead, so the logged model is
that file plus the bundle's LightGBM text and JSON files as artifacts - no pickle.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from smsseg.models.bundle import load_bundle
from smsseg.models.scoring import predict_scores

#: The models-from-code file MLflow stores with every logged model.
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")


class SmssegPyfuncModel(mlflow.pyfunc.PythonModel):
    """Loads the bundle from the ``bundle`` artifact; ``predict`` returns the scores frame.

    ``params`` may carry ``as_of`` (ISO date) for the next-order date; default: the bundle's.
    """

    def load_context(self, context) -> None:
        self.bundle = load_bundle(context.artifacts["bundle"])

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        as_of = (params or {}).get("as_of") or self.bundle.meta.get("as_of")
        scores = predict_scores(model_input, self.bundle, as_of)
        scores["churn_risk_band"] = scores["churn_risk_band"].astype(str)
        return scores.drop(columns=["reasons"])
