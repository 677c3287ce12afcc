"""The SLA engine: business calendars, policies, deadlines, pauses — pure and fast.

No database, no I/O beyond reading a policy file on request, and no clock reads: every
function takes the instants it needs. See DESIGN.md "SLA semantics".
"""

from __future__ import annotations

from agent_console.sla.calendar import (
    DAY_NAMES,
    BusinessCalendar,
    BusinessState,
    MaintenanceRule,
)
from agent_console.sla.clock import (
    FIRST_REPLY_TIME,
    OPEN_STATUSES,
    PAUSABLE_UPDATE,
    PERIODIC_UPDATE,
    RESOLUTION_TIME,
    MetricSpec,
    MetricStatus,
    Running,
    TicketClock,
    metric_specs,
)
from agent_console.sla.deadlines import (
    Deadlines,
    Remaining,
    compute_deadlines,
    merge_pauses,
    remaining,
    resolution_left,
)
from agent_console.sla.durations import format_duration, parse_duration, whole_seconds
from agent_console.sla.errors import PolicyError
from agent_console.sla.explain import (
    DeadlineExplanation,
    ExplainLine,
    Explanation,
    explain,
    explain_clock,
)
from agent_console.sla.policy import (
    BUSINESS,
    CALENDAR,
    DEFAULT_ALERT_THRESHOLDS,
    DEFAULT_POLICY_NAME,
    PRIORITY_NAMES,
    Policy,
    PriorityTarget,
    parse_policy,
)
from agent_console.sla.policy_files import (
    PolicyBook,
    contract_names,
    load_default_policy,
    load_policy,
    load_policy_named,
)

__all__ = [
    "BUSINESS",
    "CALENDAR",
    "DAY_NAMES",
    "DEFAULT_ALERT_THRESHOLDS",
    "DEFAULT_POLICY_NAME",
    "FIRST_REPLY_TIME",
    "OPEN_STATUSES",
    "PAUSABLE_UPDATE",
    "PERIODIC_UPDATE",
    "RESOLUTION_TIME",
    "PRIORITY_NAMES",
    "BusinessCalendar",
    "BusinessState",
    "DeadlineExplanation",
    "Deadlines",
    "ExplainLine",
    "Explanation",
    "MaintenanceRule",
    "MetricSpec",
    "MetricStatus",
    "Running",
    "TicketClock",
    "Policy",
    "PolicyBook",
    "PolicyError",
    "PriorityTarget",
    "Remaining",
    "compute_deadlines",
    "contract_names",
    "explain",
    "explain_clock",
    "format_duration",
    "load_default_policy",
    "load_policy",
    "load_policy_named",
    "merge_pauses",
    "metric_specs",
    "parse_duration",
    "parse_policy",
    "remaining",
    "resolution_left",
    "whole_seconds",
]
