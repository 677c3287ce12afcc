"""Views as files (issue 16): views.toml read, merged and checked; a view's filter compiled
to SQL returns the same tickets as the same filter applied in Python, on SQLite and
PostgreSQL; counts follow the views in force."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from agent_console.desk import Desk
from agent_console.desk.queue import VIEW_NAMES, QueueQuery
from agent_console.desk.view_files import (
    ViewFileError,
    builtin_views_path,
    load_view_set,
    parse_filter,
    read_views,
    team_views_path,
)
from agent_console.store.models import Agent, Customer, Organization, Ticket
from agent_console.views import FilterClause, ViewFilter
from tests.conftest import FIXED_NOW


# ---------------------------------------------------------------- the file
def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_are_todays_eight_views() -> None:
    views = read_views(builtin_views_path())
    assert [v.name for v in views] == [
        "working", "mine", "unassigned", "escalations", "critical", "breaching", "waiting", "all",
    ]
    assert "".join(v.key for v in views) == "wmuexbpa"
    assert all(v.sort == "due" for v in views)


def test_team_file_adds_overrides_and_hides(tmp_path: Path) -> None:
    path = write(
        tmp_path / "views.toml",
        """
[[view]]
name = "vip"
label = "VIP billing"
key = "v"
sort = "priority"
columns = ["priority", "assignee"]
filter = 'tag in (vip, billing) and org = "Bluebird Bank" or priority = critical'

[[view]]
name = "mine"
key = "y"

