"""IMAP: read one mailbox (issue 14) — network I/O only, with ``imapclient``.

The loops that turn what arrives into tickets live in ``desk/mail_in.py``; this module
connects, says what is new after a UID, streams messages in small batches, marks them seen
or moves them to a folder, and waits for new mail (IDLE when the server offers it, else the
caller polls).

URLs: ``imap://user@host[:143]/MAILBOX`` (STARTTLS when the server offers it, else plain —
for a local server), ``imaps://user@host[:993]/MAILBOX`` (TLS). The mailbox defaults to
INBOX. The password never sits in the URL: it comes from AGENT_CONSOLE_IMAP_PASSWORD or the
config file. ``ca_file`` trusts a self-signed server certificate (PEM).

Errors: :class:`ImapError` (one line, no password, no URL secret) for anything the
server or the network refuses.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

__all__ = ["FetchedMail", "ImapError", "ImapTarget", "Mailbox", "parse_imap_url"]


class ImapError(Exception):
    """The IMAP server or the network refused; ``str()`` is one line without secrets."""


@dataclass(frozen=True)
class ImapTarget:
    """Where to read: host, port, user, mailbox; ``tls`` = "tls" (imaps) or "starttls"
    (imap: upgrades when offered)."""

    host: str
    port: int
    user: str
    mailbox: str
    tls: str

    @property
    def name(self) -> str:
        """``user@host:port/MAILBOX`` — the mailbox's name in progress rows and output."""
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"


