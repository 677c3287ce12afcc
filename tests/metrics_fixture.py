"""A small fixed helpdesk history for the metrics tests, built with real desk commands.

Default policy (data/sla.toml): New York, M-F 09:00-18:00, critical on the calendar
clock (FR 2h, update 1h, resolution 8h), urgent and minor on the business clock
(urgent FR 4h / update 9h / resolution 45h; minor FR 8h / 45h / 45h). US DST ends on
Sunday 1 Nov 2026 at 06:00Z (02:00 EDT -> 01:00 EST): that local day is 25 hours long.

The period the tests read is Fri 30 Oct .. Mon 2 Nov 2026 (New York days); "now" is
Tue 3 Nov 17:00Z. Every expected figure in tests/test_metrics.py is worked out by hand
from the timeline below (UTC).

  T1 critical (org Acme)  opened Fri 30 Oct 14:00Z; ann claims, replies 15:00Z (FR 3600 s
                          met), resolves 15:45Z (resolution 6300 s met; update cycle met)
  T3 urgent               opened Fri 30 Oct 20:00Z (16:00 EDT); ann claims; replies Mon
                          15:00Z (FR: Fri 2h + Mon 1h = 10800 business s, met); resolves
                          17:00Z (18000 s); reopened 18:00Z; resolved again 19:30Z (5400 s:
                          23400 s in all, met); update cycles 1 and 2 met
  T2 critical (org Acme)  opened Sun 1 Nov 03:00Z (Sat 23:00 EDT); bob claims; replies
                          06:30Z (FR 12600 s, breached at 05:00Z); resolves 07:00Z
                          (14400 s met, on the 25-hour local Sunday)
  T8 minor                opened Mon 2 Nov 04:30Z (Sun 23:30 EST: a Sunday ticket, a
                          Monday one if the offset were read as EDT); bob replies 14:30Z
                          (FR 1800 business s met)
  T4 critical             opened Mon 13:00Z; ann claims, replies 14:00Z (FR 3600 met),
                          resolves 15:00Z (7200 s, met); reopened 17:00Z; resolved again
                          Tue 01:00Z (28800 s more: 36000 in all, breached at Mon 23:00Z:
                          judged on its last resolution); update cycle 2 (a fresh
                          cycle from the reopening at 17:00Z) breached at 18:00Z
  T6 urgent               opened Mon 14:30Z; ann claims, replies 15:00Z (FR 1800 met);
                          escalated to tier 2 at 16:00Z; cid claims 18:30Z (pickup 9000 s)
  T5 minor                opened Mon 15:00Z, never answered: FR overdue since 23:00Z
  T7 critical             opened Mon 17:00Z; bob escalates it 17:30Z, nobody picks it up:
                          FR overdue since 19:00Z, resolution overdue since Tue 01:00Z
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_console.desk import Desk
from agent_console.settings import Settings

NOW = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, *args: int) -> datetime:
        self.now = datetime(*args, tzinfo=UTC)  # type: ignore[misc]
        return self.now


def build(url: str, *, viewer: str = "lee") -> tuple[Desk, dict[str, str], Clock]:
    """A desk on ``url`` holding the history above (the acting agent: ``viewer``)."""
    clock = Clock(datetime(2026, 10, 30, 13, 0, tzinfo=UTC))
    d = Desk.open(Settings(db_url=url, agent=viewer), clock=clock)
    d.add_agent("ann", "Ann One", 1)
    d.add_agent("bob", "Bob Two", 1)
    d.add_agent("cid", "Cid Three", 2)
    d.add_agent("lee", "Lee Lead", 1, lead=True)
    keys: dict[str, str] = {}

    def new(name: str, priority: str, org: str | None = None) -> None:
        keys[name] = d.create_ticket(
            subject=f"{name} [b]{priority}[/b] trouble",
            body="It fails.",
            requester_email=f"{name.lower()}@example.com",
            organization=org,
            priority=priority,
        )

    clock.at(2026, 10, 30, 14, 0)
    new("T1", "critical", "Acme")
    clock.now += timedelta(minutes=5)
    d.claim(keys["T1"], "ann")
    clock.at(2026, 10, 30, 15, 0)
    d.reply(keys["T1"], "Looking into it.", "ann")
    clock.at(2026, 10, 30, 15, 45)
    d.resolve(keys["T1"], "fixed the config", "ann")

    clock.at(2026, 10, 30, 20, 0)
    new("T3", "urgent")
    clock.now += timedelta(minutes=5)
    d.claim(keys["T3"], "ann")

    clock.at(2026, 11, 1, 3, 0)
    new("T2", "critical", "Acme")
    clock.now += timedelta(minutes=5)
    d.claim(keys["T2"], "bob")
    clock.at(2026, 11, 1, 6, 30)
    d.reply(keys["T2"], "On it.", "bob")
    clock.at(2026, 11, 1, 7, 0)
    d.resolve(keys["T2"], "restarted the terminal", "bob")

    clock.at(2026, 11, 2, 4, 30)
    new("T8", "minor")

    clock.at(2026, 11, 2, 13, 0)
    new("T4", "critical")
    clock.now += timedelta(minutes=5)
    d.claim(keys["T4"], "ann")
    clock.at(2026, 11, 2, 14, 0)
    d.reply(keys["T4"], "Checking.", "ann")
    clock.at(2026, 11, 2, 14, 30)
    new("T6", "urgent")
    d.reply(keys["T8"], "Here is how.", "bob")
    clock.now += timedelta(minutes=5)
    d.claim(keys["T6"], "ann")
    clock.at(2026, 11, 2, 15, 0)
    d.reply(keys["T3"], "Sorry for the wait.", "ann")
    d.resolve(keys["T4"], "cleared the cache", "ann")
    d.reply(keys["T6"], "Looking.", "ann")
    new("T5", "minor")
    clock.at(2026, 11, 2, 16, 0)
    d.escalate(keys["T6"], "needs a consultant: tried the usual", "ann")
    clock.at(2026, 11, 2, 17, 0)
    d.resolve(keys["T3"], "re-sent the file", "ann")
    d.set_status(keys["T4"], "open", "ann")
    new("T7", "critical")
    clock.at(2026, 11, 2, 17, 30)
    d.escalate(keys["T7"], "no idea: tried everything", "bob")
    clock.at(2026, 11, 2, 18, 0)
    d.set_status(keys["T3"], "open", "ann")
    clock.at(2026, 11, 2, 18, 30)
    d.claim(keys["T6"], "cid")
    clock.at(2026, 11, 2, 19, 30)
    d.resolve(keys["T3"], "re-sent the file again", "ann")
    clock.at(2026, 11, 3, 1, 0)
    d.resolve(keys["T4"], "cleared the other cache", "ann")
    clock.now = NOW
    return d, keys, clock