[[view]]
name = "waiting"
hide = true
""",
    )
    vs = load_view_set(path)
    assert vs.error is None
    assert "waiting" not in vs.names and vs.names[-1] == "vip"
    mine = vs.named("mine")
    assert (mine.key, mine.label, mine.filter.text) == ("y", "My tickets", "assignee = me")
    vip = vs.named("vip")
    assert vip.columns == ("key", "priority", "subject", "assignee", "timer")
    assert vip.sort == "priority" and vip.source == str(path)
    assert vip.filter.groups[0][0] == FilterClause("tag", "in", ("vip", "billing"))
    assert vip.filter.groups[0][1] == FilterClause("org", "=", ("Bluebird Bank",))
    assert vip.filter.groups[1] == (FilterClause("priority", "=", ("critical",)),)


@pytest.mark.parametrize(
    ("body", "view", "key", "words"),
    [
        ('[[view]]\nname = "x"\nkey = "q"\nfilter = "prio = 1"', "x", "filter", "unknown field 'prio'"),
        ('[[view]]\nname = "x"\nkey = "q"\nfilter = "tier = 0"', "x", "filter", "tier '0'"),
        ('[[view]]\nname = "x"\nkey = "q"\nfilter = "text in (a, b)"', "x", "filter", "text takes"),
        ('[[view]]\nname = "x"\nkey = "q"\nfilter = "status = closed"', "x", "filter", "open tickets"),
        ('[[view]]\nname = "x"\nkey = "q"\nfilter = "tier = mine and"', "x", "filter", "missing"),
        ('[[view]]\nname = "x"\nkey = "q"\nfilter = "breaching_within = soon"', "x", "filter", "breaching_within"),
        ('[[view]]\nname = "x"\nkey = "w"\nfilter = ""', "x", "key", "view 'working'"),
        ('[[view]]\nname = "x"\nkey = "c"\nfilter = ""', "x", "key", "queue key"),
        # B is the queue's bulk action and space its mark: neither can name a view (trial)
        ('[[view]]\nname = "x"\nkey = "B"\nfilter = ""', "x", "key", "queue key"),
        ('[[view]]\nname = "x"\nkey = " "\nfilter = ""', "x", "key", "queue key"),
        ('[[view]]\nname = "x"\nkey = "q"\nsort = "age"\nfilter = ""', "x", "sort", "'age'"),
        ('[[view]]\nname = "x"\nkey = "q"\ncolumns = ["sla"]\nfilter = ""', "x", "columns", "'sla'"),
        ('[[view]]\nname = "x"\nkey = "q"\ncolour = "red"\nfilter = ""', "x", "colour", "unknown key"),
        ('[[view]]\nname = "x"\nkey = "q"', "x", "filter", "needs a filter"),
        ('[[view]]\nlabel = "x"', None, "name", "needs a name"),
    ],
)
def test_bad_team_file_names_file_view_and_key_and_keeps_builtins(
    tmp_path: Path, body: str, view: str | None, key: str, words: str
) -> None:
    path = write(tmp_path / "views.toml", body)
    with pytest.raises(ViewFileError) as err:
        read_views(path, read_views(builtin_views_path()))
    text = str(err.value)
    assert text.startswith(f"views file {path}")
    if view is not None:
        assert f"view {view!r}" in text
    assert f"key {key!r}" in text
    assert words in text
    vs = load_view_set(path)
    assert vs.names == VIEW_NAMES and vs.error is not None and "built-in views" in vs.error


def test_not_toml_is_one_line(tmp_path: Path) -> None:
    vs = load_view_set(write(tmp_path / "views.toml", "[[view]\nname ="))
    assert vs.names == VIEW_NAMES
    assert vs.error is not None and "not valid TOML" in vs.error and "\n" not in vs.error


def test_filter_language() -> None:
    f = parse_filter("priority in [1, urgent] and assignee != none or text = 'refund or cancel'")
    assert f.groups == (
        (FilterClause("priority", "in", ("critical", "urgent")), FilterClause("assignee", "!=", ("none",))),
        (FilterClause("text", "=", ("refund or cancel",)),),
    )
    assert parse_filter("  ") == ViewFilter((), "")
    for bad in ("priority", "priority ~ 1", "priority = 1 2", "(priority = 1)", "tier in (1"):
        with pytest.raises(ValueError):
            parse_filter(bad)


# ---------------------------------------------------------------- SQL = Python
@dataclass(frozen=True)
class Fact:
    id: int
    key: str
    subject: str
    requester: str
    email: str
    org: str | None
    priority: str
    status: str
    tier: int
    escalated: bool
    assignee: str | None
    request_type: str
    tags: tuple[str, ...]
    next_due: datetime


def python_match(f: ViewFilter, t: Fact, me: str, my_tier: int, now: datetime) -> bool:
    """The filter's meaning, written independently of the SQL compiler."""

    def holds(c: FilterClause) -> bool:
        vals = c.values
        match c.field:
            case "priority":
                hit = t.priority in vals
            case "status":
                hit = t.status in vals
            case "type":
                hit = t.request_type in vals
            case "tier":
                hit = any(t.tier == (my_tier if v == "mine" else int(v)) for v in vals)
            case "escalated":
                hit = t.escalated == (vals[0] == "yes")
            case "assignee":
                hit = any(
                    (v == "none" and t.assignee is None)
                    or (v == "me" and t.assignee == me)
                    or (t.assignee is not None and t.assignee == v)
                    for v in vals
                )
            case "org":
                hit = t.org is not None and t.org.lower() in {v.lower() for v in vals}
            case "tag":
                hit = any(v in t.tags for v in vals)
            case "breaching_within":
                hit = t.next_due <= now + timedelta(seconds=int(vals[0]))
            case "text":
                needle = vals[0].lower()
                hit = any(
                    needle in (s or "").lower()
                    for s in (t.key, t.subject, t.requester, t.email, t.org)
                )
            case _:
                raise AssertionError(c.field)
        return not hit if c.op == "!=" else hit

    return not f.groups or any(all(holds(c) for c in g) for g in f.groups)


