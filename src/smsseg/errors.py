"""Errors meant for the user: the CLI prints them as one paragraph and exits 1, no traceback."""


class SmssegError(Exception):
    """Bad input or a request that cannot be met; the message says what and where."""
