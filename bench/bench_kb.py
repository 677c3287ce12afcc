"""Knowledge-base search latency over 50,000 generated articles, SQLite and PostgreSQL, against a
naive ``LIKE`` scan of the same table in the same run.

    python bench/bench_kb.py [--articles 50000] [--queries 500] [--like-queries 500]
                             [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

500 queries are typed prefixes ("reward redem", "mainten") cut from the generated articles;
each is run through ``Desk.search_kb`` (ranked, top 20, snippets) and through the naive scan
(every word as ``%word%`` in title or body, ordered by title match, top 20). PostgreSQL is
skipped when no server answers. The figures are printed, not judged.

The search runs ``--rounds`` times over the 500 queries (the machine is shared and noisy);
each round gives a median and a p95 over its 500 latencies, and the table shows the median
of the rounds. The LIKE scan runs once (it is slow). The ratios are computed the same way
for both backends: ``× median`` = LIKE median / search median, ``× p95`` = LIKE p95 /
search p95 (each the scan's latency over the search's at the same percentile).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import pct  # noqa: E402

from agent_console.desk import Desk  # noqa: E402
from agent_console.kb.query import STOP_WORDS  # noqa: E402
from agent_console.kb.text import ArticleDoc  # noqa: E402
from agent_console.settings import Settings  # noqa: E402

DOMAIN = """reward rewards points loyalty member members portal virtual terminal transaction
transactions refund refunds redemption redeem campaign offer offers store stores location
receipt purchase balance pending posted missing duplicate merge account password login reset
locked access role roles user users report reports export import file rejected error errors
integration register batch nightly maintenance window outage downtime critical urgent minor
priority escalation tier engineering support ticket request feature bug inoperable desired
added billing invoice fee card phone email voucher coupon expired declined negative bonus
program tiering segment analytics dashboard schedule holiday weekend hours response
resolution status update customer brand merchant settings security authentication""".split()
SECTIONS = [
    "Getting support",
    "Priorities and SLAs",
    "Account and access",
    "Platform",
    "Rewards and transactions",
    "Virtual Terminal",
    "Escalation",
    "Integrations",
]
SYLLABLES = [
    "ba",
    "ko",
    "ri",
    "tel",
    "man",
    "so",
    "vi",
    "der",
    "lo",
    "que",
    "pra",
    "nes",
    "tu",
    "gor",
    "fin",
    "al",
    "es",
    "mor",
    "dan",
    "ti",
    "vel",
    "sca",
    "rin",
    "po",
    "ul",
]


def make_vocabulary(rng: random.Random, size: int = 12_000) -> list[str]:
    """Ranked like real English text: function words first (the query parser ignores them,
    as PostgreSQL does), then domain and invented content words in a shuffled order."""
    words = set(DOMAIN)
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    content = list(DOMAIN) + sorted(words - set(DOMAIN) - STOP_WORDS)
    rng.shuffle(content)
    return sorted(STOP_WORDS) + content


def generate(n: int, seed: int = 42) -> tuple[list[ArticleDoc], list[str]]:
    rng = random.Random(seed)
    vocab = make_vocabulary(rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]  # Zipf
    docs = []
    for i in range(n):
        title_words = rng.choices(vocab, weights=weights, k=rng.randint(3, 7))
        body_words = rng.choices(vocab, weights=weights, k=rng.randint(120, 260))
        sentences = []
        for s in range(0, len(body_words), 12):
            chunk = body_words[s : s + 12]
            sentences.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]) + ".")
        body = (
            "## Overview\n\n"
            + " ".join(sentences[:5])
            + "\n\n## Details\n\n"
            + " ".join(sentences[5:])
        )
        docs.append(
            ArticleDoc(
                slug=f"article-{i:06d}",
                title=" ".join(title_words).capitalize(),
                section=rng.choice(SECTIONS),
                tags=tuple(dict.fromkeys(rng.choices(DOMAIN, k=3))),
                body=body,
            )
        )
    return docs, vocab


def typed_queries(docs: list[ArticleDoc], n: int, seed: int = 7) -> list[str]:
    """What people type: one to three words of an article, the last one cut short."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        doc = rng.choice(docs)
        words = [w.strip(".,").lower() for w in (doc.title + " " + doc.body).split()]
        words = [w for w in words if w.isalpha() and len(w) >= 3 and w not in STOP_WORDS]
        k = rng.choice([1, 1, 2, 2, 2, 3])
        start = rng.randrange(0, max(1, len(words) - k))
        picked = words[start : start + k]
        last = picked[-1]
        cut = rng.randint(min(3, len(last)), len(last))
        out.append(" ".join(picked[:-1] + [last[:cut]]))
    return out


def timed(fn: Callable[[str], object], queries: list[str]) -> tuple[list[float], int]:
    times, found = [], 0
    for q in queries:
        t = time.perf_counter()
        result = fn(q)
        times.append((time.perf_counter() - t) * 1000)
        found += bool(result)
    return times, found