FILTERS = [
    "tier = mine and assignee = none or assignee = me",
    "priority in (critical, urgent) and tier = mine and assignee = none",
    "priority != minor",
    "status in (new, open) and tier != 2",
    "assignee != me",
    "assignee != none and assignee != alice",
    "assignee in (bruno, femi, none)",
    "assignee != bruno",
    "org = 'bluebird bank' or org = 'Acme Loyalty'",
    "org != 'Bluebird Bank'",
    "tag = vip",
    "tag in (billing, outage) and priority != critical",
    "tag != vip",
    "type = inoperable or type in (added, desired) and escalated = yes",
    "escalated != yes",
    "breaching_within = 1d",
    "breaching_within != 8h or status = pending",
    "text = re",
    "text = 'Bluebird' or text = '%'",
    "text != ca and tier in (1, 3)",
    "",
]


def _prepare(desk: Desk) -> None:
    """A seeded queue with tags and request types spread over the tickets."""
    desk.seed(500, seed=3, now=FIXED_NOW)
    rng = random.Random(16)
    tags = ["vip", "billing", "outage", "vipx", "login"]
    types = ["inoperable", "added", "desired", "question"]
    with desk.write() as s:
        ids = list(s.execute(select(Ticket.id)).scalars())
        for tid in ids:
            chosen = sorted(rng.sample(tags, rng.randint(0, 3)))
            s.execute(
                update(Ticket)
                .where(Ticket.id == tid)
                .values(tags=",".join(chosen), request_type=rng.choice(types))
            )


def _facts(desk: Desk) -> list[Fact]:
    T, C, Og, A = Ticket, Customer, Organization, Agent
    with desk.read() as s:
        rows = s.execute(
            select(
                T.id, T.key, T.subject, C.name, C.email, Og.name, T.priority, T.status, T.tier,
                T.escalated, A.handle, T.request_type, T.tags, T.next_due,
            )
            .join(C, C.id == T.requester_id)
            .outerjoin(Og, Og.id == T.organization_id)
            .outerjoin(A, A.id == T.assignee_id)
            .where(T.is_open == True)  # noqa: E712
        ).all()
    return [
        Fact(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10], r[11],
             tuple(x for x in (r[12] or "").split(",") if x), r[13])
        for r in rows
    ]


def _check_same_tickets(desk: Desk, tmp_path: Path) -> None:
    _prepare(desk)
    facts = _facts(desk)
    body = "".join(
        f'[[view]]\nname = "f{i}"\nkey = ""\nfilter = """{text}"""\n\n'
        for i, text in enumerate(FILTERS)
    )
    desk.views_path = write(tmp_path / "views.toml", body)
    vs = desk.queue_view_set(reload=True)
    assert vs.error is None
    me = desk.queue_me("alice")
    counts = desk.queue_counts("alice", FIXED_NOW)
    nonempty = 0
    for i, text in enumerate(FILTERS):
        view = vs.named(f"f{i}")
        want = {t.id for t in facts if python_match(view.filter, t, "alice", me.tier, FIXED_NOW)}
        got = desk.queue_ids(QueueQuery(view=view.name, agent="alice"), FIXED_NOW)
        assert set(got) == want, text
        assert len(got) == len(set(got))
        assert counts[view.name] == len(want), text
        nonempty += bool(want) and len(want) < len(facts)
    assert nonempty >= len(FILTERS) - 4  # the filters really select


def test_compiled_filters_match_python_sqlite(desk: Desk, tmp_path: Path) -> None:
    _check_same_tickets(desk, tmp_path)


@pytest.mark.postgres
def test_compiled_filters_match_python_postgres(pg_desk: Desk, tmp_path: Path) -> None:
    _check_same_tickets(pg_desk, tmp_path)


