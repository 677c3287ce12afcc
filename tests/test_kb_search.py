"""Knowledge-base search on the shipped starter articles, on SQLite and PostgreSQL: ranking for
natural queries, stemming, prefixes while typing, phrases, typo fallback, hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_console.desk import Desk
from agent_console.kb.fuzzy import Vocabulary, within_one_edit
from agent_console.kb.query import parse_query
from agent_console.paths import kb_dir
from agent_console.settings import Settings
from tests.conftest import throwaway_pg_database

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def _open(url: str) -> Desk:
    desk = Desk.open(Settings(db_url=url, now=NOW))
    report = desk.import_kb(kb_dir())
    assert report.ok and report.created >= 15
    return desk


@pytest.fixture(scope="module")
def pg_kb_url(pg_server: str) -> Iterator[str]:
    with throwaway_pg_database(pg_server, "ac_test_kb") as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def kb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}"
    else:
        url = request.getfixturevalue("pg_kb_url")
    desk = _open(url)
    yield desk
    desk.engine.dispose()


def slugs(desk: Desk, query: str, limit: int = 5) -> list[str]:
    return [h.slug for h in desk.search_kb(query, limit)]


# ------------------------------------------------------------------ ranking
RANKING = [
    ("reset password", "reset-portal-password"),
    ("locked out of the portal", "reset-portal-password"),
    ("maintenance window", "maintenance-windows"),
    ("when is scheduled downtime", "maintenance-windows"),
    ("points not posted after purchase", "points-not-posted"),
    ("missing points", "points-not-posted"),
    ("critical response time", "response-times"),
    ("status updates hourly", "response-times"),
    ("what is an urgent priority", "priority-levels"),
    ("feature request", "bug-vs-feature-request"),
    ("something desired", "bug-vs-feature-request"),
    ("what to include in a request", "what-to-include-in-a-request"),
    ("contact support by phone", "how-to-reach-support"),
    ("escalate to tier 2", "escalation-paths"),
    ("lost phone two-factor", "two-factor-authentication"),
    ("merge duplicate members", "duplicate-member-accounts"),
    ("refund negative balance", "refunds-and-reversed-points"),
    ("redemption declined", "reward-redemption-failed"),
    ("transaction file rejected", "transaction-file-import-errors"),
    ("add a user role", "portal-users-and-roles"),
    ("weekend hours", "support-hours"),
    ("reopen resolved ticket", "pending-and-reopening-tickets"),
    ("award points manually", "virtual-terminal-basics"),
    ("export report csv", "portal-reports-and-exports"),
]


@pytest.mark.parametrize(("query", "expected"), RANKING)
def test_expected_article_ranks_first(kb: Desk, query: str, expected: str) -> None:
    assert slugs(kb, query + " ")[:1] == [expected]


def test_title_outweighs_body(kb: Desk) -> None:
    hits = kb.search_kb("maintenance ")
    assert hits[0].slug == "maintenance-windows"
    assert hits[0].score > hits[1].score


def test_hits_carry_snippet_with_markers(kb: Desk) -> None:
    hit = kb.search_kb("password ")[0]
    assert hit.title.startswith("Resetting a Portal password")
    assert "«" in hit.snippet and "»" in hit.snippet
    assert "\n" not in hit.snippet
    assert hit.match == "exact"
    assert set(hit.as_json()) >= {"slug", "title", "score", "snippet"}


# ------------------------------------------------------------------ stemming
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("refunds ", "refunds-and-reversed-points"),
        ("refunded ", "refunds-and-reversed-points"),
        ("merging ", "duplicate-member-accounts"),
        ("escalating ", "escalation-paths"),
        ("passwords ", "reset-portal-password"),
    ],
)
def test_stemming(kb: Desk, query: str, expected: str) -> None:
    assert expected in slugs(kb, query)


def test_refunds_finds_refund(kb: Desk) -> None:
    assert slugs(kb, "refunds ")[:1] == slugs(kb, "refund ")[:1] == ["refunds-and-reversed-points"]


# ------------------------------------------------------------------ prefixes while typing
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("pass", "reset-portal-password"),
        ("maint", "maintenance-windows"),
        ("maintenan", "maintenance-windows"),  # longer than the stem "mainten"
        ("maintenanc", "maintenance-windows"),
        ("dupl", "duplicate-member-accounts"),
        ("escala", "escalation-paths"),
        ("reward redemp", "reward-redemption-failed"),
        ("two-fac", "two-factor-authentication"),
    ],
)
def test_prefix_as_you_type(kb: Desk, typed: str, expected: str) -> None:
    assert slugs(kb, typed)[:1] == [expected]


def test_every_typed_prefix_of_a_title_word_finds_it(kb: Desk) -> None:
    word = "maintenance"
    for n in range(3, len(word) + 1):
        assert "maintenance-windows" in slugs(kb, word[:n]), word[:n]


def test_completed_word_is_not_a_prefix(kb: Desk) -> None:
    # "tier " (with a space) is the word, "tier" while typing also matches "tiers"
    assert slugs(kb, "escalation tier ")[:1] == ["escalation-paths"]


# ------------------------------------------------------------------ phrases
def test_quoted_phrase(kb: Desk) -> None:
    assert slugs(kb, '"negative balance"')[:1] == ["refunds-and-reversed-points"]
    # the same words, not adjacent: no phrase match anywhere
    assert slugs(kb, '"balance negative"') == []


def test_open_phrase_while_typing(kb: Desk) -> None:
    assert "refunds-and-reversed-points" in slugs(kb, '"negative bal')


# ------------------------------------------------------------------ typos
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pasword ", "reset-portal-password"),  # deletion
        ("passwrod ", "reset-portal-password"),  # transposition
        ("maintanance ", "maintenance-windows"),  # substitution
        ("duplicatte ", "duplicate-member-accounts"),  # insertion
        ("escalaton paths ", "escalation-paths"),
        ("redemtion", "reward-redemption-failed"),  # typo in the word being typed
    ],
)
def test_one_typo_falls_back_to_fuzzy(kb: Desk, query: str, expected: str) -> None:
    hits = kb.search_kb(query, 5)
    assert hits, query
    assert hits[0].slug == expected
    assert hits[0].match == "fuzzy"
    assert hits[0].corrected


def test_exact_match_wins_over_fuzzy(kb: Desk) -> None:
    assert all(h.match == "exact" for h in kb.search_kb("password "))


def test_two_typos_in_short_word_find_nothing(kb: Desk) -> None:
    assert kb.search_kb("pzsswxrd ") == []


# ------------------------------------------------------------------ hostile queries
HOSTILE = [
    "",
    " ",
    '"',
    '""',
    '"""',
    "'",
    "*",
    "**",
    "-",
    "--",
    "-password",
    "password*",
    "pass*word",
    "(",
    ")",
    "()",
    "(password",
    "password)",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "password AND",
    "AND password",
    "password OR refund",
    "NEAR(password reset)",
    "NEAR(password reset, 2)",
    "password NOT reset",
    "title:password",
    "body: refund",
    "^password",
    "'; DROP TABLE kb_article; --",
    '"; DROP TABLE kb_article; --',
    "Robert'); DROP TABLE ticket;--",
    "1=1 OR 1=1",
    "%",
    "_",
    "%password%",
    "\\",
    "\\'",
    ":*",
    "pass:*",
    "a & b | !c <-> d",
    "password <-> reset",
    "!!!",
    "😀",
    "😀 password 🔑",
    "réinitialiser mot de passe",
    "パスワード",
    "пароль",
    "\x00\x01\x1b[2J",
    "\u200b\u200d",
    "password\x00",
    "{}[]<>|~`@#$^&",
    "x" * 5000,
    ("refund " * 900)[:5000],
    ('"a" ' * 1300)[:5000],
    "OR " * 1700,
]


