"""``keymap check [PATH]``: the entries of ``keymap.toml`` that the console ignores, one line
each (the console folds them into one notice), for the person who wrote the file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean
from agent_console.errors import UserError
from agent_console.keymap import keymap_path, load_binding_ids, read_keymap


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keymap", help="check keymap.toml (the keys rebound by binding id)")
    ksub = p.add_subparsers(dest="keymap_command", metavar="ACTION", required=True)
    check = ksub.add_parser(
        "check",
        help="list the entries the console ignores, one line each (default: keymap.toml in "
        "the config directory); exit 2 when there is one",
    )
    check.add_argument("path", nargs="?", type=Path)
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace, ctx: CliContext) -> int:
    path: Path = args.path or keymap_path()
    if not path.is_file():
        raise UserError(f"keymap file {path}: not found")
    km = read_keymap(path, known=load_binding_ids())
    for bid, keys in km.keys.items():
        print(f"{bid} = {clean(keys)}")
    for line in km.problems:
        print(f"agent-console: {clean(line)}", file=sys.stderr)
    applied = f"{len(km.keys)} {'entry applies' if len(km.keys) == 1 else 'entries apply'}"
    if km.problems:
        raise UserError(f"{path}: {applied}, {len(km.problems)} ignored (the lines above)")
    print(f"{path}: ok, {applied}")
    return 0
