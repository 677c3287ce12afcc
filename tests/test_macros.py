"""Macros (issue 16): files, placeholders, applying through the desk with the tier rules,
personal macros shadowing shipped ones, bulk actions with partial failure — SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.desk.macro_files import MacroBook, MacroError, parse_macro, render
from agent_console.desk.macros import personal_macros_dir, shipped_macros_dir
from agent_console.errors import PermissionDenied, UserError
from agent_console.paths import kb_dir
from agent_console.settings import Settings
from agent_console.store.models import Message, Ticket, TicketEvent
from tests.conftest import FIXED_NOW

EVERY = (
    "Hi {requester.first_name} ({requester.name}, {requester.email}) — {ticket.key} "
    "'{ticket.subject}' is {ticket.priority}/{ticket.status} for {org.name}. "
    "{agent.first_name} / {agent.name} / {agent.handle}. See {kb:reset-portal-password}. "
    "Literal {{braces}}."
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def setup(d: Desk) -> str:
    d.add_agent("ann", "Ann One", 1)
    d.add_agent("bob", "Bob One", 1)
    d.add_agent("tom", "Tom Two", 2)
    d.add_agent("lea", "Lea Lead", 1, lead=True)
    d.import_kb(kb_dir())
    return d.create_ticket(
        subject="Portal [bold]login[/] loops",
        body="It loops.",
        requester_email="ava@acme.example",
        requester_name="Ava Adams",
        organization="Acme Loyalty",
        priority="urgent",
    )


@pytest.fixture
def mdesk(sqlite_url: str) -> Iterator[Desk]:
    d = Desk.open(Settings(db_url=sqlite_url, agent="ann", now=FIXED_NOW))
    yield d
    d.engine.dispose()


def raw(d: Desk, key: str) -> Ticket:
    with d.read() as s:
        return s.exec(select(Ticket).where(Ticket.key == key)).one()


def counts(d: Desk, key: str) -> tuple[int, int, int]:
    t = raw(d, key)
    with d.read() as s:
        ev = len(s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).all())
        msgs = len(s.exec(select(Message).where(Message.ticket_id == t.id)).all())
    return t.version, ev, msgs


# ---------------------------------------------------------------- files and rendering
def test_render_every_placeholder_and_literal_braces(mdesk: Desk) -> None:
    key = setup(mdesk)
    write(personal_macros_dir(), "every.toml", f'text = """{EVERY}"""\nkind = "note"\n')
    p = mdesk.preview_macro(key, "every")
    assert p.refusal is None
    assert p.text == (
        f"Hi Ava (Ava Adams, ava@acme.example) — {key} 'Portal [bold]login[/] loops' is "
        "urgent/new for Acme Loyalty. Ann / Ann One / ann. See Resetting a Portal password or "
        "unlocking an account (https://support.clutch.com/knowledge-base/reset-portal-password)."
        " Literal {braces}."
    )
    mdesk.apply_macro(key, "every")
    with mdesk.read() as s:
        bodies = [m.body for m in s.exec(select(Message)).all()]
    assert p.text in bodies


def test_missing_value_is_named_and_nothing_is_written(mdesk: Desk) -> None:
    key = setup(mdesk)
    other = mdesk.create_ticket(
        subject="No org", body="x", requester_email="zed@example.com", requester_name="Zed"
    )
    write(
        personal_macros_dir(),
        "needs.md",
        "---\nstatus: pending\n---\nHi {requester.first_name} of {org.name}, {kb:no-such-article}\n",
    )
    before = counts(mdesk, other)
    with pytest.raises(UserError) as err:
        mdesk.apply_macro(other, "needs")
    assert "{org.name}" in str(err.value) and "{kb:no-such-article}" in str(err.value)
    assert "{requester.first_name}" not in str(err.value)
    assert counts(mdesk, other) == before
    p = mdesk.preview_macro(other, "needs")
    assert p.refusal and "{org.name}" in p.refusal
    assert "⟨org.name: no value⟩" in p.text and "{" not in p.text
    assert mdesk.preview_macro(key, "needs").refusal is not None  # the article is missing


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('text = "Hi {nope}"', "unknown placeholder {nope}"),
        ('text = "a { b"', "lone '{'"),
        ('text = "x"\npriority = "urgent"', "priority needs a reason"),
        ('text = "x"\ntier = 2', "handoff note"),
        ('text = "x"\nstatus = "resolved"', "resolution"),
        ('text = "x"\nstatus = "lost"', "status 'lost'"),
        ('text = "x"\ncolour = "red"', "unknown key 'colour'"),
        ('title = "nothing"', "does nothing"),
        ("text = ", "macro file"),
        ('text = "Hi \\u001b[2J there"', "text holds the control character 0x1b"),
        ('text = "x"\nadd_tags = ["ok", "b\\u009bad"]', "holds the control character 0x9b"),
        ('title = "t\\u0007"\ntext = "x"', "title holds the control character 0x07"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, text: str, error: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(MacroError) as err:
        parse_macro(path, "personal")
    assert str(path) in str(err.value) and error in str(err.value)


def test_render_reports_every_missing_name_once() -> None:
    text, missing = render(
        "{org.name} {org.name} {kb:x} {{ok}}", {"org.name": None}, lambda s: None
    )
    assert missing == ["{org.name}", "{kb:x}"]
    assert text == "   {ok}"


def test_shipped_macros_load_cleanly() -> None:
    book = MacroBook.load(shipped_macros_dir(), None)
    assert book.errors == []
    assert 5 <= len(book.macros) <= 8
    assert all(m.source == "shipped" for m in book.macros.values())


def test_personal_macro_shadows_shipped_and_says_so(mdesk: Desk) -> None:
    key = setup(mdesk)
    write(
        personal_macros_dir(), "ask-for-details.md", "---\ntitle: Mine\n---\nMine, {agent.name}.\n"
    )
    write(personal_macros_dir(), "broken.toml", 'text = "{nope}"')
    book = mdesk.macro_book()
    mine = book.get("ask-for-details")
    assert mine.source == "personal" and mine.shadows is not None
    assert mine.shadows.parent == shipped_macros_dir()
    assert any("broken.toml" in e for e in book.errors)
    assert "critical-outage" in book.macros  # a broken file never hides the others
    p = mdesk.preview_macro(key, "ask-for-details")
    assert (p.title, p.shadows, p.text) == ("Mine", True, "Mine, Ann One.")
    with pytest.raises(UserError, match="broken.toml"):
        mdesk.get_macro("broken")


# ---------------------------------------------------------------- the desk
def apply_and_tier_rules(d: Desk) -> None:
    key = setup(d)
    write(
        personal_macros_dir(),
        "triage.toml",
        'text = "Looking into it, {requester.first_name}."\nstatus = "pending"\n'
        'priority = "critical"\nreason = "outage"\nadd_tags = ["outage"]\ntype = "inoperable"\n',
    )
    write(
        personal_macros_dir(),
        "to-tier-3.toml",
        'kind = "note"\ntext = "handing over"\ntier = 3\nhandoff = "found x"\n',
    )
    # tier 1 → tier 3 breaks the escalation rule: refused before anything is written
    before = counts(d, key)
    with pytest.raises(PermissionDenied, match="tier 3 only receives from tier 2"):
        d.apply_macro(key, "to-tier-3", agent="ann")
    assert counts(d, key) == before
    assert d.preview_macro(key, "to-tier-3", agent="ann").refusal
    # tier 2 agent on a tier 1 ticket: permissions.py's reason
    with pytest.raises(PermissionDenied, match="tom is tier 2"):
        d.apply_macro(key, "triage", agent="tom")
    assert counts(d, key) == before
    # the real thing: one transaction, every step through the workflow
    p = d.preview_macro(key, "triage", agent="ann")
    assert p.refusal is None
    assert any(c.startswith("priority urgent → critical") for c in p.changes)
    assert any(line.startswith("Resolution") for line in p.deadlines)
    assert counts(d, key) == before  # the preview wrote nothing
    detail = d.apply_macro(key, "triage", agent="ann", expected_version=before[0])
    assert (detail.status, detail.priority, detail.request_type) == (
        "pending",
        "critical",
        "inoperable",
    )
    assert "outage" in detail.tags
    version, _, _ = counts(d, key)
    assert version == before[0] + 1  # one transaction
    kinds = [e.kind for e in d.ticket_history(key)]
    assert kinds[-4:] == ["replied", "classified", "priority", "status"]


def test_apply_and_tier_rules_sqlite(mdesk: Desk) -> None:
    apply_and_tier_rules(mdesk)


def test_apply_and_tier_rules_postgres(pg_url: str) -> None:
    d = Desk.open(Settings(db_url=pg_url, agent="ann", now=FIXED_NOW))
    try:
        apply_and_tier_rules(d)
    finally:
        d.engine.dispose()


def bulk_partial_failure(d: Desk) -> None:
    key = setup(d)
    keys = [key] + [
        d.create_ticket(
            subject=f"t{i}", body="b", requester_email=f"c{i}@x.example", requester_name=f"C {i}"
        )
        for i in range(4)
    ]
    d.escalate(keys[1], "to tier 2", agent="ann")  # ann may no longer reply on it
    seen: list[tuple[int, int]] = []
    report = d.bulk_macro(
        [*keys, "SUP-99999"],
        "ask-for-details",
        agent="ann",
        progress=lambda a, b: seen.append((a, b)),
    )
    assert report.total == 6 and len(report.done) == 4 and len(report.refused) == 2
    refused = dict(report.refused)
    assert "tier 2" in refused[keys[1]] and "no ticket" in refused["SUP-99999"]
    assert report.summary() == "macro ask-for-details: 4 of 6 done, 2 refused"
    assert seen[-1] == (6, 6)
    assert raw(d, keys[1]).status == "new"  # untouched
    assert all(raw(d, k).status == "pending" for k in keys if k != keys[1])
    # the other bulk actions
    r = d.bulk_priority(keys, "critical", "batch", agent="ann")
    assert "tier 2" in dict(r.refused)[keys[1]]
    r = d.bulk_tags(keys, add=["batch"], remove=["needs-info"], agent="lea")
    assert r.ok and all("batch" in raw(d, k).tags for k in keys)
    r = d.bulk_status(keys, "open", agent="lea")
    assert r.ok and len(r.done) == 5  # a lead works every tier
    r = d.bulk_claim(keys, agent="bob")
    assert len(r.done) == 4 and "tier 2" in dict(r.refused)[keys[1]]
    r = d.bulk_assign(keys[2:], "ann", agent="lea")
    assert r.ok


def test_bulk_partial_failure_sqlite(mdesk: Desk) -> None:
    bulk_partial_failure(mdesk)


def test_bulk_partial_failure_postgres(pg_url: str) -> None:
    d = Desk.open(Settings(db_url=pg_url, agent="ann", now=FIXED_NOW))
    try:
        bulk_partial_failure(d)
    finally:
        d.engine.dispose()


# ---------------------------------------------------------------- the CLI
def test_cli_list_show_apply(sqlite_url: str, capsys) -> None:
    d = Desk.open(Settings(db_url=sqlite_url, now=FIXED_NOW))
    key = setup(d)
    d.engine.dispose()
    write(personal_macros_dir(), "ask-for-details.md", "---\ntitle: Mine\n---\nMine.\n")
    base = ["--db", sqlite_url]
    assert main([*base, "macro", "list"]) == 0
    out = capsys.readouterr().out
    assert "personal (hides shipped)" in out and "critical-outage" in out
    assert main([*base, "macro", "show", "password-reset", "--key", key, "--agent", "ann"]) == 0
    out = capsys.readouterr().out
    assert "Hi Ava," in out and "change: status new → resolved" in out
    assert main([*base, "macro", "show", "nope"]) != 0
    assert "no macro 'nope'" in capsys.readouterr().err
    # no such ticket is bad input (2), as in every ticket command, not a refusal (3)
    assert main([*base, "macro", "show", "password-reset", "--key", "SUP-4040", "--agent", "ann"]) == 2
    assert "no ticket 'SUP-4040'" in capsys.readouterr().err
    assert main([*base, "macro", "apply", "password-reset", key, "--agent", "tom"]) == 3
    err = capsys.readouterr().err
    assert "tom is tier 2" in err and "Traceback" not in err
    assert main([*base, "macro", "apply", "password-reset", key, "SUP-4040", "--agent", "ann"]) == 3
    out = capsys.readouterr().out
    assert "1 of 2 done, 1 refused" in out and "refused SUP-4040" in out


def test_status_changes_read_waiting_not_pending(mdesk: Desk) -> None:
    """Text output names statuses as the screens do (README "Times"): a macro's DOES column
    and each applied line say "waiting", not the stored "pending" (trial)."""
    book = mdesk.macro_book()
    assert "status → waiting" in book.get("points-not-posted").field_lines()


def test_a_file_name_with_a_control_character_is_refused(tmp_path: Path) -> None:
    """ESC in a macro's file name (its name) never reaches a picker or a customer."""
    path = write(tmp_path, "e\x1b[31mesc.toml", 'text = "x"')
    with pytest.raises(MacroError) as err:
        parse_macro(path, "personal")
    assert "the file name holds the control character 0x1b" in str(err.value)