def run_backend(
    label: str,
    url: str,
    docs: list[ArticleDoc],
    queries: list[str],
    like_queries: int,
    rounds: int = 3,
) -> dict[str, float]:
    desk = Desk.open(Settings(db_url=url))
    t = time.perf_counter()
    desk.upsert_kb_articles(docs, chunk=2000)
    load_s = time.perf_counter() - t
    print(f"[{label}] loaded {len(docs):,} articles + index in {load_s:.1f} s", flush=True)
    for q in queries[:20]:  # warm caches (vocabulary, pages)
        desk.search_kb(q)
    medians, p95s, maxes = [], [], []
    fts_found = 0
    for r in range(rounds):
        fts, fts_found = timed(lambda q: desk.search_kb(q, 20), queries)
        medians.append(statistics.median(fts))
        p95s.append(pct(fts, 95))
        maxes.append(max(fts))
        print(
            f"[{label}] search round {r + 1}: median {medians[-1]:.2f} ms, "
            f"p95 {p95s[-1]:.2f} ms, max {maxes[-1]:.1f} ms",
            flush=True,
        )
    lq = queries[:like_queries]
    like, like_found = timed(lambda q: desk.kb_like_scan(q, 20), lq)
    print(
        f"[{label}] LIKE scan: median {statistics.median(like):.1f} ms, p95 {pct(like, 95):.1f} ms",
        flush=True,
    )
    desk.engine.dispose()
    row = {
        "load_s": load_s,
        "fts_median": statistics.median(medians),
        "fts_p95": statistics.median(p95s),
        "fts_max": max(maxes),
        "fts_found": fts_found / len(queries) * 100,
        "like_median": statistics.median(like),
        "like_p95": pct(like, 95),
        "like_found": like_found / len(lq) * 100,
        "like_n": len(lq),
    }
    row["speedup_median"] = row["like_median"] / row["fts_median"]
    row["speedup_p95"] = row["like_p95"] / row["fts_p95"]
    return row


def pg_database(admin_url: str) -> tuple[str, Callable[[], None]] | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - no server: skip PostgreSQL
        print(f"[postgresql] skipped: {str(exc).splitlines()[0]}")
        return None
    name = f"ac_bench_kb_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument(
        "--like-queries",
        type=int,
        default=500,
        help="how many of the queries also run as a LIKE scan (default: all)",
    )
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "AGENT_CONSOLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument(
        "--rounds", type=int, default=3, help="search rounds over the queries (median taken)"
    )
    args = ap.parse_args()

    t = time.perf_counter()
    docs, vocab = generate(args.articles)
    queries = typed_queries(docs, args.queries)
    print(
        f"generated {len(docs):,} articles ({len(vocab):,}-word vocabulary) and "
        f"{len(queries)} typed-prefix queries in {time.perf_counter() - t:.1f} s"
    )
    print("sample queries:", ", ".join(repr(q) for q in queries[:6]))

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench_kb.db'}"
        results["SQLite"] = run_backend(
            "sqlite", url, docs, queries, args.like_queries, args.rounds
        )
    if not args.no_pg:
        made = pg_database(args.pg)
        if made:
            url, drop = made
            try:
                results["PostgreSQL"] = run_backend(
                    "postgresql", url, docs, queries, args.like_queries, args.rounds
                )
            finally:
                drop()

    print()
    print(
        f"{'backend':<11} {'search median':>13} {'p95':>8} {'max':>8} {'hits':>5}   "
        f"{'LIKE median':>11} {'p95':>9} {'hits':>5}   {'× median':>8} {'× p95':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<11} {r['fts_median']:>10.2f} ms {r['fts_p95']:>5.2f} ms "
            f"{r['fts_max']:>5.1f} ms {r['fts_found']:>4.0f}%   "
            f"{r['like_median']:>8.1f} ms {r['like_p95']:>6.1f} ms {r['like_found']:>4.0f}%   "
            f"{r['speedup_median']:>7.0f}× {r['speedup_p95']:>6.0f}×"
        )
    print(
        "(search: median of the rounds' medians and p95s; × median = LIKE median / search "
        "median, × p95 = LIKE p95 / search p95)"
    )
    sq = results.get("SQLite")
    if sq:
        ok_p95 = sq["fts_p95"] < 10
        ok_med = sq["speedup_median"] >= 50
        ok_x95 = sq["speedup_p95"] >= 50
        print(
            f"\ntarget SQLite p95 < 10 ms: {'met' if ok_p95 else 'NOT met'} "
            f"({sq['fts_p95']:.2f} ms); ≥ 50× faster than the scan: at the median "
            f"{'met' if ok_med else 'NOT met'} ({sq['speedup_median']:.0f}×), at p95 "
            f"{'met' if ok_x95 else 'NOT met'} ({sq['speedup_p95']:.0f}×)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
