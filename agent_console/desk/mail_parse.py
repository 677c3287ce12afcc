"""Reading one received e-mail (issue 14): the stdlib ``email`` package — the structure
parsed with ``compat32`` (ten times faster than ``policy.default``, which builds an object
for every header), the few headers the desk reads decoded with ``policy.default`` — charsets, RFC 2047 encoded headers, multipart/alternative, HTML-only
messages (their text), malformed MIME, attachments, bounces (DSN ``multipart/report``).

Pure: no database, no network. :func:`parse_mail` returns a :class:`ParsedMail` or raises
:class:`Unreadable` with a one-line reason (the message is then quarantined, never lost).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from agent_console.desk.validation import MAX_EMAIL, MAX_NAME, MAX_SUBJECT

__all__ = [
    "Attachment",
    "ParsedMail",
    "Unreadable",
    "html_to_text",
    "parse_mail",
    "trim_quoted",
]


class Unreadable(Exception):
    """A message that cannot become a ticket; ``str()`` is the one-line reason."""


@dataclass(frozen=True)
class Attachment:
    """``size`` in bytes; ``content`` None when larger than the kept limit."""

    filename: str
    content_type: str
    size: int
    content: bytes | None


@dataclass
class ParsedMail:
    """What the desk needs from a message. Addresses are lower-case; ``message_id`` has no
    angle brackets (``hash:…`` when the message had none); ``references`` oldest first;
    ``headers``: lower-case name → value (for the loop guard)."""

    message_id: str
    sender_email: str
    sender_name: str
    subject: str
    body: str
    cc: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    #: a delivery failure report: the Message-IDs of the messages it reports on, the reason
    bounce_of: list[str] | None = None
    bounce_reason: str = ""
    defects: list[str] = field(default_factory=list)

    @property
    def is_bounce(self) -> bool:
        return self.bounce_of is not None

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this message answers, most recent first."""
        seen: dict[str, None] = {}
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(mid, None)
        return list(seen)


#: decodes the headers the desk reads (the message itself is parsed with compat32)
_DECODE = policy.default
_ID_RE = re.compile(r"<([^<>\s]+)>")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DAEMONS = ("mailer-daemon", "postmaster")
#: header fields the receipt loop guard reads (desk/mail_out.py receipt_refusal)
_GUARD_HEADERS = frozenset(
    {
        "auto-submitted",
        "precedence",
        "list-id",
        "list-unsubscribe",
        "x-auto-response-suppress",
        "x-autoreply",
        "x-autorespond",
        "return-path",
    }
)


def message_ids(value: str | None) -> list[str]:
    """The ``<id>`` tokens of a Message-ID / In-Reply-To / References header, without <>."""
    if not value:
        return []
    found = _ID_RE.findall(str(value))
    if not found and str(value).strip() and " " not in str(value).strip():
        found = [str(value).strip().strip("<>")]
    return [f[:998] for f in found]


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's raw values as the message holds them (unfolded, not decoded)."""
    lname = name.lower()
    return [v for k, v in msg.raw_items() if k.lower() == lname]


def _decoded(name: str, raw: str) -> str:
    """One raw header value decoded as ``policy.default`` reads it (RFC 2047 encoded
    words, address lists). The message is parsed with ``compat32`` — ten times faster —
    and only the few headers the desk needs are decoded (see :func:`parse_mail`). A plain
    ASCII value without encoded words is already its text (unfolded): returned as is."""
    if raw.isascii() and "=?" not in raw:
        return "".join(raw.splitlines())
    return str(_DECODE.header_fetch_parse(name, raw))


def _header(msg: Message, name: str) -> str:
    """A header's decoded value as one line; a broken one reads as its raw text."""
    values = _raw_values(msg, name)
    if not values:
        return ""
    try:
        text = _decoded(name, values[0])
    except Exception:  # noqa: BLE001 - malformed encoded words: fall back to the raw header
        text = values[0]
    return " ".join(_CTRL.sub(" ", text).split())


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    out = []
    try:
        raw = [_decoded(name, v) for v in _raw_values(msg, name)]
    except Exception:  # noqa: BLE001
        raw = []
    for disp, addr in getaddresses(raw):
        addr = addr.strip().lower()
        if "@" in addr and len(addr) <= MAX_EMAIL and " " not in addr:
            out.append((" ".join(_CTRL.sub(" ", disp).split())[:MAX_NAME], addr))
    return out


