"""Errors a user can cause. Every layer raises these; the CLI prints one line and the TUI a
notification. Nothing else should reach a person as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, unknown agent, unreachable database.

    ``str(err)`` is one line that says what went wrong and, where possible, what to do.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NotFound(UserError):
    """A key, handle or slug that does not exist."""


class PermissionDenied(UserError):
    """The acting agent may not do this (tier rules, roles)."""

    exit_code = 3


class Conflict(UserError):
    """Someone else changed the record since the agent read it (optimistic concurrency)."""

    exit_code = 4
