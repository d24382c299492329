"""Typed errors that the command line turns into one clean line and an exit code.

`DataError` and `UsageError` mean the user has to change something (exit 2); anything
else that escapes a command is a bug or an outage (exit 1).
"""


class NnflowError(Exception):
    """Base class: a failure with a one-line, user-facing reason."""

    exit_code = 1


class UsageError(NnflowError):
    """Bad options or parameters (exit 2)."""

    exit_code = 2


class DataError(NnflowError):
    """The data file cannot be read or does not satisfy the data contract (exit 2)."""

    exit_code = 2


class DataValidationError(DataError):
    """The table was read but broke schema rules.

    `report` is a pandas DataFrame with columns `column, row, rule, value` (first rows
    per rule); `str(error)` is the one-line summary.
    """

    def __init__(self, summary: str, report):
        super().__init__(summary)
        self.report = report


class ReproductionError(NnflowError):
    """A replayed run could not be compared or its data changed (exit 2)."""

    exit_code = 2
