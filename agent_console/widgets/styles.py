"""The one table of priority and status colours, used by every screen (issue 4: critical
red, urgent yellow, minor dim)."""

from __future__ import annotations

from rich.style import Style

PRIORITY_STYLES: dict[str, Style] = {
    "critical": Style(color="red", bold=True),
    "urgent": Style(color="yellow"),
    "minor": Style(dim=True),
}
STATUS_STYLES: dict[str, Style] = {
    "new": Style(color="cyan", bold=True),
    "open": Style(),
    "pending": Style(color="cyan"),  # waiting on the customer: the paused colour
    "on_hold": Style(color="magenta"),
    "resolved": Style(color="green"),
    "closed": Style(dim=True),
}
_PLAIN = Style()


def priority_style(priority: str) -> Style:
    return PRIORITY_STYLES.get(priority, _PLAIN)


def status_style(status: str) -> Style:
    return STATUS_STYLES.get(status, _PLAIN)
