"""The conversation of one ticket, oldest first, with handoff notes pinned at the top.

Customer messages are shown literally (:func:`literal`: no markup, escape sequences made
visible); agent text (public replies, internal notes, handoff notes) renders as Markdown.
Internal notes say, on every card, that they are never sent to the customer.

A body longer than ``fold_chars`` (:attr:`agent_console.settings.Settings.fold_body_chars`)
is shown folded: its first and last part as plain text, and between them a "Show all"
button (``f`` on the thread shows the first folded message) that opens the whole body in
a :class:`BodyViewer` — a ``Log`` view that renders only the visible lines, so a 10 MB
message opens in well under a second instead of being laid out whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.markdown import Markdown
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Log, Static

from agent_console.safe_text import boundary_before
from agent_console.views import MessageView
from agent_console.widgets.ticket_format import literal, visible, when

#: the default fold limit (characters); the app passes Settings.fold_body_chars
FOLD_CHARS = 20_000

KIND_LABEL = {
    "customer": ("customer", "bold cyan"),
    "public": ("public reply", "bold green"),
    "internal": ("internal — never sent to the customer", "bold yellow"),
    "handoff": ("handoff note — internal, pinned", "bold magenta"),
}


#: how a mailed message's state shows in its header (issue 14)
MAIL_STYLE = {
    "sent": "green",
    "queued": "dim",
    "retrying": "yellow",
    "not delivered": "bold red",
}


def header_text(m: MessageView, now: datetime, zone: tzinfo) -> Text:
    label, style = KIND_LABEL.get(m.kind, (m.kind, "bold"))
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append_text(literal(m.author, "bold", keep_newlines=False))
    if m.author_tier is not None:
        out.append(f" · tier {m.author_tier}", style="dim")
    out.append("  ")
    out.append(label, style=style)
    out.append(f"  {when(m.created_at, now, zone)}", style="dim")
    if m.mail:
        out.append(f"  ✉ {m.mail}", style=MAIL_STYLE.get(m.mail, "dim"))
    return out


def hard_breaks(text: str) -> str:
    """Agents write line by line: keep their line breaks in Markdown (outside code)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        out.append(line if fenced or not line.strip() else line.rstrip() + "  ")
    return "\n".join(out)


def body_renderable(m: MessageView) -> Text | Markdown:
    if m.from_customer:
        return literal(m.body)
    return Markdown(hard_breaks(visible(m.body)), hyperlinks=False)


@dataclass(frozen=True)
class Fold:
    """A long body cut for display: ``head`` and ``tail`` are shown, ``hidden`` characters
    between them are not (the body itself is untouched)."""

    head: str
    hidden: int
    tail: str


