"""What differs between the supported pandas versions (>= 2.2 and 3.x), in one place."""

from __future__ import annotations

import pandas as pd

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3

#: The dtype of text columns. pandas 3: ``str`` (missing values stay missing). pandas 2.x has no
#: such dtype: there ``astype("str")`` turns None into the text "None", so text columns stay
#: ``object`` holding str and None.
TEXT_DTYPE = "str" if PANDAS_3 else "object"
