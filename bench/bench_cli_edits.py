"""Simultaneous CLI edits of one ticket (issue 11): N ``agent-console ticket tags`` processes
without ``--expect-version``, started together; counts exit codes (4 = conflict).

    python bench/bench_cli_edits.py                          # SQLite file, 50 processes
    python bench/bench_cli_edits.py --db postgresql+psycopg://postgres@127.0.0.1/postgres

With ``--db`` a PostgreSQL server URL: a throwaway database is made and dropped. Each
process is the real CLI (process start included). Prints the exit codes and wall time.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def run(db: str, n: int) -> None:
    env = {**os.environ, "AGENT_CONSOLE_DB": db}

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent_console", *argv],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert cli("agent", "add", "ann", "--name", "Ann", "--tier", "1").returncode == 0
    out = cli("ticket", "new", "--subject", "race", "--body", "b", "--from", "a@example.com")
    if out.returncode != 0:  # no `ticket new` command: make it through the desk
        from agent_console.desk import Desk
        from agent_console.settings import Settings

        d = Desk.open(Settings(db_url=db))
        key = d.create_ticket(subject="race", body="b", requester_email="a@example.com")
        d.engine.dispose()
    else:
        key = out.stdout.split()[0]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent_console",
                "--agent",
                "ann",
                "ticket",
                "tags",
                key,
                "--set",
                f"t{i}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    codes = collections.Counter(p.wait() for p in procs)
    wall = time.perf_counter() - t0
    errors = {p.stderr.read().strip() for p in procs if p.returncode}  # type: ignore[union-attr]
    print(
        f"{db.split(':')[0]}: {n} simultaneous edits without a version in {wall:.1f} s; "
        f"exit codes {dict(sorted(codes.items()))}"
    )
    for e in sorted(errors)[:5]:
        print("  ", e)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a PostgreSQL server URL (a throwaway database is made)")
    ap.add_argument("-n", type=int, default=50)
    args = ap.parse_args()
    if not args.db:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'edits.db'}", args.n)
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ac_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.db, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.db).set(database=name).render_as_string(hide_password=False)
        run(url, args.n)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        # roles made by `agent add` for this database (cluster-wide)
        with admin.connect() as c:
            for (r,) in c.execute(
                text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"),
                {"p": f"ac_{name}_"},
            ).all():
                c.execute(text(f'DROP ROLE "{r}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
