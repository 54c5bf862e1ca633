"""Types shared by the pipeline steps."""

from __future__ import annotations

import os
from collections.abc import Callable

#: A file or directory path as a caller gives it.
PathLike = str | os.PathLike

#: Called with the name of each sub-step as it starts (a progress bar, a log line, nothing).
Progress = Callable[[str], None] | None


def report_step(progress: Progress, name: str) -> None:
    """Tell ``progress`` (when there is one) that step ``name`` starts."""
    if progress is not None:
        progress(name)
