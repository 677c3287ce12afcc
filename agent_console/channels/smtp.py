"""Outbound mail: hand one composed message to an SMTP server (issue 14).

Network I/O only (DESIGN.md): the desk composes the message (``desk/mail_out.py``) and
decides about retries (``desk/outbox.py``); this module connects, authenticates, sends and
says how it went — never raises for a refusal or a network failure.

Servers are given as URLs like the database (``--smtp`` / ``AGENT_CONSOLE_SMTP`` / config
``smtp``):

- ``smtp://[user@]host[:port]`` — plain SMTP (default port 25), upgraded with STARTTLS
  whenever the server offers it (``?starttls=require`` refuses to send without it);
- ``smtps://[user@]host[:port]`` — TLS from the first byte (default port 465).

The password comes from ``AGENT_CONSOLE_SMTP_PASSWORD`` or the config file
(``smtp_password``), never from the URL or the command line; it is never part of an error
text. A CA file (``smtp_ca_file``) is trusted for self-signed servers.

Refusals: a 5xx reply to the sender, a recipient or the data is **permanent** (the message
will never go; the outbox marks it failed at once); a 4xx reply, a timeout, a dropped
connection or a login refused are **transient** (the outbox retries with backoff).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to send: parsed from the ``smtp`` URL (no password inside)."""

    scheme: str  # "smtp" | "smtps"
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None
    require_starttls: bool = False

    @property
    def shown(self) -> str:
        """``smtp://host:port`` — what may be printed (no user, no password)."""
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_smtp_url(
    url: str, *, password: str | None = None, ca_file: str | None = None
) -> SmtpTarget:
    """The :class:`SmtpTarget` of an ``smtp://`` / ``smtps://`` URL (settings.py checked
    its shape). Raises ValueError with a line that never repeats the URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("use smtp://host:port (STARTTLS) or smtps://host:port (TLS)")
    query = parse_qs(parts.query)
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[scheme],
        user=unquote(parts.username) if parts.username else None,
        password=password,
        ca_file=ca_file,
        require_starttls=(query.get("starttls", [""])[0].lower() == "require"),
    )


@dataclass(frozen=True)
class SendResult:
    """How one hand-over went: ``ok``; else ``permanent`` (never retry) or not, the SMTP
    ``code`` when the server answered (None: network), and a one-line ``error``."""

    ok: bool
    permanent: bool = False
    code: int | None = None
    error: str | None = None


def _context(target: SmtpTarget) -> ssl.SSLContext:
    return (
        ssl.create_default_context(cafile=target.ca_file)
        if target.ca_file
        else (ssl.create_default_context())
    )


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:200]


def send_message(target: SmtpTarget, message: EmailMessage, *, timeout: float) -> SendResult:
    """Send ``message`` (its From / To headers name the envelope) in one SMTP conversation.

    ``timeout``: seconds for the connection and each command. Never raises for a server's
    refusal or a network failure: see :class:`SendResult` and the module docstring."""
    where = target.shown
    try:
        if target.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=timeout, context=_context(target)
            )
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with client:
            client.ehlo()
            if target.scheme == "smtp":
                if client.has_extn("starttls"):
                    client.starttls(context=_context(target))
                    client.ehlo()
                elif target.require_starttls:
                    return SendResult(
                        False, True, None, f"{where} does not offer STARTTLS (starttls=require)"
                    )
            if target.user:
                client.login(target.user, target.password or "")
            refused = client.send_message(message)
            if refused:  # some recipients refused, others took it: report the first
                addr, (code, text) = next(iter(refused.items()))
                return SendResult(
                    False, code >= 500, code, f"{where} refused {addr}: {code} {_reply_text(text)}"
                )
        return SendResult(True)
    except smtplib.SMTPAuthenticationError as exc:
        return SendResult(
            False,
            False,
            exc.smtp_code,
            f"{where} refused the login of {target.user!r}: {exc.smtp_code} "
            f"{_reply_text(exc.smtp_error)} (check AGENT_CONSOLE_SMTP_PASSWORD / smtp_password)",
        )
    except smtplib.SMTPRecipientsRefused as exc:
        addr, (code, text) = next(iter(exc.recipients.items()))
        return SendResult(
            False, code >= 500, code, f"{where} refused {addr}: {code} {_reply_text(text)}"
        )
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        return SendResult(
            False,
            500 <= code < 600,
            code,
            f"{where} refused the message: {code} {_reply_text(exc.smtp_error)}",
        )
    except smtplib.SMTPNotSupportedError as exc:
        return SendResult(False, True, None, f"{where}: {exc}")
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        text = str(exc) or type(exc).__name__  # never holds the password
        return SendResult(False, False, None, f"{where} unreachable: {_reply_text(text)}")
