"""A real IMAP server for the mail tests: Dovecot from the system's packages, run as root
with a throwaway configuration on a free high port of 127.0.0.1 (issue 14).

- ``ssl = no`` for the plain tests; ``DovecotServer(tls=True)`` makes a self-signed
  certificate with ``openssl`` (trusted by the client through its CA-file option) and
  listens for ``imaps://`` only.
- The whole tree (configuration, run dir, mail) lives in a fresh ``/tmp/ac-dovecot-*``
  directory, mode 0755 — never under pytest's ``/tmp/pytest-of-root`` (mode 0700), which the
  mail user (``nobody``) could not search.
- Every test gets its own user (``server.new_user()``): a fresh, empty mailbox (a static
  passdb: every user name logs in with ``PASSWORD``).
- The system's own Dovecot instance is never started or touched.

Skips when ``dovecot`` is not installed, unless ``AGENT_CONSOLE_REQUIRE_IMAP=1`` (CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "s3cret-imap"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = ac-test-{tag}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""


class DovecotServer:
    """A throwaway Dovecot on 127.0.0.1. ``url(user)`` gives the ``imap://``/``imaps://``
    URL (password in ``PASSWORD``); ``append(user, message)`` delivers a message."""

    def __init__(self, tls: bool = False) -> None:
        self.tls = tls
        self.dir = Path(tempfile.mkdtemp(prefix="ac-dovecot-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.port = _free_port()
        self.ca_file: Path | None = None
        self._proc: subprocess.Popen | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> DovecotServer:
        d = self.dir
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir(mode=0o755)
        shutil.chown(d / "mail", "nobody", "nogroup")
        ssl_lines = ""
        if self.tls:
            cert, key = d / "cert.pem", d / "key.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                check=True,
                capture_output=True,
            )
            self.ca_file = cert
            ssl_lines = f"ssl_cert = <{cert}\nssl_key = <{key}\n"
        (d / "dovecot.conf").write_text(
            _CONF.format(
                d=d,
                tag=uuid.uuid4().hex[:8],
                password=PASSWORD,
                ssl="required" if self.tls else "no",
                ssl_lines=ssl_lines,
                imap_port=0 if self.tls else self.port,
                imaps_port=self.port if self.tls else 0,
            )
        )
        self._proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(d / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                log = (d / "dovecot.log").read_text() if (d / "dovecot.log").exists() else ""
                raise RuntimeError(f"dovecot did not start: {err}\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dovecot did not listen within 10 s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ users / mail
    def new_user(self) -> str:
        """A fresh user with an empty INBOX (password ``PASSWORD``; the static passdb
        takes any user name, so nothing needs reloading)."""
        return f"u{uuid.uuid4().hex[:10]}"

    def url(self, user: str, mailbox: str = "INBOX") -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{user}@127.0.0.1:{self.port}/{mailbox}"

    def client(self, user: str):
        """A logged-in ``imapclient.IMAPClient`` (plain servers only) — the test's own
        view of the mailbox, independent of the code under test."""
        from imapclient import IMAPClient

        c = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        c.login(user, PASSWORD)
        return c

    def append(
        self,
        user: str,
        message: bytes | str | EmailMessage,
        when: datetime | None = None,
        mailbox: str = "INBOX",
    ) -> None:
        raw = message.as_bytes() if isinstance(message, EmailMessage) else message
        if isinstance(raw, str):
            raw = raw.encode()
        c = self.client(user)
        try:
            c.append(mailbox, raw, msg_time=when)
        finally:
            c.logout()

    def uids(self, user: str, mailbox: str = "INBOX", criteria: str = "ALL") -> list[int]:
        c = self.client(user)
        try:
            c.select_folder(mailbox)
            return list(c.search(criteria))
        finally:
            c.logout()


def dovecot_available() -> bool:
    return Path(DOVECOT).exists()


def start_dovecot(tls: bool = False) -> DovecotServer:
    if not dovecot_available():
        if os.environ.get("AGENT_CONSOLE_REQUIRE_IMAP"):
            pytest.fail("dovecot required (AGENT_CONSOLE_REQUIRE_IMAP=1) but not installed")
        pytest.skip("dovecot not installed (apt-get install dovecot-imapd)")
    return DovecotServer(tls=tls).start()


def mail(
    *,
    sender: str = "Dana Customer <dana@acme.example>",
    to: str = "support@desk.example",
    subject: str = "Cannot log in",
    body: str = "Hello, I cannot log in since this morning.",
    message_id: str | None = None,
    date: datetime | None = None,
    **headers: str,
) -> EmailMessage:
    """A plain customer message; extra headers by keyword (``In_Reply_To=`` → ``In-Reply-To``)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = message_id or make_msgid(domain="acme.example")
    if date is not None:
        m["Date"] = format_datetime(date)
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m
