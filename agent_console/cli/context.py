"""What every CLI handler gets: the resolved settings and, on first use, the desk."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent_console.settings import Settings, resolve_settings

if TYPE_CHECKING:
    from agent_console.desk import Desk


@dataclass
class CliContext:
    settings: Settings
    _desk: Desk | None = field(default=None, repr=False)
    #: the TUI will run: start-up notices go to it, not to stderr
    interactive: bool = False
    #: ``--debug``: unexpected errors show their traceback (CLI and TUI)
    debug: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        at = None
        if getattr(args, "at", None):
            from agent_console.cli.sla_cmd import parse_instant
            from agent_console.errors import UserError
            from agent_console.sla import PolicyError
            from agent_console.sla.range import check_supported

            at = parse_instant(args.at, "--at")
            try:
                check_supported(at, "--at")
            except PolicyError as exc:
                raise UserError(str(exc)) from None
        return cls(
            resolve_settings(
                db=args.db,
                agent=args.agent,
                policy=args.policy,
                timezone=args.timezone,
                imap=getattr(args, "imap", None),
                at=at,
                webhook=getattr(args, "webhook", None),
                smtp=getattr(args, "smtp", None),
                mail_from=getattr(args, "mail_from", None),
            )
        )

    @property
    def desk(self) -> Desk:
        if self._desk is None:
            from agent_console.desk import Desk

            self._desk = Desk.open(self.settings)
            if not self.interactive:
                for line in self._desk.take_notices():  # the TUI shows them as notifications
                    print(f"agent-console: {line}", file=sys.stderr)
        return self._desk
