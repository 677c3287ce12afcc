"""``macro list``, ``macro show NAME [--key KEY]`` and ``macro apply NAME KEY… --agent H``
(issue 16): the macros of the ``m`` / ``M`` keys for scripts."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from agent_console.cli.context import CliContext
from agent_console.cli.output import Progress, clean, print_json, print_table
from agent_console.desk.macros import personal_macros_dir, shipped_macros_dir
from agent_console.errors import PermissionDenied, UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("macro", help="list, show and apply macros (canned replies + field changes)")
    msub = p.add_subparsers(dest="macro_command", metavar="ACTION", required=True)
    ls = msub.add_parser("list", help="the macros in force (shipped and personal)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    show = msub.add_parser("show", help="one macro; with --key, rendered for that ticket")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--key", metavar="KEY", help="preview it on this ticket (nothing is written)")
    show.add_argument(
        "--agent", dest="as_agent", metavar="H", help="acting agent (default: the global --agent)"
    )
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    ap = msub.add_parser(
        "apply",
        help="apply a macro to one or more tickets, one transaction per ticket",
    )
    ap.add_argument("name", metavar="NAME")
    ap.add_argument(
        "keys",
        metavar="KEY",
        nargs="+",
        help="ticket keys; '-' reads the keys from stdin (separated by spaces or lines)",
    )
    ap.add_argument(
        "--text",
        metavar="FILE",
        help="send this reply/note instead of the macro's text, read whole and as written "
        "(lines and spaces kept, placeholders not filled); '-' reads it from stdin",
    )
    ap.add_argument(
        "--agent", dest="as_agent", metavar="H", help="acting agent (default: the global --agent)"
    )
    ap.add_argument(
        "--expect-version",
        type=int,
        metavar="V",
        help="one ticket only: fail with exit 4 if it is no longer at version V",
    )
    ap.add_argument("--json", action="store_true", help="the outcome per ticket as JSON")
    ap.set_defaults(func=cmd_apply)


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    book = ctx.desk.macro_book()
    macros = book.sorted()
    for err in book.errors:
        print(f"agent-console: {clean(err)}", file=sys.stderr)
    if args.json:
        print_json(
            [
                {
                    "name": m.name,
                    "title": m.title,
                    "description": m.description,
                    "source": m.source,
                    "shadows": str(m.shadows) if m.shadows else None,
                    "path": str(m.path),
                    "kind": m.kind,
                    "changes": m.field_lines(),
                }
                for m in macros
            ]
        )
        return 0
    if not macros:
        print(f"no macros (shipped: {shipped_macros_dir()}, personal: {personal_macros_dir()})")
        return 0
    print_table(
        ["NAME", "FROM", "DOES", "TITLE"],
        [
            (
                m.name,
                m.source + (" (hides shipped)" if m.shadows else ""),
                "; ".join(([m.kind] if m.text else []) + m.field_lines()),
                m.title,
            )
            for m in macros
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, ctx: CliContext) -> int:
    m = ctx.desk.get_macro(args.name)
    if args.key:
        ctx.desk.ticket_detail(args.key)  # no such ticket: bad input (exit 2), not a refusal
        p = ctx.desk.preview_macro(args.key, m.name, agent=args.as_agent)
        if args.json:
            print_json(
                {
                    "name": p.name,
                    "key": args.key.strip().upper(),
                    "kind": p.kind,
                    "text": p.text,
                    "changes": list(p.changes),
                    "deadlines": list(p.deadlines),
                    "refusal": p.refusal,
                }
            )
            return 3 if p.refusal else 0
        print(f"{m.name} on {clean(args.key.strip().upper())}: {clean(m.title)}")
        if p.text:
            print(f"--- {p.kind} ---")
            for line in p.text.splitlines():
                print(clean(line))
            print("---")
        for line in p.changes:
            print(f"change: {clean(line)}")
        for line in p.deadlines:
            print(f"deadline: {clean(line)}")
        if p.refusal:
            print(f"refused: {clean(p.refusal)}")
            return 3
        return 0
    if args.json:
        print_json(
            {
                "name": m.name,
                "title": m.title,
                "source": m.source,
                "path": str(m.path),
                "shadows": str(m.shadows) if m.shadows else None,
                "text": m.text,
                "changes": m.field_lines(),
            }
        )
        return 0
    print(f"{m.name}: {clean(m.title)}")
    if m.description:
        print(clean(m.description))
    where = f"{m.source}, {m.path}"
    if m.shadows:
        where += f" (hides the shipped {m.shadows})"
    print(f"from: {clean(where)}")
    for line in m.field_lines():
        print(f"change: {clean(line)}")
    if m.text:
        print(f"--- {m.kind} (template) ---")
        for line in m.text.splitlines():
            print(clean(line))
    return 0


#: what a ticket key looks like (``SUP-1042``): a word read from stdin for ``-`` that is not
#: one is refused (the text of a reply piped to ``-`` by mistake), not tried as a ticket
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d+$")


def _keys_from_stdin() -> list[str]:
    words = sys.stdin.read().split()
    for word in words:
        if not _KEY.match(word):
            raise UserError(
                f"'-' reads ticket keys from stdin, and {clean(word[:40])!r} is not one; "
                "to send your own text instead of the macro's, give the key and --text - "
                "(macro apply NAME KEY --text -)"
            )
    if not words:
        raise UserError("'-' reads ticket keys from stdin, and stdin held none")
    return words


def _read_text(source: str) -> str:
    """The text of ``--text``: the whole file (``-``: stdin) as written — lines, blank
    lines and spaces kept, trailing line breaks dropped."""
    if source == "-":
        raw = sys.stdin.read()
    else:
        try:
            raw = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--text {source}: cannot be read ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise UserError(f"--text {source}: not UTF-8 text") from None
    text = raw.rstrip("\r\n")
    if not text.strip():
        raise UserError(f"--text {source}: the text is empty")
    return text


def cmd_apply(args: argparse.Namespace, ctx: CliContext) -> int:
    keys = list(args.keys)
    if "-" in keys and args.text == "-":
        raise UserError("stdin holds either the keys ('-') or the text (--text -), not both")
    text = _read_text(args.text) if args.text is not None else None
    if keys == ["-"]:
        keys = _keys_from_stdin()
    elif "-" in keys:
        raise UserError("'-' (keys from stdin) stands alone, without other keys")
    if len(keys) == 1 and not args.json:
        ctx.desk.apply_macro(
            keys[0],
            args.name,
            agent=args.as_agent,
            expected_version=args.expect_version,
            text=text,
        )
        print(f"{clean(keys[0].strip().upper())}: macro {clean(args.name)} applied")
        return 0
    if args.expect_version is not None:
        raise UserError("--expect-version goes with one ticket only")
    progress = Progress(f"macro {args.name}")
    report = ctx.desk.bulk_macro(
        keys, args.name, agent=args.as_agent, progress=progress, text=text
    )
    progress.done()
    if args.json:
        print_json(
            {
                "action": report.action,
                "done": [{"key": k, "what": w} for k, w in report.done],
                "refused": [{"key": k, "why": w} for k, w in report.refused],
            }
        )
    else:
        for _key, what in report.done:
            print(clean(what))
        for line in report.refusal_lines():
            print(f"refused {clean(line)}")
        print(clean(report.summary()))
    if report.refused:
        raise PermissionDenied(f"{len(report.refused)} of {report.total} tickets refused")
    return 0
