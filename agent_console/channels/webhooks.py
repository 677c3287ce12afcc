"""Alert webhooks: the bodies each receiver expects, and one POST with retries.

Bodies (built from the channel-neutral alert facts the desk puts in the outbox payload):

- ``generic``: ``{"event", "ticket", "subject", "priority", "metric", "threshold", "what",
  "due_at", "time_left_seconds", "level", "notify", "link", "dedup_key"}``;
- ``slack``: a Slack incoming-webhook body ``{"text": ...}`` (``<``, ``>``, ``&`` escaped as
  Slack requires, so customer text stays literal);
- ``pagerduty``: PagerDuty Events API v2 — ``routing_key``, ``event_action``
  (``trigger`` / ``resolve``), ``dedup_key`` = ``TICKET:metric:cycle`` (so a met deadline
  resolves the page it opened), ``payload.summary/severity/source/custom_details``.

Delivery (:func:`post_json`): retries with exponential backoff and jitter (tenacity) on
timeouts, connection errors, 5xx and 429 — honouring ``Retry-After`` — and gives up after
``give_up_after`` seconds; other 4xx are permanent. Each failed attempt is reported to
``on_failure`` (the desk records it as an event). URLs and routing keys are secrets: only
:func:`mask_url` / :func:`mask_key` forms appear in errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_exponential_jitter,
)

CHANNELS: tuple[str, ...] = ("generic", "slack", "pagerduty")
SOURCE = "agent-console"
_SEVERITY = {"critical": "critical", "urgent": "error", "minor": "warning"}


# ------------------------------------------------------------------ secrets
def mask_url(url: str | None) -> str:
    """``https://hooks.slack.com/services/T0/B0/XYZ`` → ``https://hooks.slack.com/…``:
    the host says where, the path (which carries the secret) is never shown."""
    if not url:
        return "-"
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme or 'http'}://{host}/…"


def mask_key(key: str | None) -> str:
    """A routing key as ``abcd…`` (first four characters)."""
    if not key:
        return "-"
    return f"{key[:4]}…" if len(key) > 4 else "…"


# ------------------------------------------------------------------ bodies
def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def generic_body(event: str, alert: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": event,
        "ticket": alert.get("key"),
        "subject": alert.get("subject"),
        "priority": alert.get("priority"),
        "metric": alert.get("metric"),
        "cycle": alert.get("cycle"),
        "threshold": alert.get("threshold"),
        "what": alert.get("what"),
        "due_at": alert.get("due_at"),
        "time_left_seconds": alert.get("time_left_seconds"),
        "level": alert.get("level"),
        "notify": alert.get("notify", []),
        "link": alert.get("link"),
        "dedup_key": alert.get("dedup_key"),
    }


def summary(event: str, alert: dict[str, Any]) -> str:
    left = alert.get("time_left_seconds")
    when = ""
    if isinstance(left, int):
        when = f", {abs(left) // 60} min {'left' if left >= 0 else 'overdue'}"
    head = {"escalate": "ESCALATED ", "test": "TEST ", "resolve": "RESOLVED "}.get(event, "")
    return (
        f"{head}{alert.get('key')} [{alert.get('priority')}] {alert.get('what')}{when}: "
        f"{alert.get('subject')}"
    )


def slack_body(event: str, alert: dict[str, Any]) -> dict[str, Any]:
    return {"text": _slack_escape(summary(event, alert))}


def pagerduty_body(event: str, alert: dict[str, Any], routing_key: str) -> dict[str, Any]:
    action = "resolve" if event == "resolve" else "trigger"
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": alert.get("dedup_key"),
    }
    if action == "trigger":
        body["payload"] = {
            "summary": summary(event, alert)[:1024],
            "severity": _SEVERITY.get(str(alert.get("priority")), "warning"),
            "source": SOURCE,
            "custom_details": generic_body(event, alert),
        }
    return body


def body_for(
    channel: str, event: str, alert: dict[str, Any], routing_key: str = ""
) -> dict[str, Any]:
    if channel == "slack":
        return slack_body(event, alert)
    if channel == "pagerduty":
        return pagerduty_body(event, alert, routing_key)
    return generic_body(event, alert)


# ------------------------------------------------------------------ delivery
@dataclass(frozen=True)
class Delivery:
    """How one delivery ended: ``ok``; the last HTTP ``status`` (None: no answer);
    ``attempts``; ``error`` (one line, no secret) when not ok."""

    ok: bool
    status: int | None
    attempts: int
    error: str | None = None


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _Permanent(Exception):
    def __init__(self, message: str, status: int | None):
        super().__init__(message)
        self.status = status


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    give_up_after: float,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    on_failure: Callable[[int, int | None, str], None] | None = None,
    backoff_initial: float = 0.5,
    backoff_max: float = 30.0,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``body`` as JSON to ``url`` until a 2xx, a permanent failure, or
    ``give_up_after`` seconds. ``on_failure(attempt, status, error)`` is called for every
    failed attempt. Never raises for network or HTTP failures."""
    start = time.monotonic()
    own = client is None
    http = client or httpx.Client()
    attempts = 0
    last_status: int | None = None

    def remaining() -> float:
        return give_up_after - (time.monotonic() - start)

    def once() -> int:
        nonlocal attempts, last_status
        attempts += 1
        budget = max(0.05, min(timeout, remaining()))
        try:
            resp = http.post(url, json=body, headers=headers or {}, timeout=budget)
        except httpx.TimeoutException:
            err = _Retryable(f"no answer from {mask_url(url)} within {budget:.1f}s", None)
        except httpx.TransportError as exc:
            err = _Retryable(f"cannot reach {mask_url(url)}: {type(exc).__name__}", None)
        else:
            last_status = resp.status_code
            if resp.is_success:
                return resp.status_code
            msg = f"{mask_url(url)} answered HTTP {resp.status_code}"
            if resp.status_code == 429 or resp.status_code >= 500:
                err = _Retryable(
                    msg, resp.status_code, retry_after_seconds(resp.headers.get("Retry-After"))
                )
            else:
                if on_failure:
                    on_failure(attempts, resp.status_code, msg)
                raise _Permanent(msg, resp.status_code)
        if on_failure:
            on_failure(attempts, err.status, str(err))
        raise err

    backoff = wait_exponential_jitter(
        multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ra = getattr(exc, "retry_after", None)
        return max(0.0, float(ra) if ra is not None else backoff(state))

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        ra = getattr(exc, "retry_after", None)
        next_wait = float(ra) if ra is not None else 0.0
        return remaining() <= next_wait

    retrying = Retrying(
        stop=stop,
        wait=lambda st: min(wait(st), max(0.0, remaining())),
        retry=retry_if_exception_type(_Retryable),
        reraise=True,
        sleep=sleep,
    )
    try:
        for attempt in retrying:
            with attempt:
                status = once()
        return Delivery(True, status, attempts)
    except (_Retryable, _Permanent) as exc:
        gave = "gave up" if isinstance(exc, _Retryable) else "refused"
        return Delivery(False, last_status, attempts, f"{gave} after {attempts} attempt(s): {exc}")
    finally:
        if own:
            http.close()
