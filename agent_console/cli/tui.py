"""Start the TUI from the CLI."""

from __future__ import annotations

from agent_console.cli.context import CliContext


def run_tui(ctx: CliContext, *, demo: bool = False) -> int:
    from agent_console.app import create_app

    ctx.interactive = True
    desk = ctx.desk
    # first run: the demo data (and its agents, alice included) before the agent check
    if demo and desk.demo_needs_loading():
        print("loading demo data (2,000 tickets)…")
        desk.load_demo()
    desk.get_agent()  # an unknown --agent is one clear line here, not a crash in the UI
    app = create_app(ctx.settings, desk=desk, debug=ctx.debug)
    app.run()
    if app.crash_report is not None:
        # an unexpected error ended the app: one line (the details are in the log file)
        from agent_console.cli import say

        say(app.crash_report)
        return 1
    return app.return_code or 0