def _filename(part: Message) -> str:
    """An attachment's file name: RFC 2231 (``filename*=``) as compat32 reads it, and
    RFC 2047 encoded words, which mail clients put there too, decoded."""
    name = part.get_filename() or ""
    if "=?" in name:
        try:
            name = str(make_header(decode_header(name)))
        except Exception:  # noqa: BLE001 - broken encoded words: the raw text
            pass
    return " ".join(_CTRL.sub(" ", str(name)).split())


class _HtmlText(HTMLParser):
    _BLOCK = {
        "p",
        "div",
        "br",
        "tr",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(" ".join(data.split()) if data.strip() else (" " if data else ""))


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: block elements become line breaks, list items
    ``- ``, scripts and styles dropped, entities decoded."""
    p = _HtmlText()
    try:
        p.feed(html)
        p.close()
    except Exception:  # noqa: BLE001 - broken HTML: what was read so far
        pass
    lines = [" ".join(line.split()) for line in "".join(p.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _text_of(part: Message) -> str:
    """A text part decoded by its charset (UTF-8 when it names none); an unknown or wrong
    charset reads as UTF-8 with replacement characters (never an error)."""
    payload = part.get_payload(decode=True) or b""
    if isinstance(payload, str):
        return payload
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except (LookupError, ValueError):  # unknown, or not a name at all ("utf-8\x00")
        return payload.decode("utf-8", errors="replace")


_QUOTE_HEAD = [
    re.compile(r"^\s*On .{0,300}wrote:\s*$", re.I),
    re.compile(r"^\s*Le .{0,300}a écrit\s*:\s*$", re.I),
    re.compile(r"^\s*Am .{0,300}schrieb .{0,200}:\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
]


def trim_quoted(text: str) -> str:
    """A follow-up without the quoted history under it: cut at "On … wrote:", "-----Original
    Message-----" or an Outlook rule followed by "From:", and drop trailing ``>`` lines.
    A body that would be empty is returned whole."""
    lines = text.splitlines()
    cut = len(lines)
    for i, line in enumerate(lines):
        joined = line + (" " + lines[i + 1] if i + 1 < len(lines) else "")
        if any(p.match(line) for p in _QUOTE_HEAD):
            cut = i
            break
        if line.strip().lower().startswith("on ") and _QUOTE_HEAD[0].match(joined):
            cut = i
            break
        if (
            line.lower().startswith("from:")
            and i + 1 < len(lines)
            and re.match(r"^(sent|date|to|subject):", lines[i + 1].strip(), re.I)
        ):
            cut = i
            break
    kept = lines[:cut]
    while kept and (kept[-1].lstrip().startswith(">") or not kept[-1].strip()):
        kept.pop()
    out = "\n".join(kept).strip()
    return out or text.strip()


def _is_attachment(part: Message) -> bool:
    disp = (part.get_content_disposition() or "").lower()
    if disp == "attachment":
        return True
    if part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart", "message")


def _bounce_info(msg: Message, sender: str) -> tuple[list[str], str] | None:
    """(Message-IDs reported on, reason) for a delivery failure report, else None."""
    ctype = msg.get_content_type()
    report = ctype == "multipart/report" and (
        (msg.get_param("report-type") or "").lower() == "delivery-status"
    )
    local = sender.split("@")[0]
    if not report and local not in _DAEMONS:
        return None
    ids: list[str] = []
    reason = ""
    for part in msg.walk():
        pt = part.get_content_type()
        if pt == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            for block in blocks:
                status = _header(block, "Status")
                diag = _header(block, "Diagnostic-Code")
                action = _header(block, "Action")
                bits = [b for b in (action, status, diag) if b]
                if bits and not reason:
                    reason = " ".join(" ".join(bits).split())
        elif pt in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                ids += message_ids(_header(inner[0], "Message-ID"))
            else:
                raw = part.get_payload(decode=True) or b""
                m = re.search(rb"^Message-ID:\s*(.+)$", raw, re.I | re.M)
                if m:
                    ids += message_ids(m.group(1).decode("ascii", "replace"))
    ids += message_ids(_header(msg, "In-Reply-To")) + message_ids(_header(msg, "References"))
    if not report and not ids:
        return None  # mail from postmaster that reports on nothing of ours: a message
    seen: dict[str, None] = {}
    for i in ids:
        seen.setdefault(i, None)
    subject = _header(msg, "Subject")
    return list(seen), (reason or subject or "delivery failed")[:500]


def parse_mail(raw: bytes, *, max_body_chars: int, keep_attachment_bytes: int) -> ParsedMail:
    """Read ``raw`` (RFC 5322 bytes). Raises :class:`Unreadable` (one-line reason) when
    there is no sender address, or the text is longer than ``max_body_chars`` characters
    (the size limit of every body, settings.py). Attachments larger than
    ``keep_attachment_bytes`` are listed without content. Never raises anything else: an
    error of the stdlib parser on some broken input is :class:`Unreadable` too (the
    message is quarantined with that reason, never a crash of the fetcher)."""
    try:
        return _parse_mail(
            raw, max_body_chars=max_body_chars, keep_attachment_bytes=keep_attachment_bytes
        )
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        at = f" in {where.tb_frame.f_code.co_name}" if where is not None else ""
        raise Unreadable(f"the parser failed on this message ({type(exc).__name__}{at})") from None


def _parse_mail(raw: bytes, *, max_body_chars: int, keep_attachment_bytes: int) -> ParsedMail:
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser should not raise; if it does, say so
        raise Unreadable(f"not a readable message ({type(exc).__name__})") from None
    defects = [type(d).__name__ for d in getattr(msg, "defects", [])]
    senders = _addresses(msg, "From") or _addresses(msg, "Sender") or _addresses(msg, "Return-Path")
    if not senders:
        raise Unreadable("no sender address (From)")
    name, sender = senders[0]
    subject = _header(msg, "Subject")[:MAX_SUBJECT].strip()
    # the loop guard's headers, raw (parsing every Received: line costs more than the rest)
    headers: dict[str, str] = {}
    for key, value in msg.raw_items():
        field_name = key.lower()
        if field_name in _GUARD_HEADERS and field_name not in headers:
            headers[field_name] = " ".join(_CTRL.sub(" ", str(value)).split())

    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    parts = msg.walk() if msg.is_multipart() else iter([msg])
    for part in parts:
        if part.is_multipart():
            continue
        try:
            is_att = _is_attachment(part) and part is not msg
        except Exception:  # noqa: BLE001
            is_att = False
        ctype = part.get_content_type()
        if is_att or (
            part is msg
            and ctype not in ("text/plain", "text/html")
            and part.get_content_maintype() != "text"
        ):
            data = part.get_payload(decode=True) or b""
            if isinstance(data, str):
                data = data.encode("utf-8", "replace")
            filename = _filename(part)
            attachments.append(
                Attachment(
                    filename=(filename or f"unnamed.{part.get_content_subtype()}")[:255],
                    content_type=ctype[:255],
                    size=len(data),
                    content=data if len(data) <= keep_attachment_bytes else None,
                )
            )
            continue
        if ctype == "text/plain":
            plain.append(_text_of(part))
        elif ctype == "text/html":
            html.append(_text_of(part))
    body = "\n\n".join(t.strip() for t in plain if t.strip())
    if not body and html:
        body = "\n\n".join(html_to_text(h) for h in html if h.strip())
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not body.strip():
        body = "(no text)" if not attachments else "(attachments only)"
    if len(body) > max_body_chars:
        raise Unreadable(
            f"the text is {len(body):,} characters, over max_body_chars ({max_body_chars:,})"
        )
    mid = message_ids(_header(msg, "Message-ID"))
    if mid:
        message_id = mid[0]
    else:
        digest = hashlib.sha256(
            "\x1f".join([sender, _header(msg, "Date"), subject, body]).encode("utf-8", "replace")
        ).hexdigest()
        message_id = f"hash:{digest}"
    parsed = ParsedMail(
        message_id=message_id,
        sender_email=sender,
        sender_name=name,
        subject=subject,
        body=body,
        cc=[a for a in _addresses(msg, "Cc") if a[1] != sender],
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(_header(msg, "References")),
        headers=headers,
        attachments=attachments,
        defects=defects,
    )
    bounce = _bounce_info(msg, sender)
    if bounce is not None:
        parsed.bounce_of, parsed.bounce_reason = bounce
    return parsed


def parse_header_only(header: bytes) -> tuple[str | None, str, str]:
    """(Message-ID, sender, subject) from a header block — for a message quarantined
    unread (too large)."""
    try:
        msg = message_from_bytes(header, policy=policy.compat32)
    except Exception:  # noqa: BLE001
        return None, "", ""
    mid = message_ids(_header(msg, "Message-ID"))
    sender = parseaddr(_header(msg, "From"))[1].lower()
    return (mid[0] if mid else None), sender[:320], _header(msg, "Subject")[:998]
