"""Policy files: the shipped ones load; malformed ones are rejected with file, key, reason."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from agent_console.paths import default_policy_path, policies_dir
from agent_console.sla import (
    DEFAULT_ALERT_THRESHOLDS,
    PolicyBook,
    PolicyError,
    PriorityTarget,
    format_duration,
    load_default_policy,
    load_policy,
    load_policy_named,
    parse_duration,
    parse_policy,
)
from tests.sla_helpers import BASE

H = 3600


def test_default_policy_matches_the_handbook() -> None:
    p = load_default_policy()
    assert p.name == "default"
    assert p.timezone == "America/New_York"
    assert p.tz.key == "America/New_York"
    assert p.source.endswith("sla.toml")
    # status updates pause while waiting on the customer (README "Status updates and waiting")
    assert p.priorities["critical"] == PriorityTarget(
        "critical",
        1,
        "calendar",
        2 * H,
        1 * H,
        8 * H,
        update_warning=15 * 60,
        status_update_pauses=True,
    )
    assert p.priorities["urgent"] == PriorityTarget(
        "urgent", 2, "business", 4 * H, 9 * H, 45 * H, status_update_pauses=True
    )
    assert p.priorities["minor"] == PriorityTarget(
        "minor", 3, "business", 8 * H, 45 * H, 45 * H, status_update_pauses=True
    )
    assert p.calendar.weekly[:5] == (((540, 1080),),) * 5
    assert p.calendar.weekly[5:] == ((), ())
    assert p.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert p.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert p.holiday_name(date(2026, 11, 27)) is None
    for year in (2025, 2026, 2027, 2028):
        closed = [d for d in p.calendar.holidays if d.year == year or d == date(year - 1, 12, 31)]
        assert len(closed) >= 6, year
    assert [(sorted(m.days), m.start, m.end) for m in p.calendar.maintenance] == [([0, 4], 0, 300)]


def test_target_aliases() -> None:
    p = load_default_policy()
    assert p.target("critical") is p.target("1") is p.target(1) is p.target("P1")
    assert p.target("Urgent").name == "urgent"
    assert p.target("3").name == "minor"
    with pytest.raises(PolicyError, match="unknown priority 'high'"):
        p.target("high")
    with pytest.raises(ValueError):
        p.target("4")


def test_policy_is_immutable() -> None:
    p = load_default_policy()
    with pytest.raises(AttributeError):
        p.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.priorities["critical"] = p.priorities["minor"]  # type: ignore[index]


def test_contract_policy_and_book(tmp_path: Path) -> None:
    ent = load_policy_named("enterprise-plus")
    assert ent.name == "enterprise-plus"
    assert ent.calendar.weekly[0] == ((540, 1260),)
    assert ent.holiday_name(date(2026, 11, 11)) == "Veterans Day"  # from holiday_country
    default = load_default_policy()
    assert load_policy_named(None, default) is default
    assert load_policy_named("default", default) is default
    book = PolicyBook(default, [policies_dir()])
    assert book.get(None) is default
    assert book.get("enterprise-plus") is book.get("enterprise-plus")
    assert "enterprise-plus" in book.names()
    with pytest.raises(
        PolicyError, match="no policy named 'gold'.*known: default, enterprise-plus"
    ):
        book.get("gold")
    with pytest.raises(PolicyError, match="bad policy name"):
        load_policy_named("../sla", default)
    (tmp_path / "gold.toml").write_text(default_policy_path().read_text())
    assert load_policy_named("gold", default, [tmp_path]).name == "gold"


def test_multi_interval_days_and_24h() -> None:
    data = copy.deepcopy(BASE)
    data["business_hours"] = {
        "mon": [["13:00", "18:00"], ["09:00", "12:00"]],
        "tue": [["09:00", "12:00"], ["12:00", "18:00"]],  # touching: merged
        "sat": ["00:00", "24:00"],
        "sun": [],
    }
    p = parse_policy(data, "mem.toml", "t")
    assert p.calendar.weekly[0] == ((540, 720), (780, 1080))
    assert p.calendar.weekly[1] == ((540, 1080),)
    assert p.calendar.weekly[5] == ((0, 1440),)
    assert p.calendar.weekly[6] == ()


def _with(path: str, value, *, delete: bool = False) -> dict:
    data = copy.deepcopy(BASE)
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        node = node[k]
    if delete:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _with("business_hours.mon", ["09:00", "08:00"]),
            "x.toml: business_hours.mon: end 08:00 is before start 09:00",
        ),
        (_with("business_hours.mon", ["09:00", "09:00"]), "business_hours.mon: empty interval"),
        (_with("business_hours.funday", ["09:00", "18:00"]), "business_hours.funday: unknown day"),
        (_with("business_hours.mon", ["9am", "18:00"]), "business_hours.mon: bad time '9am'"),
        (_with("business_hours.mon", ["09:00", "25:00"]), "business_hours.mon: bad time '25:00'"),
        (
            _with("business_hours.mon", [["09:00", "12:00"], ["11:00", "13:00"]]),
            "business_hours.mon: intervals 09:00–12:00 and 11:00–13:00 overlap",
        ),
        (_with("business_hours.mon", "all day"), "business_hours.mon: expected"),
        (_with("timezone", "Mars/Olympus"), "x.toml: timezone: unknown time zone 'Mars/Olympus'"),
        (_with("timezone", None, delete=True), "x.toml: timezone: missing"),
        (_with("priority.urgent", None, delete=True), "x.toml: priority.urgent: missing priority"),
        (
            _with("priority.urgent.first_response", "4 hours"),
            "priority.urgent.first_response: bad duration '4 hours'",
        ),
        (
            _with("priority.urgent.first_response", "4"),
            "priority.urgent.first_response: duration '4' has no unit",
        ),
        (
            _with("priority.urgent.first_response", 4),
            "priority.urgent.first_response: expected a duration",
        ),
        (
            _with("priority.urgent.resolution", "0h"),
            "priority.urgent.resolution: must be longer than zero",
        ),
        (
            _with("priority.urgent.resolution", "5d"),
            "priority.urgent.resolution: days are ambiguous",
        ),
        (
            _with("priority.urgent.status_update", None, delete=True),
            "priority.urgent.status_update: missing",
        ),
        (_with("priority.urgent.clock", "wall"), "priority.urgent.clock: unknown clock 'wall'"),
        (
            _with("priority.urgent.level", 1),
            "priority.urgent.level: level 1 is also used by critical",
        ),
        (_with("priority.urgent.level", "2"), "priority.urgent.level: expected a positive integer"),
        (_with("priority.urgent.colour", "red"), "priority.urgent.colour: unknown key"),
        (_with("priority.blocker", {}), "priority.blocker: unknown priority"),
        (_with("holidays", ["2026-13-01"]), "holidays[0]: bad date '2026-13-01'"),
        (_with("holidays", [{"name": "x"}]), "holidays[0]: missing date"),
        (_with("colour", "red"), "x.toml: colour: unknown key"),
        (
            _with("maintenance", [{"days": ["mon"], "start": "05:00", "end": "01:00"}]),
            "maintenance[0]: end 01:00 is before start 05:00",
        ),
        (
            _with("maintenance", [{"days": ["moon"], "start": "00:00", "end": "01:00"}]),
            "maintenance[0].days: unknown day 'moon'",
        ),
        (
            _with("maintenance", [{"days": ["mon"], "start": "00:00"}]),
            "maintenance[0].end: missing",
        ),
        (_with("holiday_country", "XX"), "holiday_country: unknown country"),
        (
            _with("priority.urgent.status_update_pauses", "yes"),
            "priority.urgent.status_update_pauses: expected true or false, got 'yes'",
        ),
        (
            _with("priority.critical.update_warning", "1h"),
            "priority.critical.update_warning: '1h' is not shorter than status_update '1h'",
        ),
        (
            _with("priority.critical.update_warning", "0m"),
            "priority.critical.update_warning: must be longer than zero",
        ),
        (
            _with("priority.urgent.update_warning", "1d"),
            "priority.urgent.update_warning: days are ambiguous",
        ),
        (_with("alerts", [0.5]), "x.toml: alerts: expected a table"),
        (_with("alerts", {"levels": [0.5]}), "alerts.levels: unknown key"),
        (_with("alerts", {"thresholds": []}), "alerts.thresholds: expected a non-empty list"),
        (_with("alerts", {"thresholds": 0.5}), "alerts.thresholds: expected a non-empty list"),
        (
            _with("alerts", {"thresholds": [0.5, 1.2]}),
            "alerts.thresholds[1]: 1.2 is outside (0, 1]",
        ),
        (_with("alerts", {"thresholds": [0, 0.5]}), "alerts.thresholds[0]: 0 is outside (0, 1]"),
        (_with("alerts", {"thresholds": [-0.5]}), "alerts.thresholds[0]: -0.5 is outside"),
        (_with("alerts", {"thresholds": [0.8, 0.5]}), "alerts.thresholds[1]: 0.5 is below 0.8"),
        (_with("alerts", {"thresholds": [0.5, 0.5]}), "alerts.thresholds[1]: 0.5 repeats 0.5"),
        (_with("alerts", {"thresholds": ["80%"]}), "alerts.thresholds[0]: expected a fraction"),
        (_with("alerts", {"thresholds": [True]}), "alerts.thresholds[0]: expected a fraction"),
        (
            _with("business_hours", {}),
            "priority.urgent.clock: business clock, but business_hours has no open hours",
        ),
    ],
)
def test_malformed_policies_are_rejected(data: dict, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, "x.toml", "x")
    assert message in str(info.value)
    assert str(info.value).startswith("x.toml: ")


def test_load_policy_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="missing.toml: policy file not found"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("timezone = \n")
    with pytest.raises(PolicyError, match="bad.toml: not valid TOML"):
        load_policy(bad)
    ok = tmp_path / "gold.toml"
    ok.write_text(default_policy_path().read_text().replace('name = "default"\n', ""))
    assert load_policy(ok).name == "gold"  # name from the file stem


def test_toml_native_dates_are_accepted(tmp_path: Path) -> None:
    text = default_policy_path().read_text()
    f = tmp_path / "p.toml"
    f.write_text(text.replace('{ date = "2026-11-26", name = "Thanksgiving Day" }', "2026-11-26"))
    assert load_policy(f).holiday_name(date(2026, 11, 26)) == "holiday"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14400), ("1h30m", 5400), ("45m", 2700), ("1h 30m", 5400), ("90s", 90), ("2d", 172800)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "4", "30m1h", "-1h", "4 hours", "1.5h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0m 00s"),
        (5, "0m 05s"),
        (47 * 60 + 12, "47m 12s"),
        (3599, "59m 59s"),
        (3600, "1h 00m"),
        (5 * 3600 + 3 * 60 + 59, "5h 03m"),
        (86399, "23h 59m"),
        (86400, "24h 00m"),
        (2 * 86400 + 4 * 3600 + 59, "52h 00m"),
        (-(47 * 60 + 12), "47m 12s"),
        (-(2 * 86400 + 4 * 3600), "52h 00m"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_policy_book_remembers_a_missing_contract(tmp_path, monkeypatch) -> None:
    """A row naming a missing contract must not hit the disk on every paint."""
    import pytest as _pytest

    from agent_console.sla import PolicyBook, PolicyError, load_default_policy
    from agent_console.sla import policy_files as policy_module

    calls = []
    real = policy_module.load_policy_named

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(policy_module, "load_policy_named", counting)
    book = PolicyBook(load_default_policy(), [tmp_path])
    for _ in range(3):
        with _pytest.raises(PolicyError, match="no-such-contract"):
            book.get("no-such-contract")
    assert calls == ["no-such-contract"]


# ------------------------------------------------------------ policy options (issue 9/10)
def test_option_defaults_when_absent() -> None:
    p = parse_policy(copy.deepcopy(BASE), "x.toml", "x")
    assert p.alert_thresholds == (0.5, 0.8, 1.0)
    assert p.alert_thresholds == DEFAULT_ALERT_THRESHOLDS
    for target in p.priorities.values():
        assert target.status_update_pauses is False
        assert target.update_warning is None
    # an [alerts] table without thresholds keeps the defaults
    assert parse_policy(_with("alerts", {}), "x.toml", "x").alert_thresholds == (0.5, 0.8, 1.0)


def test_options_parse() -> None:
    data = _with("alerts", {"thresholds": [0.25, 0.75, 1]})
    data["priority"]["urgent"]["status_update_pauses"] = True
    data["priority"]["critical"]["update_warning"] = "15m"
    data["priority"]["minor"]["update_warning"] = "2h30m"
    p = parse_policy(data, "x.toml", "x")
    assert p.alert_thresholds == (0.25, 0.75, 1.0)
    assert all(isinstance(x, float) for x in p.alert_thresholds)
    assert p.priorities["urgent"].status_update_pauses is True
    assert p.priorities["critical"].status_update_pauses is False
    assert p.priorities["critical"].update_warning == 900
    assert p.priorities["minor"].update_warning == 9000
    assert p.priorities["urgent"].update_warning is None


def test_shipped_policy_options() -> None:
    p = load_default_policy()
    assert p.alert_thresholds == (0.5, 0.8, 1.0)
    assert p.priorities["critical"].update_warning == 15 * 60  # "15 minutes before each hourly"
    # the handbook's updates are owed while the desk works, not while it waits (README)
    assert [t.status_update_pauses for t in p.priorities.values()] == [True, True, True]
    ent = load_policy_named("enterprise-plus")
    # the contract keeps the cadence running while waiting (the option left out)
    assert [t.status_update_pauses for t in ent.priorities.values()] == [False, False, False]
    assert ent.alert_thresholds == DEFAULT_ALERT_THRESHOLDS


@pytest.mark.parametrize(
    "change",
    [
        ("alerts", {"thresholds": [0.5, 0.9, 1.0]}),
        ("priority.urgent.status_update_pauses", True),
        ("priority.critical.update_warning", "15m"),
    ],
)
def test_options_enter_the_fingerprint(change: tuple[str, object]) -> None:
    base = parse_policy(copy.deepcopy(BASE), "x.toml", "x")
    changed = parse_policy(_with(*change), "x.toml", "x")
    assert changed.fingerprint != base.fingerprint
    again = parse_policy(_with(*change), "y.toml", "x")  # the file's path does not count
    assert again.fingerprint == changed.fingerprint


def test_constructed_policy_fingerprint_counts_the_options() -> None:
    from agent_console.sla import Policy

    p = parse_policy(copy.deepcopy(BASE), "x.toml", "x")
    a = Policy("x", p.calendar, p.priorities)
    b = Policy("x", p.calendar, p.priorities, alert_thresholds=(0.9, 1.0))
    assert b.alert_thresholds == (0.9, 1.0)
    assert a.fingerprint != b.fingerprint
