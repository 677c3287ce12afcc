"""The editor docked below the thread (issue 12): public reply, internal note, handoff note
(escalate / de-escalate) and the resolution ("submit as solved": an internal summary and,
beside it, an optional public message to the customer).

The thread stays in view above it; ``ctrl+up`` / ``ctrl+down`` make it taller or shorter;
``ctrl+s`` sends; ``escape`` closes it and keeps the draft. It does no desk work: it posts
:class:`Composer.Submitted`, :class:`Composer.Closed` and :class:`Composer.DraftChanged`
and the ticket screen runs the command and keeps the drafts.

No lost words: its keys are ordinary (not ``priority``) bindings. A priority binding runs
when the app first sees the key — ahead of the characters still waiting in the editor's
queue — so a burst of typing followed by ``ctrl+s`` (a paste, a fast typist over a slow
link) sent a cut-off text. An ordinary binding is looked up only after the editor has
handled every key before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from agent_console.keymap import with_ids
from agent_console.safe_text import visible
from agent_console.widgets.ticket_format import literal

#: lines of text the editor shows when it opens: a fifth of the terminal's height and at
#: least DEFAULT_TEXT_ROWS (5 at 80×24, 10 at 160×50); ctrl+up / ctrl+down change it by
#: STEP, down to MIN_TEXT_ROWS; the thread keeps THREAD_ROWS rows above the editor
DEFAULT_TEXT_ROWS, MIN_TEXT_ROWS, STEP, THREAD_ROWS = 5, 3, 3, 4


def default_text_rows(screen_height: int) -> int:
    """Lines of text the editor shows at first on a terminal ``screen_height`` rows high."""
    return max(DEFAULT_TEXT_ROWS, screen_height // 5)


@dataclass(frozen=True)
class ComposeMode:
    """What the editor is writing.

    ``action``: the screen's command (``public``, ``internal``, ``escalate``,
    ``deescalate``, ``resolve``); ``kind``: the draft it is kept as (``reply``, ``note``,
    ``handoff``, ``resolution``); ``with_message``: a second box for a public message
    (kept as the ``reply`` draft)."""

    action: str
    kind: str
    title: str
    explanation: str
    required: str
    placeholder: str = ""
    internal: bool = True
    with_message: bool = False


def reply_mode(to: str) -> ComposeMode:
    return ComposeMode(
        "public",
        "reply",
        f"Public reply to {to}",
        "Sent to the customer.",
        "Nothing to send: write the reply",
        internal=False,
    )


NOTE_MODE = ComposeMode(
    "internal",
    "note",
    "Internal note — never sent to the customer",
    "Only agents see it.",
    "Nothing to send: write the note",
)


def handoff_mode(*, up: bool, key: str, tier: int) -> ComposeMode:
    if up:
        return ComposeMode(
            "escalate",
            "handoff",
            f"Escalate {key} to tier {tier + 1}",
            f"The ticket leaves your queue and arrives unassigned in tier {tier + 1}'s "
            "Escalations view; this handoff note is pinned at the top of its thread.",
            "A handoff note is required: what you found, what you tried",
            "what was found, what was tried",
        )
    return ComposeMode(
        "deescalate",
        "handoff",
        f"De-escalate {key} to tier {tier - 1}",
        "The ticket goes back one tier, unassigned, with this note pinned.",
        "A note is required: what the tier below should do",
        "what was found, what the tier below should do",
    )


def resolve_mode(key: str, to: str) -> ComposeMode:
    return ComposeMode(
        "resolve",
        "resolution",
        f"Resolve {key}",
        "Resolution summary (internal, kept with the ticket): what fixed it.",
        "A resolution summary is required",
        "what fixed it",
        with_message=True,
    )


class Composer(Vertical):
    """The docked editor; hidden until :meth:`open`."""

    BINDINGS = with_ids("editor", [
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "close", "Close (keep draft)"),
        Binding("ctrl+up", "grow", "Taller", key_display="^↑"),
        Binding("ctrl+down", "shrink", "Shorter", key_display="^↓"),
    ])

    class Submitted(Message):
        """``ctrl+s`` with a non-empty text (``message``: the public message, or None)."""

        def __init__(self, mode: ComposeMode, text: str, message: str | None) -> None:
            super().__init__()
            self.mode = mode
            self.text = text
            self.message = message

    class Closed(Message):
        """``escape``: the drafts stay."""

        def __init__(self, mode: ComposeMode) -> None:
            super().__init__()
            self.mode = mode

    class DraftChanged(Message):
        """The agent typed: ``kind``'s draft is now ``text``."""

        def __init__(self, kind: str, text: str) -> None:
            super().__init__()
            self.kind = kind
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.mode: ComposeMode | None = None
        #: lines of text the agent sized the editor to (ctrl+↑↓); None: the default for
        #: the terminal's height (:func:`default_text_rows`)
        self.rows: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="composer-title")
        yield Static("", id="composer-notice")
        yield Static("", id="composer-explanation")
        yield TextArea("", id="composer-text", soft_wrap=True, show_line_numbers=False)
        yield Static(
            Text("Public message to the customer (optional: sent with the resolution)"),
            id="composer-message-label",
        )
        yield TextArea("", id="composer-message", soft_wrap=True, show_line_numbers=False)
        yield Static("", id="composer-error")
        yield Static("", id="composer-hint")

    # ------------------------------------------------------------ open / close
    @property
    def is_open(self) -> bool:
        return self.mode is not None and self.display

    @property
    def area(self) -> TextArea:
        return self.query_one("#composer-text", TextArea)

    @property
    def message_area(self) -> TextArea:
        return self.query_one("#composer-message", TextArea)

    def open(
        self, mode: ComposeMode, text: str, *, message: str = "", notice: str | None = None
    ) -> TextArea:
        """Show the editor for ``mode`` with ``text`` (and the public ``message``); returns
        the box to focus."""
        self.mode = mode
        title = Text()
        if mode.action == "internal":
            title.append(mode.title, style="bold yellow")
        elif mode.action == "public":
            title.append("Public reply to ", style="bold")
            title.append_text(literal(mode.title.removeprefix("Public reply to "), "bold"))
        else:
            title.append(mode.title, style="bold")
        self.query_one("#composer-title", Static).update(title)
        self.query_one("#composer-notice", Static).update(
            literal(notice, "bold red") if notice else Text("")
        )
        self.query_one("#composer-notice").display = bool(notice)
        self.query_one("#composer-explanation", Static).update(Text(mode.explanation, "dim"))
        area = self.area
        area.placeholder = mode.placeholder
        with area.prevent(TextArea.Changed):
            area.load_text(visible(text))  # a control (ESC) would reach the terminal
        area.move_cursor(area.document.end)
        box = self.message_area
        with box.prevent(TextArea.Changed):
            box.load_text(visible(message) if mode.with_message else "")
        box.move_cursor(box.document.end)
        for widget in (box, self.query_one("#composer-message-label")):
            widget.display = mode.with_message
        self.set_class(mode.action == "internal", "-internal")
        self.set_class(mode.with_message, "-resolve")
        self._error("")
        send = "ctrl+s resolve" if mode.action == "resolve" else "ctrl+s send"
        # one line, cut with "…" when narrow: what matters most comes first
        parts = [send, "tab: the message"] if mode.with_message else [send]
        parts += ["esc keeps the draft", "ctrl+↑↓ size"]
        if not mode.with_message:
            parts.append("Markdown")
        self.query_one("#composer-hint", Static).update(Text(" · ".join(parts), style="dim"))
        self._apply_height()
        self.display = True
        return area

    def hide(self) -> None:
        self.display = False
        self.mode = None

    def _error(self, message: str) -> None:
        error = self.query_one("#composer-error", Static)
        error.update(Text(message, style="bold red"))
        error.display = bool(message)

    # ------------------------------------------------------------ keys
    def action_send(self) -> None:
        mode = self.mode
        if mode is None:
            return
        text = self.area.text
        if not text.strip():
            self._error(mode.required)
            self.app.bell()
            return
        message = self.message_area.text if mode.with_message else None
        if message is not None and not message.strip():
            message = None
        self.post_message(self.Submitted(mode, text, message))

    def action_close(self) -> None:
        if self.mode is not None:
            self.post_message(self.Closed(self.mode))

    def action_grow(self) -> None:
        self.rows = self.text_rows() + STEP
        self._apply_height()

    def action_shrink(self) -> None:
        self.rows = max(self.text_rows() - STEP, MIN_TEXT_ROWS)
        self._apply_height()

    def text_rows(self) -> int:
        """Lines of text the editor box shows: what the agent chose, else the default for
        the terminal; never so many that the thread keeps fewer than THREAD_ROWS rows."""
        rows = self.rows if self.rows is not None else default_text_rows(self.app.size.height)
        parent = self.parent
        room = parent.size.height if parent is not None else 0
        if room:
            chrome = sum(
                child.outer_size.height
                for child in self.children
                if child.display and child.id != "composer-text"
            ) + 1  # the border on top
            rows = min(rows, room - chrome - THREAD_ROWS - 2)
        return max(rows, MIN_TEXT_ROWS)

    def _apply_height(self) -> None:
        """The box holds :meth:`text_rows` lines (plus its border); the panel is as tall as
        what it holds (title, notice, explanation, the box, the hint). Measured again
        once the panel is laid out (a notice may wrap to several lines)."""
        self.area.styles.height = self.text_rows() + 2
        self.call_after_refresh(self._measured)

    def _measured(self) -> None:
        height = self.text_rows() + 2
        if self.area.styles.height is None or self.area.styles.height.value != height:
            self.area.styles.height = height

    @on(TextArea.Changed)
    def _typed(self, event: TextArea.Changed) -> None:
        event.stop()
        if self.mode is None:
            return
        self._error("")
        if event.text_area.id == "composer-message":
            self.post_message(self.DraftChanged("reply", event.text_area.text))
        else:
            self.post_message(self.DraftChanged(self.mode.kind, event.text_area.text))