def fold(body: str, limit: int) -> Fold | None:
    """The first and last ``limit // 2`` characters of ``body`` when it is longer than
    ``limit``, else None. Cuts prefer a line break in the last tenth of each part and never
    split a grapheme cluster."""
    if limit <= 0 or len(body) <= limit:
        return None
    half = max(limit // 2, 1)
    head_end = boundary_before(body, half)
    newline = body.rfind("\n", head_end - half // 10, head_end)
    if newline > 0:
        head_end = newline + 1
    tail_start = boundary_before(body, len(body) - half)
    newline = body.find("\n", tail_start, tail_start + half // 10)
    if newline >= 0:
        tail_start = newline + 1
    return Fold(body[:head_end], tail_start - head_end, body[tail_start:])


def fold_notice(hidden: int) -> str:
    return f"… {hidden:,} more characters folded — Show all (f)"


class BodyViewer(ModalScreen[None]):
    """The whole of one long body, literally (the one rule for outside text), in a view
    that renders only the lines on screen. ``escape`` closes it."""

    DEFAULT_CSS = """
    BodyViewer { align: center middle; }
    BodyViewer > Vertical { width: 95%; height: 90%; border: thick $primary; background: $surface; }
    BodyViewer #body-viewer-title { height: 1; padding: 0 1; background: $panel; }
    BodyViewer Log { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, message: MessageView) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text(no_wrap=True, overflow="ellipsis")
            title.append_text(literal(self.message.author, "bold", keep_newlines=False))
            title.append(f"  {len(self.message.body):,} characters · escape closes", "dim")
            yield Static(title, id="body-viewer-title")
            yield Log(id="body-viewer-log", max_lines=None, auto_scroll=False)

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.write(visible(self.message.body))
        log.scroll_home(animate=False)
        log.focus()


class MessageCard(Vertical):
    """One message: a header line (author, tier, kind, time) and the body."""

    DEFAULT_CSS = """
    MessageCard { height: auto; margin: 0 0 1 0; padding: 0 1; border-left: thick $primary; }
    MessageCard > Static { height: auto; }
    MessageCard.msg-customer { border-left: thick $secondary; }
    MessageCard.msg-public { border-left: thick $success; }
    MessageCard.msg-internal { border-left: thick $warning; background: $warning 10%; }
    MessageCard.msg-handoff { border-left: thick $accent; background: $accent 10%; }
    MessageCard .msg-header { color: $text; }
    MessageCard.stub { margin: 0 0 1 0; }
    MessageCard .show-all { width: auto; margin: 0; }
    """

    def __init__(
        self,
        message: MessageView,
        now: datetime,
        zone: tzinfo,
        *,
        stub: bool = False,
        fold_chars: int = FOLD_CHARS,
    ):
        classes = f"msg-{message.kind}" + (" stub" if stub else "")
        super().__init__(classes=classes)
        self.message = message
        self.stub = stub
        self.folded = None if stub else fold(message.body, fold_chars)
        self._header = Static(header_text(message, now, zone), classes="msg-header")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._header
        if self.stub:
            yield Static(Text("(pinned at the top of the thread)", style="dim italic"))
        elif self.folded is not None:
            yield Static(literal(self.folded.head), classes="msg-body msg-head")
            yield Button(fold_notice(self.folded.hidden), classes="show-all", compact=True)
            yield Static(literal(self.folded.tail), classes="msg-body msg-tail")
        else:
            yield Static(body_renderable(self.message), classes="msg-body")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.has_class("show-all"):
            event.stop()
            self.show_all()

    def show_all(self) -> None:
        """Open the whole body in a :class:`BodyViewer`."""
        self.app.push_screen(BodyViewer(self.message))

    def retime(self, now: datetime, zone: tzinfo) -> None:
        self._header.update(header_text(self.message, now, zone))


class TicketThread(VerticalScroll):
    """Pinned handoff notes first (newest first), then every message oldest first."""

    DEFAULT_CSS = """
    TicketThread { height: 1fr; padding: 0 1; }
    TicketThread #pinned { height: auto; }
    TicketThread .thread-title { text-style: bold; color: $accent; margin: 1 0 0 0; }
    """

    BINDINGS = [
        Binding("f", "show_all", "Show all", show=False, tooltip="Show a folded message whole (f)")
    ]

    def __init__(self, *, id: str | None = None, fold_chars: int | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[int, ...] = ()
        #: bodies longer than this are folded; None = the app's Settings.fold_body_chars
        self.fold_chars = fold_chars

    def _fold_limit(self) -> int:
        if self.fold_chars is not None:
            return self.fold_chars
        settings = getattr(self.app, "settings", None)
        return int(getattr(settings, "fold_body_chars", FOLD_CHARS))

    def action_show_all(self) -> None:
        """The first folded message on screen (else the first one) opens whole."""
        folded = [c for c in self.query(MessageCard) if c.folded is not None]
        if not folded:
            self.notify("No folded message in this ticket", markup=False)
            return
        top, bottom = self.scroll_y, self.scroll_y + self.size.height
        on_screen = [c for c in folded if c.virtual_region.y < bottom and
                     c.virtual_region.bottom > top]
        (on_screen or folded)[0].show_all()

    def show(
        self,
        messages: tuple[MessageView, ...],
        pinned: tuple[MessageView, ...],
        now: datetime,
        zone: tzinfo,
    ) -> None:
        ids = tuple(m.id for m in messages)
        if ids == self._shown:
            self.retime(now, zone)
            return
        grew = bool(self._shown) and ids[: len(self._shown)] == self._shown
        self._shown = ids
        self.remove_children()
        limit = self._fold_limit()
        widgets: list[Static | MessageCard] = []
        if pinned:
            widgets.append(Static(Text("Pinned"), classes="thread-title"))
            widgets.extend(MessageCard(m, now, zone, fold_chars=limit) for m in pinned)
            widgets.append(Static(Text("Conversation"), classes="thread-title"))
        widgets.extend(
            MessageCard(m, now, zone, stub=m.pinned, fold_chars=limit) for m in messages
        )
        self.mount_all(widgets)
        if grew:
            self.call_after_refresh(self.scroll_end, animate=False)

    def retime(self, now: datetime, zone: tzinfo) -> None:
        for card in self.query(MessageCard):
            card.retime(now, zone)