@pytest.mark.parametrize("query", HOSTILE, ids=[f"q{i}" for i in range(len(HOSTILE))])
def test_hostile_queries_never_error(kb: Desk, query: str) -> None:
    hits = kb.search_kb(query)
    assert isinstance(hits, list)
    for h in hits:
        assert h.slug and isinstance(h.score, float)


def _fingerprint(desk: Desk) -> dict[str, str]:
    """Every table of the database, as a hash of all its rows (order-independent)."""
    import hashlib

    from sqlalchemy import inspect, text

    out: dict[str, str] = {}
    with desk.engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            digest = hashlib.sha256("\n".join(sorted(repr(tuple(r)) for r in rows)).encode())
            out[name] = f"{len(rows)}:{digest.hexdigest()}"
    return out


def test_hostile_queries_leave_the_table_alone(kb: Desk) -> None:
    """Every hostile query runs; nothing but reads reaches the database, and every table
    (articles, the search index, tickets) is exactly as before, row for row. The check
    itself is shown able to fail: one real write changes the fingerprint."""
    from sqlalchemy import event

    kb.search_kb("password reset")  # warm: any lazy index work happens before we watch
    before = _fingerprint(kb)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def trace(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # SQLite search runs on the driver connection itself: trace that too
        if hasattr(dbapi_conn, "set_trace_callback"):
            dbapi_conn.set_trace_callback(statements.append)

    kb.engine.dispose()  # new connections, so that each gets the trace
    event.listen(kb.engine, "connect", trace)
    event.listen(kb.engine, "before_cursor_execute", record)
    try:
        for query in HOSTILE:
            kb.search_kb(query)
    finally:
        event.remove(kb.engine, "before_cursor_execute", record)
        event.remove(kb.engine, "connect", trace)
        kb.engine.dispose()
    reads = ("SELECT", "WITH", "SET ", "SHOW", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK")
    writes = [
        s for s in statements
        if not s.lstrip().removeprefix("--").lstrip().upper().startswith(reads)
    ]
    assert statements and writes == []
    after = _fingerprint(kb)
    assert after == before
    assert int(after["kb_article"].split(":")[0]) == kb.kb_article_count() >= 15
    # the fingerprint sees a one-character change in one row
    from sqlalchemy import text

    with kb.engine.begin() as conn:
        conn.execute(text("UPDATE kb_article SET title = title || '!' WHERE id = "
                          "(SELECT min(id) FROM kb_article)"))
    try:
        assert _fingerprint(kb)["kb_article"] != before["kb_article"]
    finally:
        with kb.engine.begin() as conn:
            conn.execute(text("UPDATE kb_article SET title = substr(title, 1, length(title) - 1)"
                              " WHERE id = (SELECT min(id) FROM kb_article)"))
    assert _fingerprint(kb) == before


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_any_text_is_a_valid_query(kb: Desk, query: str) -> None:
    assert isinstance(kb.search_kb(query, 3), list)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            [
                '"',
                "'",
                "*",
                "-",
                "(",
                ")",
                "AND",
                "OR",
                "NEAR",
                "NOT",
                ":",
                "^",
                "reset",
                "password",
                "refund",
                " ",
                "\\",
                "%",
                "<->",
            ]
        ),
        max_size=12,
    )
)
def test_operator_soup_is_a_valid_query(kb: Desk, parts: list[str]) -> None:
    assert isinstance(kb.search_kb("".join(parts), 3), list)