def test_preview_changes_say_what_the_macro_changes(mdesk: Desk) -> None:
    """The preview's "Changes" are the change, as Zendesk's macro preview shows it: tags
    added and removed (not every tag the ticket ends with), priority old → new with its
    reason, status old → new (trial defect)."""
    key = setup(mdesk)
    mdesk.set_type_and_tags(key, "question", ["billing", "needs-info", "vip"], agent="ann")
    write(
        personal_macros_dir(),
        "triage.toml",
        'text = "x"\nstatus = "pending"\npriority = "critical"\nreason = "outage at {org.name}"\n'
        'add_tags = ["outage", "vip"]\nremove_tags = ["needs-info"]\ntype = "inoperable"\n',
    )
    p = mdesk.preview_macro(key, "triage", agent="ann")
    assert p.refusal is None
    assert p.changes == (
        "type question → inoperable",
        "tags +outage -needs-info",
        "priority urgent → critical (reason: outage at Acme Loyalty)",
        "status new → waiting",
    )
    # applying says the same (the CLI's line per ticket)
    report = mdesk.bulk_macro([key], "triage", agent="ann")
    assert report.done == [
        (
            key,
            f"{key}: macro triage: reply sent; type question → inoperable; tags +outage "
            "-needs-info; priority urgent → critical (reason: outage at Acme Loyalty); "
            "status new → waiting",
        )
    ]
    r = mdesk.bulk_tags([key], add=["later"], remove=["vip"], agent="ann")
    assert r.done == [(key, f"{key}: tags +later -vip")]


