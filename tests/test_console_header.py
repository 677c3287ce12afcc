"""The header line: full on a wide terminal, compact (still who, open/closed, time) on a
narrow one."""

from __future__ import annotations

from agent_console.sla import load_default_policy
from agent_console.widgets.console_header import ConsoleHeader
from tests.conftest import FIXED_NOW


def _header() -> ConsoleHeader:
    h = ConsoleHeader("Queue")
    h.set_agent("alice", "Alice Moreno", 1, demo=True)
    h.set_policy(load_default_policy())
    return h


def test_wide_header_has_everything() -> None:
    line = _header().line_text(FIXED_NOW, 200).plain
    assert line.startswith("Agent Console · Queue")
    assert "alice Alice Moreno · tier 1" in line and "DEMO" in line
    assert "open until 18:00" in line and "Mon 23 Nov 09:00:00" in line


def test_narrow_header_keeps_who_state_and_time() -> None:
    line = _header().line_text(FIXED_NOW, 70).plain
    assert len(line) <= 70
    assert "alice T1" in line and "DEMO" in line
    assert "open until 18:00" in line and "09:00:00" in line
    assert "Alice Moreno" not in line
