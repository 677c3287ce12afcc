"""Knowledge base: article files, full-text search (SQLite FTS5 / PostgreSQL tsvector),
typo tolerance. No UI, no desk: :mod:`agent_console.desk.kb` is the API screens call."""

from __future__ import annotations

from agent_console.kb.index import ensure_index, index_is_current
from agent_console.kb.loader import FileError, read_folder
from agent_console.kb.query import Query, parse_query
from agent_console.kb.search import KBHit, Searcher
from agent_console.kb.text import ArticleDoc, ArticleError, parse_article, snippet_parts

__all__ = [
    "ArticleDoc",
    "ArticleError",
    "FileError",
    "KBHit",
    "Query",
    "Searcher",
    "ensure_index",
    "index_is_current",
    "parse_article",
    "parse_query",
    "read_folder",
    "snippet_parts",
]
