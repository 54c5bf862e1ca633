"""Errors meant for the user: the CLI prints them as one paragraph and exits 1, no traceback."""


class SmssegError(Exception):
    """Bad input or a request that cannot be met; the message says what and where."""


class SmssegWarning(UserWarning):
    """Usable but suspicious input (unscored customers, outputs without provenance, ...).

    Raised with :func:`warnings.warn`: a notebook shows it where it happens, the CLI records it
    and prints it once when the command ends.
    """