def parse_imap_url(url: str) -> ImapTarget:
    """Parse an ``imap://`` / ``imaps://`` URL; ValueError (one line, the URL never
    repeated) when it is not one, or when it carries a password."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(
            "not a URL; use imap://user@host:143/INBOX or imaps://user@host:993/INBOX"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError(
            "use imap://user@host:143/INBOX (STARTTLS) or imaps://user@host:993/INBOX (TLS)"
        )
    if parts.password:
        raise ValueError(
            "no password in the URL; put it in AGENT_CONSOLE_IMAP_PASSWORD "
            "or the config file (imap_password = ...)"
        )
    if not parts.username:
        raise ValueError("the URL needs the user name: imap://user@host/MAILBOX")
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapTarget(
        host=parts.hostname,
        port=port or (993 if scheme == "imaps" else 143),
        user=unquote(parts.username),
        mailbox=mailbox,
        tls="tls" if scheme == "imaps" else "starttls",
    )


@dataclass(frozen=True)
class FetchedMail:
    """One message as the server holds it: ``uid``, ``internaldate`` (aware UTC: when it
    arrived), ``size`` in bytes (RFC822.SIZE), ``raw`` (None when only the header was
    fetched because the message is larger than the fetch limit)."""

    uid: int
    internaldate: datetime | None
    size: int
    raw: bytes | None
    header: bytes = b""


def _one_line(exc: BaseException) -> str:
    text = str(exc).replace("\r", " ").replace("\n", " ").strip()
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class Mailbox:
    """A logged-in connection with the mailbox selected. Use as a context manager.

    ``timeout``: seconds for connect and each command. ``batch``: messages per FETCH
    (memory stays flat: a batch is handed over before the next is read)."""

    #: use IMAP MOVE when offered (False: always COPY + \\Deleted + EXPUNGE; tests)
    use_move: bool = True

    def __init__(
        self,
        target: ImapTarget,
        password: str | None,
        *,
        ca_file: str | None = None,
        timeout: float = 30.0,
        batch: int = 50,
        batch_bytes: int = 8 * 2**20,
    ) -> None:
        self.target = target
        self._password = password
        self.ca_file = ca_file
        self.timeout = timeout
        self.batch = batch
        self.batch_bytes = batch_bytes
        self.client = None
        self.uidvalidity: int = 0
        self.uidnext: int = 0

    # ------------------------------------------------------------------ connection
    def _context(self) -> ssl.SSLContext:
        ctx = (
            ssl.create_default_context(cafile=self.ca_file)
            if self.ca_file
            else (ssl.create_default_context())
        )
        return ctx

    def connect(self) -> Mailbox:
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError

        t = self.target
        try:
            client = IMAPClient(
                t.host,
                port=t.port,
                ssl=t.tls == "tls",
                ssl_context=self._context() if t.tls == "tls" else None,
                timeout=self.timeout,
            )
            client.normalise_times = False  # aware datetimes for INTERNALDATE
            if t.tls == "starttls" and b"STARTTLS" in client.capabilities():
                client.starttls(self._context())
            client.login(t.user, self._password or "")
            info = client.select_folder(t.mailbox)
        except (TimeoutError, IMAPClientError, OSError, ssl.SSLError) as exc:
            raise ImapError(f"IMAP {t.name}: {_one_line(exc)}") from None
        self.client = client
        self.uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        self.uidnext = int(info.get(b"UIDNEXT", 0) or 0)
        return self

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - closing anyway
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> Mailbox:
        return self.connect() if self.client is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, fn, *args, **kw):  # type: ignore[no-untyped-def]
        from imapclient.exceptions import IMAPClientError

        try:
            return fn(*args, **kw)
        except (TimeoutError, IMAPClientError, OSError, ssl.SSLError) as exc:
            raise ImapError(f"IMAP {self.target.name}: {what}: {_one_line(exc)}") from None

    # ------------------------------------------------------------------ reading
    @property
    def has_idle(self) -> bool:
        assert self.client is not None
        return self._call("CAPABILITY", self.client.has_capability, "IDLE")

    def refresh(self) -> None:
        """Re-read UIDVALIDITY / UIDNEXT (NOOP + STATUS)."""
        assert self.client is not None
        st = self._call(
            "STATUS", self.client.folder_status, self.target.mailbox, [b"UIDVALIDITY", b"UIDNEXT"]
        )
        self.uidvalidity = int(st.get(b"UIDVALIDITY", self.uidvalidity))
        self.uidnext = int(st.get(b"UIDNEXT", self.uidnext) or 0)

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid``, ascending."""
        assert self.client is not None
        found = self._call("SEARCH", self.client.search, ["UID", f"{last_uid + 1}:*"])
        return sorted(u for u in found if u > last_uid)

    def unseen_up_to(self, last_uid: int) -> list[int]:
        """UIDs at or below ``last_uid`` not flagged \\Seen."""
        assert self.client is not None
        found = self._call("SEARCH", self.client.search, ["UNSEEN", "UID", f"1:{last_uid}"])
        return sorted(u for u in found if u <= last_uid)

    def fetch(self, uids: list[int], *, max_bytes: int) -> Iterator[FetchedMail]:
        """The messages ``uids`` in order, a few at a time. A message larger than
        ``max_bytes`` comes with its header only (``raw`` None)."""
        assert self.client is not None
        client = self.client
        for start in range(0, len(uids), max(1, self.batch * 4)):
            chunk = uids[start : start + self.batch * 4]
            sizes = self._call("FETCH", client.fetch, chunk, [b"RFC822.SIZE", b"INTERNALDATE"])
            group: list[int] = []
            group_bytes = 0
            for uid in chunk:
                if uid not in sizes:
                    continue  # expunged meanwhile
                size = int(sizes[uid].get(b"RFC822.SIZE", 0))
                when = _utc(sizes[uid].get(b"INTERNALDATE"))
                if size > max_bytes:
                    yield from self._flush(group)
                    group, group_bytes = [], 0
                    head = self._call("FETCH", client.fetch, [uid], [b"BODY.PEEK[HEADER]"])
                    header = head.get(uid, {}).get(b"BODY[HEADER]", b"") or b""
                    yield FetchedMail(uid, when, size, None, header)
                    continue
                if group and (len(group) >= self.batch or group_bytes + size > self.batch_bytes):
                    yield from self._flush(group)
                    group, group_bytes = [], 0
                group.append(uid)
                group_bytes += size
            yield from self._flush(group)

    def _flush(self, group: list[int]) -> Iterator[FetchedMail]:
        if not group:
            return
        assert self.client is not None
        got = self._call(
            "FETCH", self.client.fetch, group, [b"BODY.PEEK[]", b"INTERNALDATE", b"RFC822.SIZE"]
        )
        for uid in group:
            data = got.get(uid)
            if data is None:
                continue
            raw = data.get(b"BODY[]") or b""
            yield FetchedMail(
                uid, _utc(data.get(b"INTERNALDATE")), int(data.get(b"RFC822.SIZE", len(raw))), raw
            )
        got.clear()

    def mark_seen(self, uids: list[int]) -> None:
        """Flag ``uids`` \\Seen (done only after their tickets are committed)."""
        if uids:
            assert self.client is not None
            self._call("STORE", self.client.add_flags, uids, [b"\\Seen"], silent=True)

    def undeleted_up_to(self, last_uid: int) -> list[int]:
        """UIDs at or below ``last_uid`` still in the mailbox (not flagged \\Deleted)."""
        assert self.client is not None
        if last_uid < 1:
            return []
        found = self._call("SEARCH", self.client.search, ["UNDELETED", "UID", f"1:{last_uid}"])
        return sorted(u for u in found if u <= last_uid)

    def undeleted_among(self, uids: list[int]) -> list[int]:
        """Those of ``uids`` still in the mailbox (not flagged \\Deleted)."""
        assert self.client is not None
        if not uids:
            return []
        wanted = set(uids)
        found = self._call(
            "SEARCH", self.client.search, ["UNDELETED", "UID", ",".join(map(str, sorted(wanted)))]
        )
        return sorted(u for u in found if u in wanted)

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` (and subscribe to it) when the server does not have it."""
        assert self.client is not None
        if not self._call("LIST", self.client.folder_exists, folder):
            try:
                self._call("CREATE", self.client.create_folder, folder)
            except ImapError:
                # another fetcher created it meanwhile ([ALREADYEXISTS]): fine
                if not self._call("LIST", self.client.folder_exists, folder):
                    raise
            try:
                self.client.subscribe_folder(folder)
            except Exception:  # noqa: BLE001 - a folder nobody subscribed to still works
                pass

    @property
    def has_move(self) -> bool:
        """The server offers MOVE (RFC 6851) and :attr:`use_move` allows it."""
        assert self.client is not None
        return self.use_move and bool(self._call("CAPABILITY", self.client.has_capability, "MOVE"))

    def move(self, uids: list[int], folder: str) -> None:
        """Move ``uids`` to ``folder``, flagged \\Seen: ``UID MOVE`` where the server
        offers it, else ``UID COPY`` + \\Deleted + ``UID EXPUNGE`` of those UIDs (plain
        EXPUNGE on a server without UIDPLUS: it also removes other messages flagged
        \\Deleted in the mailbox). UIDs no longer in the mailbox are no error."""
        if not uids:
            return
        assert self.client is not None
        client = self.client
        self.mark_seen(uids)
        if self.has_move:
            self._call("MOVE", client.move, uids, folder)
            return
        self._call("COPY", client.copy, uids, folder)
        self._call("STORE", client.add_flags, uids, [b"\\Deleted"], silent=True)
        if self._call("CAPABILITY", client.has_capability, "UIDPLUS"):
            self._call("EXPUNGE", client.uid_expunge, uids)
        else:
            self._call("EXPUNGE", client.expunge)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for new mail: IDLE when offered (True when the server
        said something arrived), else NOOP after sleeping (returns True: look again)."""
        assert self.client is not None
        client = self.client
        if not self.has_idle:
            import time

            time.sleep(max(0.0, seconds))
            self._call("NOOP", client.noop)
            return True
        self._call("IDLE", client.idle)
        try:
            responses = self._call("IDLE", client.idle_check, timeout=seconds)
        finally:
            self._call("IDLE", client.idle_done)
        return any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
