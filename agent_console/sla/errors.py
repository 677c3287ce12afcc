"""The one error the SLA engine raises for a bad policy."""

from __future__ import annotations

from agent_console.errors import UserError


class PolicyError(UserError, ValueError):
    """A policy file (or a policy name, or an SLA input) that cannot be used.

    The message names the file, the key and the reason, e.g.
    ``data/x.toml: business_hours.mon: end 08:00 is before start 09:00``.
    It is also a :class:`~agent_console.errors.UserError`, so the CLI prints it as one
    line and exits 2, and a :class:`ValueError` for callers that only know that.
    """
