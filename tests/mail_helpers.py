"""A real SMTP server on 127.0.0.1 for the mail tests (issue 14): ``aiosmtpd`` in a thread,
capturing every message it accepts, able to refuse the next N messages (``refuse(n)``).

Tests use the ``smtp_server`` fixture (tests/conftest.py: one server per test) or
:class:`SmtpServer` as a context manager. :func:`mail_desk` opens a desk that sends to it
(short retry delays) and :func:`mail_ticket` makes an e-mail ticket (one inbound message in
the ``mail_message`` thread index, as the fetcher would leave it).
"""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from agent_console.desk import Desk
from agent_console.settings import Settings
from agent_console.store.models import MailMessage, Ticket

MAIL_FROM = "Support <support@desk.example>"
CUSTOMER = "jane@customer.example"


@dataclass
class Captured:
    """One message the server accepted: envelope sender, recipients, parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Captured] = []
        self.refusals: list[str] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            raw = envelope.original_content or envelope.content
            msg = email.message_from_bytes(raw, policy=default)
            self.messages.append(
                Captured(envelope.mail_from, list(envelope.rcpt_tos), msg)  # type: ignore[arg-type]
            )
            self.arrived.notify_all()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for 127.0.0.1, made by the openssl command (valid one day); the
    certificate is its own CA: give it as ``smtp_ca_file``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SmtpServer:
    """aiosmtpd on 127.0.0.1:<free port>; ``url`` is what ``--smtp`` takes.

    ``tls``: None (plain, no STARTTLS offered), ``"starttls"`` (STARTTLS offered and
    required before MAIL) or ``"smtps"`` (TLS from the first byte), with ``cert`` /
    ``key`` from :func:`self_signed_cert`. ``users``: login → password; the server then
    requires AUTH (over TLS)."""

    def __init__(
        self,
        *,
        tls: str | None = None,
        cert: tuple[Path, Path] | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.handler = _Handler()
        self.port = _free_port()
        self.tls = tls
        self.logins: list[str] = []
        kw: dict[str, Any] = {}
        if tls:
            assert cert is not None
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
            if tls == "smtps":
                kw["ssl_context"] = ctx
            else:
                kw.update(tls_context=ctx, require_starttls=True)
        if users:

            def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):  # type: ignore[no-untyped-def]
                ok = (
                    isinstance(data, LoginPassword)
                    and users.get(data.login.decode()) == data.password.decode()
                )
                if ok:
                    self.logins.append(data.login.decode())
                return AuthResult(success=ok, handled=False)

            kw.update(authenticator=check, auth_required=True)
            if tls == "smtps":  # aiosmtpd only counts STARTTLS as TLS; this socket is TLS
                kw["auth_require_tls"] = False
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kw)

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "smtps" else "smtp"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Captured]:
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, times: int = 1, reply: str = "451 4.3.0 try again later") -> None:
        """Refuse the next ``times`` messages at DATA with ``reply`` (4xx: retry; 5xx: no)."""
        with self.handler.lock:
            self.handler.refusals.extend([reply] * times)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Captured]:
        """The captured messages once there are at least ``count`` (else what there is)."""
        end = time.monotonic() + timeout
        with self.handler.arrived:
            while len(self.handler.messages) < count and time.monotonic() < end:
                self.handler.arrived.wait(max(0.0, end - time.monotonic()))
            return list(self.handler.messages)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def mail_settings(db_url: str, server: SmtpServer | None, **changes: object) -> Settings:
    """Settings of a console that sends to ``server`` with retries 50 ms apart."""
    base: dict[str, Any] = dict(
        db_url=db_url,
        mail_from=MAIL_FROM,
        mail_retry_after=0.05,
        mail_give_up_after=30.0,
        smtp_timeout=5.0,
    )
    if server is not None:
        base["smtp_url"] = server.url
    base.update(changes)
    return Settings(**base)


def mail_desk(db_url: str, server: SmtpServer | None, **changes: object) -> Desk:
    desk = Desk.open(mail_settings(db_url, server, **changes))
    desk.add_agent("alice", "Alice", 1)
    return desk


def mail_ticket(
    desk: Desk,
    *,
    subject: str = "Printer on fire",
    requester: str = CUSTOMER,
    message_id: str = "first.1@customer.example",
    priority: str = "urgent",
    opened_at: datetime | None = None,
) -> Ticket:
    """An e-mail ticket as the fetcher leaves it: the ticket and its inbound message."""
    key = desk.create_ticket(
        subject=subject,
        body="It smokes.",
        requester_email=requester,
        requester_name="Jane Doe",
        priority=priority,
        opened_at=opened_at,
    )
    with desk.write() as s:
        t = desk.ticket_by_key(s, key)
        s.add(
            MailMessage(
                message_id=message_id,
                direction="in",
                address=requester,
                ticket_id=t.id,
                created_at=t.opened_at,
                received_at=t.opened_at,
            )
        )
    return t
