"""Webhook delivery against real HTTP servers on 127.0.0.1 (issue 10): success, 500 then
success, 429 with Retry-After, a server that never answers, and the outbox around it —
once across restarts, crashed senders and racing senders; no secret printed or stored."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import select
from werkzeug import Request, Response

from agent_console.channels.webhooks import mask_url, post_json
from agent_console.cli import main
from agent_console.errors import UserError
from agent_console.store.models import OutboxMessage, TicketEvent
from tests.oncall_helpers import SAT_NIGHT, Clock, add_team, new_ticket, open_desk


# ------------------------------------------------------------------ post_json
def test_success(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST", json={"a": 1}).respond_with_data("ok")
    result = post_json(httpserver.url_for("/hook"), {"a": 1}, give_up_after=5)
    assert result.ok and result.status == 200 and result.attempts == 1


def test_500_then_success(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    failures: list[tuple[int, int | None, str]] = []
    result = post_json(
        httpserver.url_for("/hook"),
        {"a": 1},
        give_up_after=5,
        backoff_initial=0.05,
        on_failure=lambda *f: failures.append(f),
    )
    assert result.ok and result.attempts == 2
    assert failures and failures[0][1] == 500


def test_429_honours_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    start = time.monotonic()
    result = post_json(httpserver.url_for("/hook"), {}, give_up_after=5, backoff_initial=0.01)
    assert result.ok and result.attempts == 2
    assert time.monotonic() - start >= 0.95  # waited as told, not the 10 ms backoff


def test_4xx_is_permanent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=404)
    result = post_json(httpserver.url_for("/hook"), {}, give_up_after=5)
    assert not result.ok and result.attempts == 1 and result.status == 404


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/secret-token-path"
    stop.set()
    t.join()
    for c in held:
        c.close()
    sock.close()


def test_never_answers_gives_up_in_bounded_time(silent_server: str) -> None:
    failures: list[str] = []
    start = time.monotonic()
    result = post_json(
        silent_server,
        {},
        give_up_after=1.5,
        timeout=0.4,
        backoff_initial=0.05,
        on_failure=lambda _a, _s, e: failures.append(e),
    )
    elapsed = time.monotonic() - start
    assert not result.ok and result.attempts >= 2
    assert elapsed < 3.0
    assert len(failures) == result.attempts
    assert all("secret-token-path" not in e for e in [*failures, result.error or ""])


def test_mask_url_hides_the_path() -> None:
    assert mask_url("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/…"


# ------------------------------------------------------------------ through the outbox
def _desk(url: str, server: HTTPServer, clock: Clock, **extra):  # type: ignore[no-untyped-def]
    return open_desk(
        url,
        clock,
        webhook_url=server.url_for("/generic/s3cr3t"),
        slack_webhook_url=server.url_for("/slack/T0/B0/s3cr3t"),
        pagerduty_routing_key="R0UTINGKEYs3cr3t",
        pagerduty_url=server.url_for("/pd"),
        webhook_give_up_after=2.0,
        webhook_timeout=1.0,
        **extra,
    )


def test_alert_reaches_every_channel_once_and_met_resolves_the_page(
    sqlite_url: str, httpserver: HTTPServer
) -> None:
    got: list[tuple[str, dict]] = []

    def record(request: Request) -> Response:
        got.append((request.path, json.loads(request.data)))
        return Response("ok")

    httpserver.expect_request("/generic/s3cr3t").respond_with_handler(record)
    httpserver.expect_request("/slack/T0/B0/s3cr3t").respond_with_handler(record)
    httpserver.expect_request("/pd").respond_with_handler(record)
    clock = Clock(SAT_NIGHT)
    d = _desk(sqlite_url, httpserver, clock)
    add_team(d)
    key = new_ticket(d, subject="Checkout <b>down</b> & out")
    d.alert_tick()
    report = d.deliver_outbox()
    assert len(report.sent) == 3 and not report.failed
    assert all("s3cr3t" not in line for line in report.lines)
    paths = {p: body for p, body in got}
    generic = paths["/generic/s3cr3t"]
    assert generic["ticket"] == key and generic["threshold"] == "arrival"
    assert generic["priority"] == "critical" and generic["due_at"].endswith("Z")
    assert "&lt;b&gt;down&lt;/b&gt; &amp; out" in paths["/slack/T0/B0/s3cr3t"]["text"]
    pd = paths["/pd"]
    assert pd["routing_key"] == "R0UTINGKEYs3cr3t" and pd["event_action"] == "trigger"
    assert pd["dedup_key"] == f"{key}:first_response:1"
    assert pd["payload"]["severity"] == "critical" and pd["payload"]["source"] == "agent-console"
    assert pd["payload"]["custom_details"]["ticket"] == key and pd["payload"]["summary"]
    assert d.deliver_outbox().sent == []  # sent once
    d.engine.dispose()

    d2 = _desk(sqlite_url, httpserver, clock)  # a restart sends nothing again
    assert d2.deliver_outbox().sent == []
    d2.reply(key, "Fixed", agent="alice")  # the first reply meets the deadline
    d2.alert_tick()
    d2.deliver_outbox()
    assert got[-1][0] == "/pd"
    assert got[-1][1]["event_action"] == "resolve"
    assert got[-1][1]["dedup_key"] == f"{key}:first_response:1"
    assert len(got) == 4
    d2.engine.dispose()


def test_failures_are_events_and_give_up_is_recorded(
    sqlite_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/generic/s3cr3t").respond_with_data("down", status=503)
    clock = Clock(SAT_NIGHT)
    d = open_desk(
        sqlite_url,
        clock,
        webhook_url=httpserver.url_for("/generic/s3cr3t"),
        webhook_give_up_after=0.8,
        webhook_timeout=0.5,
    )
    new_ticket(d)
    d.alert_tick()
    report = d.deliver_outbox(backoff_initial=0.05)
    assert len(report.failed) == 1
    with d.read() as s:
        kinds = [e.kind for e in s.exec(select(TicketEvent).order_by(TicketEvent.id))]
        row = s.exec(select(OutboxMessage)).one()
    assert kinds.count("delivery_failed") >= 2 and kinds[-1] == "delivery_gave_up"
    assert row.failed_at is not None and "s3cr3t" not in (row.last_error or "")
    d.engine.dispose()


def test_a_crashed_sender_leaves_a_lease_another_sender_takes_once(
    sqlite_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/generic/s3cr3t").respond_with_data("ok")
    clock = Clock(SAT_NIGHT)
    d = open_desk(
        sqlite_url,
        clock,
        webhook_url=httpserver.url_for("/generic/s3cr3t"),
        webhook_give_up_after=5.0,
    )
    new_ticket(d)
    d.alert_tick()
    crashed = d._claim("crashed-sender", 10, lease=35.0)  # claimed, then the process died
    assert len(crashed) == 1
    assert d.deliver_outbox().sent == []  # the lease is still held
    clock.advance(seconds=36)
    assert len(d.deliver_outbox().sent) == 1
    assert d.deliver_outbox().sent == []
    assert len(httpserver.log) == 1
    d.engine.dispose()


def _senders_race(url: str, server: HTTPServer) -> None:
    server.expect_request("/generic/s3cr3t").respond_with_data("ok")
    clock = Clock(SAT_NIGHT)
    setup = open_desk(url, clock, webhook_url=server.url_for("/generic/s3cr3t"))
    for i in range(10):
        new_ticket(setup, subject=f"outage {i}")
    setup.alert_tick()
    setup.engine.dispose()
    desks = [open_desk(url, clock, webhook_url=server.url_for("/generic/s3cr3t")) for _ in range(3)]
    sent: list[int] = []
    barrier = threading.Barrier(3)

    def run(d) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        for _ in range(3):
            sent.extend(d.deliver_outbox(limit=3).sent)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 10
    assert len(server.log) == 10
    for d in desks:
        d.engine.dispose()


def test_senders_racing_sqlite(sqlite_url: str, httpserver: HTTPServer) -> None:
    _senders_race(sqlite_url, httpserver)


@pytest.mark.postgres
def test_senders_racing_postgres(pg_url: str, httpserver: HTTPServer) -> None:
    _senders_race(pg_url, httpserver)


# ------------------------------------------------------------------ CLI faces
def test_test_alert_sends_through_every_channel_and_hides_secrets(
    sqlite_url: str, httpserver: HTTPServer, capsys, monkeypatch
) -> None:
    httpserver.expect_request("/generic/s3cr3t").respond_with_data("ok")
    httpserver.expect_request("/pd").respond_with_data("ok", status=202)
    monkeypatch.setenv("AGENT_CONSOLE_PAGERDUTY_ROUTING_KEY", "R0UTINGKEYs3cr3t")
    monkeypatch.setenv("AGENT_CONSOLE_PAGERDUTY_URL", httpserver.url_for("/pd"))
    url = httpserver.url_for("/generic/s3cr3t")
    assert main(["--db", sqlite_url, "oncall", "test-alert", "--webhook", url]) == 0
    out = capsys.readouterr().out
    assert "sent" in out and "s3cr3t" not in out and "R0UT" in out
    assert len(httpserver.log) == 2
    # a rehearsal prints what it would send and sends nothing
    assert (
        main(
            [
                "--db",
                sqlite_url,
                "--at",
                "2026-11-28T03:00:00Z",
                "oncall",
                "test-alert",
                "--webhook",
                url,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "would POST" in out and "s3cr3t" not in out
    assert len(httpserver.log) == 2


def test_test_alert_without_a_channel_is_one_line(sqlite_url: str, capsys) -> None:
    assert main(["--db", sqlite_url, "oncall", "test-alert"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--webhook URL" in err


def test_webhook_settings_from_config_and_environment(tmp_path, monkeypatch) -> None:
    from agent_console.settings import resolve_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'webhook_url = "https://hooks.example.com/T0/s3cr3t"\n'
        'escalate_after = "5m"\nwebhook_give_up_after = "90s"\n'
    )
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG", str(cfg))
    monkeypatch.setenv("AGENT_CONSOLE_SLACK_WEBHOOK_URL", "https://hooks.slack.com/s3cr3t")
    st = resolve_settings()
    assert st.webhook_url == "https://hooks.example.com/T0/s3cr3t"
    assert st.slack_webhook_url == "https://hooks.slack.com/s3cr3t"
    assert (st.escalate_after, st.webhook_give_up_after) == (300.0, 90.0)
    assert "s3cr3t" not in repr(st)
    assert resolve_settings(webhook="http://127.0.0.1:1/x").webhook_url == "http://127.0.0.1:1/x"
    with pytest.raises(UserError, match="http"):
        resolve_settings(webhook="hooks.example.com/s3cr3t")
    cfg.write_text('escalate_after = "soon"\n')
    with pytest.raises(UserError, match="escalate_after"):
        resolve_settings()