def test_cli_apply_text_from_stdin_is_kept_whole(sqlite_url: str, capsys, monkeypatch) -> None:
    """``macro apply NAME KEY --text -`` sends stdin as written — several lines, runs of
    spaces, blank lines — instead of the macro's text; ``-`` as a KEY reads ticket keys,
    and stdin text given there by mistake is one line saying what to type, not a refusal
    per word (trial defect)."""
    import io

    d = Desk.open(Settings(db_url=sqlite_url, now=FIXED_NOW))
    key = setup(d)
    other = d.create_ticket(
        subject="second", body="b", requester_email="b@x.example", requester_name="B B"
    )
    base = ["--db", sqlite_url]
    text = "Hi Ava,\n\n  step 1:   open the portal\n  step 2:   sign in\n\nAnn\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main([*base, "macro", "apply", "ask-for-details", key, "--text", "-", "--agent", "ann"]) == 0
    body = d.ticket_detail(key).thread[-1].body
    assert body == text.rstrip("\n")
    assert raw(d, key).status == "pending"  # the macro's fields still apply
    # the same text on several tickets (bulk form), from a file
    path = write(Path(d.settings.db_url.removeprefix("sqlite:///")).parent, "reply.txt", text)
    capsys.readouterr()
    assert main([*base, "macro", "apply", "ask-for-details", other, "--text", str(path), "--json", "--agent", "ann"]) == 0
    assert d.ticket_detail(other).thread[-1].body == text.rstrip("\n")
    # text piped to '-' by mistake: one line, nothing tried, nothing written
    before = counts(d, other)
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello there,\nsee SUP-1\n"))
    assert main([*base, "macro", "apply", "ask-for-details", "-", "--agent", "ann"]) == 2
    err = capsys.readouterr().err
    assert "'Hello' is not one" in err and "--text -" in err and "Traceback" not in err
    assert counts(d, other) == before
    # keys on stdin, one per line or several on a line
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{key} {other}\n"))
    assert main([*base, "macro", "apply", "duplicate-ticket", "-", "--agent", "ann"]) == 0
    assert "2 of 2 done" in capsys.readouterr().out
    # both from stdin cannot be
    assert main([*base, "macro", "apply", "duplicate-ticket", "-", "--text", "-"]) == 2
    # ESC in the text is refused like ESC in a macro file
    monkeypatch.setattr("sys.stdin", io.StringIO("hi \x1b[2J there"))
    assert main([*base, "macro", "apply", "ask-for-details", key, "--text", "-", "--agent", "ann"]) == 2
    assert "control character 0x1b" in capsys.readouterr().err
    d.engine.dispose()
