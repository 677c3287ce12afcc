"""Knowledge-base import (front matter, idempotence, a broken file among good ones), the index
kept in step with updates, links to tickets, suggestions, and the ``kb`` CLI — on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.errors import NotFound, UserError
from agent_console.kb.text import ArticleError, parse_article, plain_text, snippet_parts
from agent_console.paths import kb_dir
from agent_console.settings import Settings
from agent_console.store.models import TicketEvent

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

GOOD = {
    "alpha.md": "---\ntitle: Alpha gizmos\nsection: Testing\ntags: [one, two]\n---\n"
    "Alpha body about **gizmos** and [links](https://example.com).\n",
    "beta.md": "---\ntitle: Beta widgets\nslug: beta-custom\ntags: three, four\n---\n"
    "Beta body about widgets.\n",
    "sub/gamma.md": "---\ntitle: 'Gamma: quoted'\ntags:\n  - five\n  - six\n---\nGamma body.\n",
    "heading-only.md": "# Title from the heading\n\nNo front matter at all.\n",
}
BAD = {
    "broken.md": "---\ntitle: Never closed\n\nbody\n",
    "no-title.md": "---\nsection: x\n---\nno title here and no heading\n",
    "bad-slug.md": "---\ntitle: Bad slug\nslug: Not A Slug!\n---\nbody\n",
    "dup.md": "---\ntitle: Duplicate\nslug: beta-custom\n---\nbody\n",
}


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    if request.param == "sqlite":
        desk = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'kb.db'}", now=NOW))
        yield desk
        desk.engine.dispose()
    else:
        yield request.getfixturevalue("pg_desk")


# ------------------------------------------------------------------ parsing
def test_parse_front_matter_variants() -> None:
    doc = parse_article(GOOD["alpha.md"], default_slug="alpha")
    assert (doc.slug, doc.title, doc.section, doc.tags) == (
        "alpha",
        "Alpha gizmos",
        "Testing",
        ("one", "two"),
    )
    assert parse_article(GOOD["beta.md"], default_slug="beta").slug == "beta-custom"
    gamma = parse_article(GOOD["sub/gamma.md"], default_slug="gamma")
    assert gamma.title == "Gamma: quoted" and gamma.tags == ("five", "six")
    assert (
        parse_article(GOOD["heading-only.md"], default_slug="Heading Only").slug == "heading-only"
    )


@pytest.mark.parametrize("name", sorted(BAD.keys() - {"dup.md"}))
def test_parse_rejects_with_one_line(name: str) -> None:
    with pytest.raises(ArticleError) as info:
        parse_article(BAD[name], default_slug=name[:-3])
    assert "\n" not in str(info.value)


def test_plain_text_and_snippet_parts() -> None:
    assert plain_text("# Head\n\n* **bold** [link](http://x) `code`\n") == "Head\nbold link code"
    assert snippet_parts("a «b» c") == [("a ", False), ("b", True), (" c", False)]
    assert snippet_parts("«open") == [("open", False)]


# ------------------------------------------------------------------ import
def test_import_skips_broken_files_and_counts_them(any_desk: Desk, tmp_path: Path) -> None:
    folder = write(tmp_path / "kb", {**GOOD, **BAD, "binary.md": b"\xff\xfe\x00bad"})
    (tmp_path / "kb" / "notes.txt").write_text("not an article")
    seen: list[tuple[int, int]] = []
    report = any_desk.import_kb(folder, progress=lambda done, total: seen.append((done, total)))
    assert report.created == 4
    assert report.skipped == 5
    assert sorted(e.name for e in report.errors) == [
        "bad-slug.md",
        "binary.md",
        "broken.md",
        "dup.md",
        "no-title.md",
    ]
    assert "5 skipped" in report.summary()
    assert seen[-1] == (4, 4)
    assert any_desk.search_kb("gizmos ")[0].slug == "alpha"
    assert any_desk.search_kb("widgets ")[0].slug == "beta-custom"
    assert any_desk.get_article("gamma").tags == ("five", "six")


def test_import_is_idempotent_and_updates_by_slug(any_desk: Desk, tmp_path: Path) -> None:
    folder = write(tmp_path / "kb", GOOD)
    first = any_desk.import_kb(folder)
    again = any_desk.import_kb(folder)
    assert (first.created, again.created, again.updated, again.unchanged) == (4, 0, 0, 4)
    assert any_desk.kb_article_count() == 4
    before = any_desk.get_article("alpha")
    write(folder, {"alpha.md": "---\ntitle: Alpha sprockets\n---\nNow about sprockets only.\n"})
    third = any_desk.import_kb(folder)
    assert (third.updated, third.unchanged) == (1, 3)
    after = any_desk.get_article("alpha")
    assert after.version == before.version + 1 and after.title == "Alpha sprockets"
    # the index follows: the new words are found, the old ones are gone (vocabulary too)
    assert [h.slug for h in any_desk.search_kb("sprockets ")] == ["alpha"]
    assert any_desk.search_kb("gizmos ") == []
    assert any_desk.search_kb("gizmo ") == []  # no typo correction to a vanished word


def test_import_missing_folder_is_one_line(any_desk: Desk, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such folder"):
        any_desk.import_kb(tmp_path / "nope")


def test_starter_articles(any_desk: Desk) -> None:
    report = any_desk.import_kb(kb_dir())
    assert report.ok and 15 <= report.created <= 25
    art = any_desk.get_article("maintenance-windows")
    assert "Monday and" in art.body and art.link.endswith("/maintenance-windows")


def test_index_rebuilt_when_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    desk = Desk.open(Settings(db_url=url, now=NOW))
    desk.import_kb(write(tmp_path / "kb", GOOD))
    with desk.engine.begin() as conn:  # an older console, or a damaged index
        conn.execute(text("DROP TABLE kb_fts"))
    desk.engine.dispose()
    fresh = Desk.open(Settings(db_url=url, now=NOW))
    assert fresh.search_kb("gizmos ")[0].slug == "alpha"
    assert fresh.reindex_kb() == 4
    fresh.engine.dispose()


# ------------------------------------------------------------------ tickets
@pytest.fixture
def seeded(any_desk: Desk) -> Desk:
    any_desk.seed(3, seed=5, now=NOW)  # loads the starter articles too
    return any_desk


def test_link_unlink_and_history(seeded: Desk) -> None:
    # a new tier 1 ticket: the demo agent is tier 1, and closed tickets take no links
    key = seeded.create_ticket(
        subject="Points missing", body="Where are my points?", requester_email="a@b.example"
    )
    assert seeded.link_article(key, "priority-levels") is True
    assert seeded.link_article(key, "priority-levels") is False
    assert seeded.link_article(key.lower(), "response-times", agent="demo") is True
    links = seeded.articles_for_ticket(key)
    assert [a.slug for a in links] == ["priority-levels", "response-times"]
    assert links[0].linked_by == "demo"
    assert seeded.unlink_article(key, "priority-levels") is True
    assert seeded.unlink_article(key, "priority-levels") is False
    assert [a.slug for a in seeded.articles_for_ticket(key)] == ["response-times"]
    with seeded.read() as s:
        events = s.exec(select(TicketEvent).order_by(TicketEvent.id)).all()
    kinds = [(e.kind, e.details.get("slug")) for e in events if "article" in e.kind]
    assert kinds == [
        ("linked-article", "priority-levels"),
        ("linked-article", "response-times"),
        ("unlinked-article", "priority-levels"),
    ]
    with pytest.raises(NotFound):
        seeded.link_article(key, "no-such-article")
    with pytest.raises(NotFound):
        seeded.link_article("SUP-99999", "priority-levels")


def test_suggestions_come_from_subject_and_first_message(seeded: Desk) -> None:
    text_ = seeded.suggestion_text("SUP-1002")
    assert text_
    hits = seeded.suggest_for_ticket("SUP-1002")
    assert hits and all(h.slug for h in hits)


# ------------------------------------------------------------------ CLI
def test_cli_import_and_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = write(tmp_path / "kb", {**GOOD, "broken.md": BAD["broken.md"]})
    assert main(["--db", db, "kb", "import", str(folder)]) == 1
    out = capsys.readouterr()
    assert "4 new" in out.out and "1 skipped" in out.out
    assert "broken.md" in out.err
    assert main(["--db", db, "kb", "import", str(kb_dir())]) == 0
    capsys.readouterr()
    assert main(["--db", db, "kb", "search", "--json", "--limit", "3", "reset", "password"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["slug"] == "reset-portal-password"
    assert set(hits[0]) >= {"slug", "title", "score", "snippet"}
    assert "«" in hits[0]["snippet"]
    assert main(["--db", db, "kb", "search", "maintenance"]) == 0
    out = capsys.readouterr().out
    assert "Scheduled maintenance windows" in out and "«" in out and "\033[" not in out
    assert main(["--db", db, "kb", "search", "--", "'; DROP TABLE kb_article; --"]) == 0
    assert main(["--db", db, "kb", "show", "nope"]) == 2
    assert "no article" in capsys.readouterr().err