# ------------------------------------------------------------------ pure parts
def test_parse_query_tokenises() -> None:
    q = parse_query('How do I "reset my password" for the Portal AND NEAR(x) -y ma')
    words = [a.words for g in q.groups for a in g.alts]
    assert ("reset", "my", "password") in words
    assert ("portal",) in words
    assert ("how",) not in words  # a stop word: dropped
    assert q.groups[-1].main.prefix and q.groups[-1].main.words == ("ma",)


def test_parse_query_drops_stop_words_and_operators() -> None:
    q = parse_query("the AND of OR password ", typing=True)
    assert [g.main.words for g in q.groups] == [("password",)]


def test_parse_query_single_letter_waits() -> None:
    assert not parse_query("p")
    assert [g.main.words for g in parse_query("password p").groups] == [("password",)]


def test_within_one_edit() -> None:
    assert within_one_edit("password", "pasword")
    assert within_one_edit("password", "passwrod")
    assert within_one_edit("password", "passwore")
    assert within_one_edit("password", "passsword")
    assert not within_one_edit("password", "psswrod")
    assert not within_one_edit("abc", "bca")


@given(
    st.text(alphabet="abcdef", min_size=1, max_size=8),
    st.integers(0, 8),
    st.sampled_from("abcdefg"),
)
def test_vocabulary_finds_every_single_edit(word: str, pos: int, ch: str) -> None:
    pos = pos % (len(word) + 1)
    typo = word[:pos] + ch + word[pos:]  # insertion
    vocab = Vocabulary({word: 1, "zzzzzzzz": 3})
    if len(typo) >= 4 and typo != word:
        assert word in vocab.corrections(typo)


def test_vocabulary_prefix_corrections() -> None:
    vocab = Vocabulary({"password": 5, "passport": 1, "redemption": 2})
    assert "passw" in vocab.prefix_corrections("pasw")
    assert vocab.completions("pass") == ["password", "passport"]


