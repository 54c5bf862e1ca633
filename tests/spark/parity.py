"""What "the same result on both engines" means, checked column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Floats agree to 1e-9 relative. Values that are zero up to float rounding (the entropy of a
#: one-category customer: log2(T) - T log2(T) / T) agree to 1e-12 absolute: the engines' log2
#: differ in the last bit, and a relative tolerance around 0 is meaningless.
RTOL, ATOL = 1e-9, 1e-12


def assert_same_frame(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Same index, columns and dtypes; integers, strings, booleans and categories equal; floats close."""
    assert spark.index.equals(duck.index), "the engines' customers differ"
    assert list(spark.columns) == list(duck.columns), set(spark.columns) ^ set(duck.columns)
    problems = []
    for column in duck.columns:
        a, b = duck[column], spark[column]
        if str(a.dtype) != str(b.dtype):
            problems.append(f"{column}: dtype {a.dtype} (DuckDB) vs {b.dtype} (Spark)")
        elif a.dtype.kind == "f":
            x, y = a.to_numpy(), b.to_numpy()
            if not np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True):
                worst = np.nanargmax(np.abs(x - y))
                problems.append(f"{column}: {x[worst]!r} (DuckDB) vs {y[worst]!r} (Spark)")
        elif pd.api.types.is_datetime64_any_dtype(a):
            if not (a.isna().equals(b.isna()) and (a == b)[a.notna()].all()):
                problems.append(f"{column}: timestamps differ")
        elif not a.equals(b):
            differ = (a.astype(object) != b.astype(object)) & ~(a.isna() & b.isna())
            first = differ[differ].index[0]
            problems.append(f"{column}: {a[first]!r} (DuckDB) vs {b[first]!r} (Spark) at {first}")
    assert not problems, "\n".join(problems)
