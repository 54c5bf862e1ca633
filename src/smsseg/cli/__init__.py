"""Command-line interface: parses arguments and calls the pipeline stages, nothing more.

Each stage's commands live in their own module and register on the shared ``app``.
"""

from smsseg.cli import data as _data  # noqa: F401  (registers commands)
from smsseg.cli import pipeline as _pipeline  # noqa: F401
from smsseg.cli import readout as _readout  # noqa: F401
from smsseg.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
