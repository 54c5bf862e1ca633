"""Command-line interface: parses arguments and calls the pipeline stages, nothing more.

Each stage's commands live in their own module and register on the shared ``app``.
"""

# importing a command module registers its commands, in pipeline order
from smsseg.cli import activation as _activation  # noqa: F401
from smsseg.cli import data as _data  # noqa: F401
from smsseg.cli import datasets as _datasets  # noqa: F401
from smsseg.cli import features as _features  # noqa: F401
from smsseg.cli import flows as _flows  # noqa: F401
from smsseg.cli import importers as _importers  # noqa: F401
from smsseg.cli import models as _models  # noqa: F401
from smsseg.cli import pipeline as _pipeline  # noqa: F401
from smsseg.cli import readout as _readout  # noqa: F401
from smsseg.cli import segments as _segments  # noqa: F401
from smsseg.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