def test_search_empty_database(tmp_path: Path) -> None:
    desk = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'e.db'}", now=NOW))
    assert desk.search_kb("anything") == []
    assert desk.search_kb("pasword ") == []
    desk.engine.dispose()


# ------------------------------------------------------------------ bounded ranking, snippets
def test_unselective_query_ranks_title_matches_first(
    kb: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the ranking window (50,000 articles and a two-letter prefix), title and tag
    matches come first, then the ranked sample of the rest; scores keep decreasing."""
    import agent_console.kb.index_postgres as index_pg
    import agent_console.kb.index_sqlite as index_sqlite

    exact = kb.search_kb("portal ", 30)
    monkeypatch.setattr(index_sqlite, "RANK_WINDOW", 3)
    monkeypatch.setattr(index_sqlite, "TITLE_WINDOW", 100)
    monkeypatch.setattr(index_pg, "PG_RANK_WINDOW", 3)
    monkeypatch.setattr(index_pg, "TITLE_WINDOW", 100)
    bounded = kb.search_kb("portal ", 30)
    assert len(exact) > 3 and bounded
    in_title = [
        h.slug
        for h in exact
        if "portal" in h.title.lower() or "portal" in kb.get_article(h.slug).tags
    ]
    assert in_title
    assert [h.slug for h in bounded[: len(in_title)]] == sorted(
        in_title, key=[h.slug for h in bounded].index
    )
    assert set(in_title) <= {h.slug for h in bounded}
    assert all(a.score >= b.score for a, b in zip(bounded, bounded[1:], strict=False))
    assert len({h.slug for h in bounded}) == len(bounded)


def test_snippet_window_and_highlights() -> None:
    from agent_console.kb.snippet import Highlighter

    forms = {"refunds": ["refund", "refunds", "refunded"]}
    h = Highlighter(parse_query("refunds bal", typing=True), lambda w: forms.get(w, [w]))
    text = ("Intro words here. " * 20) + "A refund was refunded; the Balance is negative.\nEnd."
    snip = h.snippet(text)
    assert snip.startswith("…") and "\n" not in snip
    assert "«refund»" in snip and "«refunded»" in snip and "«Balance»" in snip
    assert "«negative»" not in snip
    # nothing matched in the text (a title match): the article's start
    assert Highlighter(parse_query("zzz "), lambda w: [w]).snippet("Start here.") == "Start here."
    # words inside other words are not matches
    assert "«" not in Highlighter(parse_query("fund "), lambda w: [w]).snippet("refund funds")


def test_long_prefix_expansion_finds_the_same_articles(tmp_path: Path) -> None:
    """SQLite: a prefix longer than the prefix indexes is replaced by one word per stem it
    starts; the articles matched are exactly those of the prefix query."""
    from agent_console.kb.index_sqlite import SqliteBackend, expand_long_prefixes

    desk = _open(f"sqlite:///{tmp_path / 'x.db'}")
    b = SqliteBackend()
    with desk.engine.connect() as conn:
        vocab = desk.kb_searcher.vocabulary(conn, b)
        db = conn.connection.driver_connection
        expanded = 0
        for typed in ["maint", "maintena", "escalat", "passwo", "relational", "refunde", "two-fac"]:
            q = parse_query(typed)
            x = expand_long_prefixes(q, vocab)
            expanded += x is not q
            found = [
                {r[0] for r in db.execute("SELECT rowid FROM kb_fts WHERE kb_fts MATCH ?", (e,))}
                for e in (b.match_expression(q), b.match_expression(x))
            ]
            assert found[0] == found[1], typed
        assert expanded >= 2
    desk.engine.dispose()


# ------------------------------------------------------------------ the LIKE baseline
def test_like_scan_baseline_is_the_same_on_both_dialects(kb: Desk) -> None:
    """The benchmark's naive scan (one implementation for both backends): every word a
    case-insensitive substring of title or body, title matches first."""
    rows = kb.kb_like_scan("PASSWORD reset", 50)
    assert "reset-portal-password" in {slug for slug, _ in rows}
    titled = [("password" in t.lower()) for _, t in rows]
    assert titled == sorted(titled, reverse=True)
    assert kb.kb_like_scan("", 5) == []
    assert len(kb.kb_like_scan("the", 3)) == 3
