"""Data layer: the input contract, validation, loading and the retail simulator."""

from smsseg.data.contract import TABLES, Column, TableSpec
from smsseg.data.load import Dataset, connect, load, load_frames, validate_dir
from smsseg.data.validation import DataValidationError, Problem, ValidationReport

__all__ = [
    "TABLES",
    "Column",
    "DataValidationError",
    "Dataset",
    "Problem",
    "TableSpec",
    "ValidationReport",
    "connect",
    "load",
    "load_frames",
    "validate_dir",
]
