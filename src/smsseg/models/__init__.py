"""Models: churn risk, discount sensitivity, uplift, next order, baselines, evaluation.

The estimators follow the scikit-learn contract and save as LightGBM native text plus JSON (no
pickle). MLflow lives in :mod:`smsseg.tracking`, imported only when logging (MLflow is slow to
import).
"""

from smsseg.models._frame import ColumnMismatchError, ModelNotFittedError
from smsseg.models.baselines import RecencyRule, bgnbd_churn_probability
from smsseg.models.bundle import ModelBundle, load_bundle, resolve_model_dir, save_bundle
from smsseg.models.calibration import Calibrator, select_calibrator
from smsseg.models.classifier import CalibratedLGBMClassifier
from smsseg.models.explain import top_reasons
from smsseg.models.lgbm import LGBMEstimator
from smsseg.models.metrics import (
    binary_metrics,
    compare_scores,
    expected_calibration_error,
    lift_and_capture,
)
from smsseg.models.next_order import NextOrderRegressor
from smsseg.models.scoring import RiskBands, add_reasons, predict_scores, score_customers
from smsseg.models.train import TrainResult, TrainSettings, train_models
from smsseg.models.uplift import TLearner, UpliftLearner, XLearner, make_learner
from smsseg.models.uplift_metrics import (
    auuc,
    bootstrap,
    qini_coefficient,
    qini_curve,
    spearman,
    uplift_at_k,
    uplift_metrics,
    versus_oracle,
)

__all__ = [
    "CalibratedLGBMClassifier",
    "Calibrator",
    "ColumnMismatchError",
    "ModelBundle",
    "ModelNotFittedError",
    "NextOrderRegressor",
    "RecencyRule",
    "RiskBands",
    "LGBMEstimator",
    "TLearner",
    "TrainResult",
    "TrainSettings",
    "UpliftLearner",
    "XLearner",
    "add_reasons",
    "auuc",
    "bgnbd_churn_probability",
    "binary_metrics",
    "bootstrap",
    "compare_scores",
    "expected_calibration_error",
    "lift_and_capture",
    "load_bundle",
    "make_learner",
    "predict_scores",
    "qini_coefficient",
    "qini_curve",
    "resolve_model_dir",
    "save_bundle",
    "score_customers",
    "select_calibrator",
    "spearman",
    "top_reasons",
    "train_models",
    "uplift_at_k",
    "uplift_metrics",
    "versus_oracle",
]
