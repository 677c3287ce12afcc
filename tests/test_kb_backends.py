"""The knowledge base's two search backends sit behind one interface
(:class:`agent_console.kb.backend.Backend`), chosen by dialect in one place
(:func:`agent_console.kb.index.backend_for`), with no import cycle between the modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import grimp
import pytest
from sqlalchemy import create_engine

from agent_console.kb.backend import Backend
from agent_console.kb.index import backend_for
from agent_console.kb.index_postgres import PostgresBackend
from agent_console.kb.index_sqlite import SqliteBackend

ROOT = Path(__file__).resolve().parents[1]


def import_cycles(package: str, graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Pairs ``(a, b)`` of modules under ``package`` where ``a`` imports ``b`` (at module
    level or inside a function) and ``b`` leads back to ``a``."""
    modules = sorted(graph.find_descendants(package))
    cycles = []
    for a in modules:
        for b in sorted(graph.find_modules_directly_imported_by(a)):
            if b in modules and graph.find_shortest_chain(importer=b, imported=a):
                cycles.append((a, b))
    return cycles


def test_no_import_cycle_in_the_knowledge_base() -> None:
    graph = grimp.build_graph("agent_console", cache_dir=None)
    assert import_cycles("agent_console.kb", graph) == []


def test_the_cycle_check_finds_the_old_cycle(tmp_path: Path, monkeypatch) -> None:
    """The check above is not vacuous: on a copy of the package (renamed, so that grimp
    reads the copy) where a backend imports ``index`` back inside a function, as
    index_postgres used to, the cycle is reported."""
    target = tmp_path / "acprobe"
    shutil.copytree(ROOT / "agent_console", target, ignore=shutil.ignore_patterns("__pycache__"))
    for f in target.rglob("*.py"):
        f.write_text(f.read_text().replace("agent_console", "acprobe"))
    pg = target / "kb" / "index_postgres.py"
    pg.write_text(pg.read_text() + "\n\ndef _back():\n    from acprobe.kb import index\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("acprobe", cache_dir=None)
    assert ("acprobe.kb.index", "acprobe.kb.index_postgres") in import_cycles("acprobe.kb", graph)


def test_both_backends_implement_the_interface() -> None:
    assert Backend.__abstractmethods__ >= {
        "has_index",
        "create",
        "upsert",
        "delete",
        "stems",
        "search",
    }
    with pytest.raises(TypeError):
        Backend()  # type: ignore[abstract]
    for cls in (SqliteBackend, PostgresBackend):
        assert issubclass(cls, Backend)
        assert not cls.__abstractmethods__
        cls()  # every method implemented
        # what both dialects do alike has one home, the interface (issue: one rule, one home)
        for shared in ("drop", "indexed_count", "like_scan", "vocab_apply", "load_vocab"):
            assert shared not in vars(cls), f"{cls.__name__} re-implements {shared}"


def test_backend_chosen_by_dialect(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert type(backend_for(conn)) is SqliteBackend
    engine.dispose()


@pytest.mark.postgres
def test_backend_chosen_by_dialect_postgres(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert type(backend_for(conn)) is PostgresBackend
    engine.dispose()


def test_unknown_dialect_is_refused() -> None:
    class Conn:
        class dialect:  # noqa: N801 - shaped like SQLAlchemy's
            name = "oracle"

    with pytest.raises(ValueError, match="no knowledge-base search for database dialect 'oracle'"):
        backend_for(Conn())  # type: ignore[arg-type]
