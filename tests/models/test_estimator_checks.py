"""scikit-learn's estimator contract (``parametrize_with_checks``) on every smsseg estimator.

A check that cannot apply is listed with its reason in :func:`expected_failed_checks` (the
mechanism of scikit-learn >= 1.6); every other check must pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from smsseg.models import CalibratedLGBMClassifier, NextOrderRegressor, TLearner, XLearner
from smsseg.models.lgbm import LGBMEstimator

# the checks' datasets have a handful of rows per class: the classifier says so, as designed
pytestmark = pytest.mark.filterwarnings("ignore:validation rows hold fewer than 4:UserWarning")

#: Small and single-threaded: the checks fit on tens of rows, and two LightGBM processes on
#: two cores must not spin-wait on each other.
FAST = {"n_estimators": 20, "min_child_samples": 2, "n_jobs": 1}
ESTIMATORS = [
    CalibratedLGBMClassifier(**FAST),
    NextOrderRegressor(**FAST),
    TLearner(**FAST, n_folds=2),
    XLearner(**FAST, n_folds=2),
]

#: The uplift learners learn from a randomized test: ``fit(X, treatment, y)``. Every check that
#: fits with ``fit(X, y)`` gives ``y`` as the treatment and no outcome, so it cannot apply;
#: ``test_uplift_learners_keep_the_contract_with_a_treatment`` runs the same rules with one.
UPLIFT_FIT = (
    "fit(X, treatment, y) needs each row's arm of a randomized test besides its outcome; the "
    "check calls fit(X, y)"
)
UPLIFT_CHECKS_THAT_FIT = (
    "check_complex_data",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit1d",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
)


def expected_failed_checks(estimator) -> dict[str, str]:
    """The checks that cannot apply to ``estimator``, each with the reason."""
    if isinstance(estimator, TLearner | XLearner):
        return dict.fromkeys(UPLIFT_CHECKS_THAT_FIT, UPLIFT_FIT)
    if isinstance(estimator, NextOrderRegressor):
        return {
            "check_regressors_train": (
                "predictions are days to the next order, clipped at 0 (a wait cannot be "
                "negative); the check's standardized target is half negative"
            )
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_every_estimator_shares_the_lightgbm_base():
    assert all(isinstance(e, LGBMEstimator) for e in ESTIMATORS)


@pytest.mark.parametrize("learner", [TLearner, XLearner], ids=["t", "x"])
def test_uplift_learners_keep_the_contract_with_a_treatment(learner):
    """What the fitting checks ask, with the treatment the learners need."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    t = np.arange(200) % 2
    y = (X[:, 0] + t * X[:, 1] + rng.normal(size=200) > 0).astype(int)
    model = learner(**FAST, n_folds=2)
    params = model.get_params()
    fitted = model.fit(X, t, y)
    assert fitted is model  # fit returns self
    assert model.get_params() == params  # fit does not change the parameters
    assert model.n_features_in_ == 3
    again = clone(model).fit(X, t, y)  # deterministic: the same seed gives the same model
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # rows are scored independently of each other and of their order
    order = rng.permutation(200)
    np.testing.assert_allclose(model.predict(X[order]), model.predict(X)[order])
    np.testing.assert_allclose(model.predict(X[:7]), model.predict(X)[:7])
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3 features"):
        model.predict(X[:, :2])
