"""``ValueTiers``: customers clustered on value features, clusters ordered by value and named.

k-means (scikit-learn) on standardized value features; k is chosen in ``k_range`` by the
silhouette score (default) or another internal criterion from :mod:`sklearn.metrics`, each
computed on the same seeded sample. The fitted state is plain numbers (scaler mean / scale,
imputation values, centres), so it is saved as JSON and never pickled.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances_argmin,
    silhouette_score,
)
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from smsseg import config
from smsseg.errors import SmssegError
from smsseg.tiers.profile import tier_profile
from smsseg.tiers.values import VALUE_WEIGHTS, value_matrix

#: criterion name -> (function of (X, labels), True when higher is better)
CRITERIA = {
    "silhouette": (silhouette_score, True),
    "calinski_harabasz": (calinski_harabasz_score, True),
    "davies_bouldin": (davies_bouldin_score, False),
}

#: Default tier names, top to bottom, for each number of tiers.
DEFAULT_TIER_NAMES: dict[int, tuple[str, ...]] = {
    1: ("Standard",),
    2: ("Gold", "Bronze"),
    3: ("Gold", "Silver", "Bronze"),
    4: ("Platinum", "Gold", "Silver", "Bronze"),
    5: ("Diamond", "Platinum", "Gold", "Silver", "Bronze"),
    6: ("Diamond", "Platinum", "Gold", "Silver", "Bronze", "Entry"),
}

FORMAT = "smsseg.value_tiers"
FORMAT_VERSION = 1


class TiersNotFittedError(SmssegError, NotFittedError):
    """``ValueTiers`` was used before ``fit`` (also a scikit-learn ``NotFittedError``)."""


class ValueTiers(BaseEstimator):
    """Value tiers: k-means on value features, k chosen by a stated criterion, clusters ordered.

    Parameters
    ----------
    k_range : (smallest, largest) number of tiers tried, inclusive.
    criterion : ``"silhouette"`` (default), ``"calinski_harabasz"`` or ``"davies_bouldin"``;
        the k with the best value is kept.
    names : tier names top to bottom, at least ``k_range[1]`` of them (the first k are used);
        ``None`` uses :data:`DEFAULT_TIER_NAMES` for the chosen k.
    value_weights : column -> direction of value (+ higher is better, - lower is better); orders
        the clusters and picks the imputation end. ``None``: :data:`VALUE_WEIGHTS`.
    n_init : k-means restarts per k.
    sample_size : rows the criterion is computed on (silhouette is quadratic in rows).
    random_state : seed of every random step (k-means, criterion sample, bootstrap).

    Attributes
    ----------
    k_ : int, number of tiers.
    names_ : tuple of str, tier names top to bottom.
    feature_names_in_ : ndarray of str.
    scaler_mean_, scaler_scale_ : ndarray, standardization learned in ``fit``.
    fill_values_ : ndarray, value imputed for NaN per column (the worst value seen in ``fit``).
    weights_ : ndarray, value weights per column.
    cluster_centers_ : ndarray (k, n_features), standardized centres, row 0 = top tier.
    criterion_values_ : dict k -> criterion value.
    labels_ : ndarray of str, tier of each training row.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"log_monetary": np.r_[rng.normal(2, .1, 50), rng.normal(6, .1, 50)],
    ...                   "log_frequency": np.r_[rng.normal(0.5, .1, 50), rng.normal(2, .1, 50)]})
    >>> tiers = ValueTiers(k_range=(2, 3)).fit(X)
    >>> tiers.k_, tiers.predict(X.iloc[[0, -1]]).tolist()
    (2, ['Bronze', 'Gold'])
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (3, 6),
        criterion: str = "silhouette",
        names: Sequence[str] | None = None,
        value_weights: Mapping[str, float] | None = None,
        n_init: int = 4,
        sample_size: int = 2000,
        random_state: int | None = config.DEFAULT_SEED,
    ):
        self.k_range = k_range
        self.criterion = criterion
        self.names = names
        self.value_weights = value_weights
        self.n_init = n_init
        self.sample_size = sample_size
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> tuple[int, int]:
        try:
            k_min, k_max = (int(k) for k in self.k_range)
        except (TypeError, ValueError):
            raise SmssegError(f"k_range={self.k_range!r} must be a pair (min, max)") from None
        if not 1 <= k_min <= k_max:
            raise SmssegError(f"k_range={self.k_range!r} must satisfy 1 <= min <= max")
        if self.criterion not in CRITERIA:
            raise SmssegError(f"criterion={self.criterion!r} must be one of {sorted(CRITERIA)}")
        if self.names is None and k_max not in DEFAULT_TIER_NAMES:
            raise SmssegError(
                f"k_range={self.k_range!r}: no default names beyond k={max(DEFAULT_TIER_NAMES)}; "
                "pass names=[...]"
            )
        if self.names is not None and len(self.names) < k_max:
            raise SmssegError(
                f"names={list(self.names)!r} has {len(self.names)} entries but k_range allows "
                f"up to {k_max} tiers"
            )
        return k_min, k_max

    def _check_X(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise SmssegError(
                "ValueTiers needs a DataFrame of value features (see smsseg.tiers.value_matrix)"
            )
        if len(X) == 0:
            raise SmssegError("ValueTiers got 0 customers; need at least 1")
        return X

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise TiersNotFittedError("this ValueTiers is not fitted yet; call fit(X) first")

    def _prepare(self, X) -> np.ndarray:
        """Standardized, imputed matrix of ``X`` with the columns seen in ``fit``."""
        self._check_fitted()
        X = self._check_X(X)
        expected = list(self.feature_names_in_)
        if list(X.columns) != expected:
            missing = sorted(set(expected) - set(X.columns))
            extra = sorted(set(X.columns) - set(expected))
            if missing or extra:
                raise SmssegError(
                    f"value features differ from fit: missing {missing}, unexpected {extra}"
                )
            X = X[expected]
        arr = X.to_numpy(dtype="float64", na_value=np.nan)
        arr = np.where(np.isnan(arr), self.fill_values_, arr)
        return (arr - self.scaler_mean_) / self.scaler_scale_

    # ------------------------------------------------------------------ fit
    def _weights(self, columns: Sequence[str]) -> np.ndarray:
        weights = dict(VALUE_WEIGHTS if self.value_weights is None else self.value_weights)
        unknown = [c for c in columns if c not in weights]
        if unknown:
            raise SmssegError(
                f"column(s) {unknown} have no value weight; pass value_weights={{name: +1 or -1}}"
            )
        return np.array([float(weights[c]) for c in columns])

    def fit(self, X: pd.DataFrame, y=None) -> ValueTiers:
        """Choose k, cluster, order the clusters by value and name them.

        Parameters
        ----------
        X : DataFrame of value features (rows: customers), e.g. from
            :func:`smsseg.tiers.value_matrix`. NaN is imputed with the worst value seen.
        y : ignored.

        Returns
        -------
        self

        Raises
        ------
        SmssegError
            On bad parameters, an empty frame, a column without a value weight or an all-NaN
            column.
        """
        k_min, k_max = self._check_params()
        X = self._check_X(X)
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.weights_ = self._weights(list(X.columns))
        arr = X.to_numpy(dtype="float64", na_value=np.nan)
        empty = [c for c, ok in zip(X.columns, (~np.isnan(arr)).any(axis=0), strict=True) if not ok]
        if empty:
            raise SmssegError(f"value feature(s) {empty} are missing for every customer")
        # worst end of each column: the minimum of a "higher is better" column, else the maximum
        self.fill_values_ = np.where(
            self.weights_ >= 0, np.nanmin(arr, axis=0), np.nanmax(arr, axis=0)
        )
        arr = np.where(np.isnan(arr), self.fill_values_, arr)
        scaler = StandardScaler().fit(arr)
        self.scaler_mean_ = scaler.mean_
        self.scaler_scale_ = scaler.scale_
        Z = scaler.transform(arr)
        k, centres = self._choose_k(Z, k_min, k_max)
        value = centres @ self.weights_
        order = np.argsort(-value, kind="stable")
        self.cluster_centers_ = centres[order]
        self.k_ = k
        names = DEFAULT_TIER_NAMES[k] if self.names is None else tuple(self.names)[:k]
        self.names_ = tuple(str(n) for n in names)
        self.n_features_in_ = Z.shape[1]
        self.labels_ = self._names_of(pairwise_distances_argmin(Z, self.cluster_centers_))
        return self

    def _kmeans(self, k: int, seed, Z: np.ndarray) -> KMeans:
        """A k-means fit on one OpenMP thread: with a handful of value features the work is
        tiny, and on shared, oversubscribed cores OpenMP's spinning threads made it ~30x slower."""
        with threadpool_limits(limits=1, user_api="openmp"):
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(Z)

    def _choose_k(self, Z: np.ndarray, k_min: int, k_max: int) -> tuple[int, np.ndarray]:
        """Fit k-means for each k in range and keep the best by the criterion."""
        n_distinct = len(np.unique(Z, axis=0))
        # internal criteria need 2 <= k < number of rows they are computed on
        largest = min(n_distinct, min(len(Z), self.sample_size) - 1)
        usable = [k for k in range(k_min, k_max + 1) if 2 <= k <= largest]
        self.criterion_values_ = {}
        if not usable:
            k = max(1, min(k_min, n_distinct))
            warnings.warn(
                f"only {n_distinct} distinct value profile(s) among {len(Z)} customers: fitting "
                f"{k} tier(s) instead of choosing k in {tuple(self.k_range)}",
                UserWarning,
                stacklevel=3,
            )
            model = self._kmeans(k, self.random_state, Z)
            return k, model.cluster_centers_
        score, higher_better = CRITERIA[self.criterion]
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(len(Z), size=min(len(Z), self.sample_size), replace=False)
        best = None
        for k in usable:
            model = self._kmeans(k, self.random_state, Z)
            labels = model.labels_[sample]
            value = float(score(Z[sample], labels)) if len(set(labels)) > 1 else float("nan")
            self.criterion_values_[k] = value
            key = value if higher_better else -value
            if not np.isnan(value) and (best is None or key > best[0]):
                best = (key, k, model.cluster_centers_)
        if best is None:  # every k collapsed on the sample: keep the smallest
            model = self._kmeans(usable[0], self.random_state, Z)
            return usable[0], model.cluster_centers_
        return best[1], best[2]

    # ------------------------------------------------------------------ use
    def _names_of(self, ranks: np.ndarray) -> np.ndarray:
        return np.asarray(self.names_, dtype=object)[ranks]

    def predict_rank(self, X: pd.DataFrame) -> np.ndarray:
        """Tier rank of each row: 0 is the top tier."""
        return pairwise_distances_argmin(self._prepare(X), self.cluster_centers_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Tier name of each row (nearest centre)."""
        return self._names_of(self.predict_rank(X))

    def value_score(self, X: pd.DataFrame) -> pd.Series:
        """A customer's value on the same scale that orders the tiers (standardized features
        dotted with the value weights); used to rank customers, e.g. for a top-share VIP rule."""
        score = self._prepare(X) @ self.weights_
        return pd.Series(score, index=X.index, name="value_score")

    def stability(self, X: pd.DataFrame, n_boot: int = 10, seed: int | None = None) -> list[float]:
        """Adjusted Rand index between the fitted tiers and ``n_boot`` bootstrap refits.

        Each refit draws rows with replacement, fits k-means with the fitted k, assigns every row
        of ``X`` to its nearest refitted centre and compares with :meth:`predict_rank` (ARI is
        invariant to how the refitted clusters are numbered).

        Returns
        -------
        list of float, one ARI per refit (1.0: identical partitions; about 0: chance agreement).
        """
        if n_boot < 1:
            raise SmssegError(f"n_boot={n_boot} must be >= 1")
        Z = self._prepare(X)
        reference = pairwise_distances_argmin(Z, self.cluster_centers_)
        if self.k_ == 1:
            return [1.0] * n_boot
        rng = np.random.default_rng(self.random_state if seed is None else seed)
        scores, degenerate = [], 0
        for _ in range(n_boot):
            rows = rng.integers(0, len(Z), size=len(Z))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model = self._kmeans(self.k_, int(rng.integers(2**31 - 1)), Z[rows])
            degenerate += any(issubclass(w.category, ConvergenceWarning) for w in caught)
            scores.append(float(adjusted_rand_score(reference, model.predict(Z))))
        if degenerate:  # one message instead of scikit-learn's per-refit warning
            warnings.warn(
                f"{degenerate} of {n_boot} bootstrap resamples had fewer distinct customers than "
                f"k={self.k_}; their ARI is low for that reason",
                UserWarning,
                stacklevel=2,
            )
        return scores

    def profile(self, features: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
        """The tier profile table of ``features`` (see :func:`smsseg.tiers.tier_profile`)."""
        X = value_matrix(features, scores)
        tier = pd.Series(self.predict(X), index=X.index)
        return tier_profile(tier, features, scores, self, value_score=self.value_score(X))

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """The fitted state as JSON-ready plain data (no pickle)."""
        self._check_fitted()
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "params": {
                "k_range": list(self.k_range),
                "criterion": self.criterion,
                "names": None if self.names is None else list(self.names),
                "value_weights": None if self.value_weights is None else dict(self.value_weights),
                "n_init": self.n_init,
                "sample_size": self.sample_size,
                "random_state": self.random_state,
            },
            "k": int(self.k_),
            "names": list(self.names_),
            "feature_names": [str(c) for c in self.feature_names_in_],
            "scaler": {"mean": self.scaler_mean_.tolist(), "scale": self.scaler_scale_.tolist()},
            "fill_values": self.fill_values_.tolist(),
            "weights": self.weights_.tolist(),
            "centres": self.cluster_centers_.tolist(),
            "criterion_values": {str(k): v for k, v in self.criterion_values_.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str | Mapping) -> ValueTiers:
        """Rebuild fitted tiers from :meth:`to_json` output (a string or the parsed dict)."""
        data = json.loads(text) if isinstance(text, str) else dict(text)
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise SmssegError(
                f"not a value-tiers file: format={data.get('format')!r} "
                f"version={data.get('version')!r} (expected {FORMAT!r} version {FORMAT_VERSION})"
            )
        try:
            params = dict(data["params"])
            params["k_range"] = tuple(params["k_range"])
            tiers = cls(**params)
            tiers.k_ = int(data["k"])
            tiers.names_ = tuple(data["names"])
            tiers.feature_names_in_ = np.array(data["feature_names"], dtype=object)
            tiers.n_features_in_ = len(tiers.feature_names_in_)
            tiers.scaler_mean_ = np.asarray(data["scaler"]["mean"], dtype="float64")
            tiers.scaler_scale_ = np.asarray(data["scaler"]["scale"], dtype="float64")
            tiers.fill_values_ = np.asarray(data["fill_values"], dtype="float64")
            tiers.weights_ = np.asarray(data["weights"], dtype="float64")
            tiers.cluster_centers_ = np.asarray(data["centres"], dtype="float64")
            tiers.criterion_values_ = {int(k): v for k, v in data["criterion_values"].items()}
        except (KeyError, TypeError) as exc:
            raise SmssegError(f"value-tiers file is incomplete: missing or bad {exc}") from None
        shape = (tiers.k_, tiers.n_features_in_)
        if tiers.cluster_centers_.shape != shape or len(tiers.names_) != tiers.k_:
            raise SmssegError(
                f"value-tiers file is inconsistent: centres {tiers.cluster_centers_.shape}, "
                f"{len(tiers.names_)} names, expected {shape}"
            )
        return tiers
