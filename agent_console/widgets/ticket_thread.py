"""The conversation of one ticket, oldest first, with handoff notes pinned at the top.

Customer messages are shown literally (:func:`literal`: no markup, escape sequences made
visible); agent text (public replies, internal notes, handoff notes) renders as Markdown.
Internal notes say, on every card, that they are never sent to the customer.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.markdown import Markdown
from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from agent_console.views import MessageView
from agent_console.widgets.ticket_format import literal, visible, when

KIND_LABEL = {
    "customer": ("customer", "bold cyan"),
    "public": ("public reply", "bold green"),
    "internal": ("internal — never sent to the customer", "bold yellow"),
    "handoff": ("handoff note — internal, pinned", "bold magenta"),
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
    """

    def __init__(self, message: MessageView, now: datetime, zone: tzinfo, *, stub: bool = False):
        classes = f"msg-{message.kind}" + (" stub" if stub else "")
        super().__init__(classes=classes)
        self.message = message
        self.stub = stub
        self._header = Static(header_text(message, now, zone), classes="msg-header")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._header
        if self.stub:
            yield Static(Text("(pinned at the top of the thread)", style="dim italic"))
        else:
            yield Static(body_renderable(self.message), classes="msg-body")

    def retime(self, now: datetime, zone: tzinfo) -> None:
        self._header.update(header_text(self.message, now, zone))


class TicketThread(VerticalScroll):
    """Pinned handoff notes first (newest first), then every message oldest first."""

    DEFAULT_CSS = """
    TicketThread { height: 1fr; padding: 0 1; }
    TicketThread #pinned { height: auto; }
    TicketThread .thread-title { text-style: bold; color: $accent; margin: 1 0 0 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[int, ...] = ()

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
        widgets: list[Static | MessageCard] = []
        if pinned:
            widgets.append(Static(Text("Pinned"), classes="thread-title"))
            widgets.extend(MessageCard(m, now, zone) for m in pinned)
            widgets.append(Static(Text("Conversation"), classes="thread-title"))
        widgets.extend(MessageCard(m, now, zone, stub=m.pinned) for m in messages)
        self.mount_all(widgets)
        if grew:
            self.call_after_refresh(self.scroll_end, animate=False)

    def retime(self, now: datetime, zone: tzinfo) -> None:
        for card in self.query(MessageCard):
            card.retime(now, zone)
