"""From a feature frame to the float matrix LightGBM sees, with category levels learned in ``fit``.

Categorical columns (strings, pandas ``category``) are encoded as integer codes over the levels
seen in ``fit`` and handed to LightGBM as categorical features; a level unseen in ``fit`` and a
missing value both become NaN, which LightGBM routes as "missing". Keeping the levels in our JSON
metadata (rather than relying on LightGBM's ``pandas_categorical`` trailer) makes the saved model
independent of pandas and lets prediction skip pandas' categorical machinery on a million rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array
from sklearn.utils.validation import column_or_1d

from smsseg.errors import SmssegError


class ModelNotFittedError(SmssegError, NotFittedError):
    """A model was used before ``fit`` (also a scikit-learn ``NotFittedError``)."""


class ColumnMismatchError(SmssegError, ValueError):
    """The columns given to ``predict`` differ from those seen in ``fit``."""


def as_frame(X) -> pd.DataFrame:
    """``X`` as a DataFrame with string column names (arrays get ``x0, x1, ...``).

    A frame keeps its columns (string and category columns are categorical features); anything
    else goes through scikit-learn's :func:`~sklearn.utils.check_array` (2-d, numeric, dense,
    at least one row and column; NaN allowed, LightGBM routes it), which words the errors.
    """
    if isinstance(X, pd.DataFrame):
        if not all(isinstance(c, str) for c in X.columns):
            X = X.rename(columns=str)
        return X
    arr = check_array(X, dtype="numeric", ensure_all_finite="allow-nan", input_name="X")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def check_target(y, estimator: str) -> np.ndarray:
    """``y`` as a 1-d array of finite values (a column vector is raveled with a warning)."""
    if y is None:
        raise ValueError(f"{estimator} requires y to be passed, but the target y is None")
    y = column_or_1d(y, warn=True)
    return check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="y")


def is_categorical(series: pd.Series) -> bool:
    """Strings, objects and pandas categories are categorical; numbers and booleans are not."""
    dtype = series.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)


def learn_categories(X: pd.DataFrame) -> dict[str, list[str]]:
    """Levels (as strings) of every categorical column of ``X``.

    A pandas ``category`` column contributes its declared categories (so a caller can fix the
    levels shared by several models); other string columns their sorted distinct values.
    """
    categories = {}
    for name in X.columns:
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            categories[name] = [str(v) for v in col.cat.categories]
        elif is_categorical(col):
            categories[name] = sorted(str(v) for v in pd.unique(col.dropna().astype(str)))
    return categories


def shared_levels(
    frame: pd.DataFrame, features: list[str], levels: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Cast categorical features to pandas categories with one level list for every model."""
    out = frame.copy()
    levels = dict(levels or {})
    for name in features:
        col = out[name]
        if not is_categorical(col):
            continue
        values = (
            col.astype(object).where(col.notna(), None).map(lambda v: v if v is None else str(v))
        )
        if name not in levels:
            levels[name] = sorted(v for v in values.dropna().unique())
        out[name] = pd.Categorical(values, categories=levels[name])
    return out, levels


def check_columns(X: pd.DataFrame, features: Sequence[str], where: str) -> None:
    """Raise :class:`ColumnMismatchError` unless ``X`` has exactly ``features`` (any order)."""
    given = [str(c) for c in X.columns]
    missing = [f for f in features if f not in set(given)]
    extra = [c for c in given if c not in set(features)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing[:10]}{' ...' if len(missing) > 10 else ''}")
        if extra:
            parts.append(f"unexpected {extra[:10]}{' ...' if len(extra) > 10 else ''}")
        raise ColumnMismatchError(
            f"X has {len(given)} features, but {where} is expecting {len(features)} features as "
            f"input: {' and '.join(parts)}. Pass the same feature columns as in fit "
            "(e.g. X[model.feature_names_in_])."
        )


def _numeric(col: pd.Series, name: str) -> np.ndarray:
    try:
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ColumnMismatchError(
            f"column {name!r} has dtype {col.dtype} but was numeric in fit; it must hold numbers"
        ) from exc


def _codes(col: pd.Series, levels: Sequence[str]) -> np.ndarray:
    # Hash look-ups over the learned levels; unseen levels and missing values get -1 → NaN,
    # which LightGBM treats as missing. A category column is recoded through its categories
    # (a handful of look-ups) instead of row by row.
    index = pd.Index(list(levels), dtype=object)
    if isinstance(col.dtype, pd.CategoricalDtype):
        lookup = np.append(index.get_indexer(col.cat.categories.astype(str)), -1)
        codes = lookup[col.cat.codes.to_numpy()]  # code -1 (missing) reads lookup[-1] = -1
    else:
        values = (
            col
            if isinstance(col.dtype, pd.StringDtype)
            else col.astype(str).where(col.notna(), None)
        )
        codes = index.get_indexer(values.astype(object))
    codes = codes.astype(np.float64)
    codes[codes < 0] = np.nan
    return codes


def to_matrix(
    X: pd.DataFrame, features: Sequence[str], categories: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """C-ordered float64 matrix of ``X[features]``; categoricals as codes over learned levels."""
    out = np.empty((len(X), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        col = X[name]
        if name in categories:
            out[:, j] = _codes(col, categories[name])
        else:
            out[:, j] = _numeric(col, name)
    return out


def categorical_indices(
    features: Sequence[str], categories: Mapping[str, Sequence[str]]
) -> list[int]:
    """Positions of the categorical features, as LightGBM's ``categorical_feature`` wants them."""
    return [j for j, name in enumerate(features) if name in categories]
