"""``kb ...``: knowledge-base commands (import, search, show, suggest, link, unlink, reindex)."""

from __future__ import annotations

import argparse
import sys

from agent_console.cli.context import CliContext
from agent_console.cli.output import Progress, clean, print_json, print_table
from agent_console.errors import UserError
from agent_console.kb.text import snippet_parts
from agent_console.views import iso_utc

BOLD, RESET = "\033[1m", "\033[0m"


def register(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("kb", help="knowledge base: import articles, search, link to tickets")
    ksub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)

    p = ksub.add_parser("import", help="load a folder of Markdown articles (idempotent by slug)")
    p.add_argument("dir", help="folder of .md files with front matter (title, section, tags)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_import)

    p = ksub.add_parser("search", help="ranked articles with a highlighted snippet")
    p.add_argument(
        "query",
        nargs="+",
        help='words, "a phrase", a prefix; any text is valid (put -- before a query that starts with -)',
    )
    p.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--json", action="store_true", help="slug, title, section, score, snippet")
    p.set_defaults(func=cmd_search)

    p = ksub.add_parser("show", help="print an article (Markdown)")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = ksub.add_parser("suggest", help="articles for a ticket (its subject and first message)")
    p.add_argument("ticket", help="ticket key, e.g. SUP-1042")
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_suggest)

    p = ksub.add_parser("link", help="link an article to a ticket (logged in its history)")
    p.add_argument("ticket")
    p.add_argument("slug")
    p.set_defaults(func=cmd_link)

    p = ksub.add_parser("unlink", help="remove an article's link from a ticket")
    p.add_argument("ticket")
    p.add_argument("slug")
    p.set_defaults(func=cmd_unlink)

    p = ksub.add_parser("links", help="articles linked to a ticket")
    p.add_argument("ticket")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_links)

    p = ksub.add_parser("reindex", help="rebuild the full-text index from the articles")
    p.set_defaults(func=cmd_reindex)


# ---------------------------------------------------------------------- handlers
def cmd_import(args: argparse.Namespace, ctx: CliContext) -> int:
    progress = Progress("importing articles")
    report = ctx.desk.import_kb(args.dir, progress=progress)
    progress.done()
    if args.json:
        print_json(report.as_json())
    else:
        print(f"imported {report.summary()}")
        for err in report.errors:
            print(f"  skipped {clean(err.name)}: {clean(err.reason)}", file=sys.stderr)
    return 1 if report.errors else 0


def highlight(snippet: str, *, tty: bool) -> str:
    """«markers» become bold on a terminal; piped output keeps the plain markers."""
    if not tty:
        return clean(snippet)
    return "".join(
        f"{BOLD}{clean(text)}{RESET}" if hit else clean(text)
        for text, hit in snippet_parts(snippet)
    )


def _print_hits(hits: list, *, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        print_json([h.as_json() for h in hits])
        return
    if not hits:
        print("no articles found")
        return
    tty = sys.stdout.isatty()
    if hits[0].match != "exact" and hits[0].corrected:
        label = "close matches" if hits[0].match == "fuzzy" else "some of the words"
        print(f"(no exact match; {label}: {clean(hits[0].corrected)})")
    for i, h in enumerate(hits, start=1):
        title = f"{BOLD}{clean(h.title)}{RESET}" if tty else clean(h.title)
        section = f"  [{clean(h.section)}]" if h.section else ""
        print(f"{i:>2}. {title}  ({h.slug}){section}")
        if h.snippet:
            print(f"    {highlight(h.snippet, tty=tty)}")


def cmd_search(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.limit < 1:
        raise UserError("--limit must be 1 or more")
    hits = ctx.desk.search_kb(" ".join(args.query), limit=args.limit)
    _print_hits(hits, as_json=args.json)
    return 0


def cmd_show(args: argparse.Namespace, ctx: CliContext) -> int:
    art = ctx.desk.get_article(args.slug)
    if args.json:
        print_json(art.as_json())
        return 0
    print(clean(art.title))
    meta = [m for m in (art.section, ", ".join(art.tags)) if m]
    if meta:
        print(clean(" · ".join(meta)))
    print(art.link)
    print()
    for line in art.body.splitlines():
        print(clean(line))
    return 0


def cmd_suggest(args: argparse.Namespace, ctx: CliContext) -> int:
    hits = ctx.desk.suggest_for_ticket(args.ticket, limit=max(1, args.limit))
    _print_hits(hits, as_json=args.json)
    return 0


def cmd_link(args: argparse.Namespace, ctx: CliContext) -> int:
    created = ctx.desk.link_article(args.ticket, args.slug)
    key = args.ticket.upper()
    print(f"linked {args.slug} to {key}" if created else f"{key} already links {args.slug}")
    return 0


def cmd_unlink(args: argparse.Namespace, ctx: CliContext) -> int:
    removed = ctx.desk.unlink_article(args.ticket, args.slug)
    key = args.ticket.upper()
    print(f"unlinked {args.slug} from {key}" if removed else f"{key} does not link {args.slug}")
    return 0


def cmd_links(args: argparse.Namespace, ctx: CliContext) -> int:
    links = ctx.desk.articles_for_ticket(args.ticket)
    if args.json:
        print_json(
            [
                {
                    "slug": a.slug,
                    "title": a.title,
                    "link": a.link,
                    "linked_by": a.linked_by,
                    "linked_at": iso_utc(a.linked_at),
                }
                for a in links
            ]
        )
        return 0
    print_table(
        ["SLUG", "TITLE", "LINKED BY"], [(a.slug, a.title, a.linked_by or "") for a in links]
    )
    return 0


def cmd_reindex(args: argparse.Namespace, ctx: CliContext) -> int:
    n = ctx.desk.reindex_kb()
    print(f"indexed {n} article{'s' if n != 1 else ''}")
    return 0