def test_desk_reads_the_team_file_from_the_config_dir(desk: Desk) -> None:
    write(team_views_path(), '[[view]]\nname = "crit2"\nkey = "2"\nfilter = "priority = critical"\n')
    # "2" is a screen key: the file is refused, the built-ins stay
    vs = desk.queue_view_set(reload=True)
    assert vs.names == VIEW_NAMES and "'2' is a queue key" in (vs.error or "")
    write(team_views_path(), '[[view]]\nname = "crit2"\nkey = "z"\nfilter = "priority = critical"\n')
    vs = desk.queue_view_set(reload=True)
    assert vs.error is None and vs.names[-1] == "crit2"
    assert desk.queue_view("crit2").key == "z"


# ---------------------------------------------------------------- the command line
def test_cli_views_list_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agent_console.cli import main

    assert main(["views", "list"]) == 0
    out = capsys.readouterr().out
    assert "working" in out and "tier = mine and assignee = none or assignee = me" in out
    write(team_views_path(), '[[view]]\nname = "hot"\nkey = "v"\nfilter = "priority = 1"\n')
    assert main(["views", "check"]) == 0
    assert "ok, 9 views in force" in capsys.readouterr().out
    bad = write(tmp_path / "bad.toml", '[[view]]\nname = "x"\nkey = "q"\nfilter = "tier in 1"\n')
    assert main(["views", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"views file {bad}: view 'x', key 'filter'" in err and err.count("\n") == 1
    write(team_views_path(), '[[view]]\nname = "hot"\nkey = "w"\nfilter = ""\n')
    assert main(["views", "list", "--json"]) == 2  # listed (the built-ins), and the error
    captured = capsys.readouterr()
    assert '"name": "all"' in captured.out and "using the built-in views" in captured.err
    assert main(["views", "check", str(tmp_path)]) == 2  # a folder is said to be one (trial)
    err = capsys.readouterr().err
    assert f"views file {tmp_path}: is a folder" in err and err.count("\n") == 1


def test_labels_with_a_terminal_escape_are_shown_not_obeyed(tmp_path: Path) -> None:
    """ESC[2J in a view's short label cleared the real terminal from the view bar (trial)."""
    path = write(
        tmp_path / "views.toml",
        '[[view]]\nname = "bb"\nkey = "z"\nfilter = ""\n'
        'label = "Blue \\u001b[31mbird"\nshort = "BB\\u001b[2J"\nhelp = "h\\u009b"\n',
    )
    bb = load_view_set(path).named("bb")
    assert (bb.label, bb.short, bb.help) == ("Blue \\x1b[31mbird", "BB\\x1b[2J", "h\\x9b")


def test_an_unknown_assignee_handle_is_refused_in_one_line(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``assignee = nobodyhere`` showed an empty view, silently (trial): the same rule
    refuses it in ``views check`` and when the console reads the file, naming the file, the
    view, the key and the handle; a known handle (any case), me and none pass."""
    from agent_console.cli import main

    desk.add_agent("alice", "Alice A", 1)
    bad = write(
        team_views_path(),
        '[[view]]\nname = "hers"\nkey = "v"\nfilter = "assignee in (Alice, nobodyhere)"\n',
    )
    vs = desk.queue_view_set(reload=True)
    assert vs.names == VIEW_NAMES  # the built-ins run
    assert vs.error is not None and vs.error.startswith(
        f"views file {bad}: view 'hers', key 'filter': assignee 'nobodyhere': no agent has "
        "that handle (use me, none or a handle: "
    )
    assert "alice" in vs.error and vs.error.endswith("using the built-in views")
    base = ["--db", desk.settings.db_url]
    assert main([*base, "views", "check"]) == 2
    err = capsys.readouterr().err
    assert "assignee 'nobodyhere': no agent has that handle" in err and err.count("\n") == 1
    write(team_views_path(), '[[view]]\nname = "hers"\nkey = "v"\nfilter = "assignee = ALICE or assignee = me"\n')
    assert main([*base, "views", "check"]) == 0
    assert desk.queue_view_set(reload=True).error is None
    # the file alone (no database to ask) still parses: handles are the database's
    assert read_views(bad, read_views(builtin_views_path()))[-1].name == "hers"
