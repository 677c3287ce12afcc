"""The command line: one argparse parser, one module per command group.

Each ``*_cmd`` module exposes ``register(subparsers)`` that adds its parsers and sets
``func=handler`` on them; a handler takes ``(args, ctx)`` and returns an exit code.
Errors a user can cause are :class:`~agent_console.errors.UserError`: ``main`` prints
their one line on stderr and exits with their code — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from agent_console import __version__
from agent_console.cli.context import CliContext
from agent_console.errors import UserError


class OneLineParser(argparse.ArgumentParser):
    """Usage errors are one line too (``agent-console ticket show -h`` has the details)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"agent-console: error: {self.prog}: {message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    from agent_console.cli import (
        agent_cmd,
        data_cmd,
        kb_cmd,
        report_cmd,
        sla_cmd,
        ticket_cmd,
    )

    parser = OneLineParser(
        prog="agent-console",
        description="Keyboard-first support console. With no command, starts the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"agent-console {__version__}")
    parser.add_argument(
        "--db", help="database URL (env AGENT_CONSOLE_DB); default: SQLite in the user data dir"
    )
    parser.add_argument("--agent", help="acting agent handle (env AGENT_CONSOLE_AGENT)")
    parser.add_argument("--policy", help="default SLA policy file (env AGENT_CONSOLE_POLICY)")
    parser.add_argument("--tz", dest="timezone", help="display time zone, e.g. Europe/Berlin")
    parser.add_argument(
        "--demo", action="store_true", help="load demo data into an empty database and start"
    )
    parser.set_defaults(func=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in (data_cmd, agent_cmd, ticket_cmd, sla_cmd, kb_cmd, report_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        ctx = CliContext.from_args(args)
        if args.func is None:
            from agent_console.cli.tui import run_tui

            return run_tui(ctx, demo=args.demo)
        return int(args.func(args, ctx) or 0)
    except UserError as err:
        print(f"agent-console: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("agent-console: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
