"""The one masking rule for secrets in messages, logs and exception text (issue 15).

Database, mail and webhook URLs alike go through :func:`mask_url`; free text (an error
from a driver, a log line, a traceback) through :func:`mask_secrets`. Both are pure string
functions; the only state is the process-wide set of *known secrets*
(:func:`register_secret` / :func:`register_url`): the CLI registers the secrets of the
URLs it was given, so that a driver error quoting a password — or an unparseable URL that
shows up in a traceback — is masked too, in every message and in the log file.

- A URL SQLAlchemy can parse is rendered with ``render_as_string(hide_password=True)``;
  query-string values whose key names a secret (``password``, ``token``, ``key``…) become
  ``***``, as do long token-like path segments of ``http(s)`` URLs (webhook secrets).
- A URL whose password holds an unescaped ``@`` hides everything before its last ``@``.
- A URL that cannot be parsed is hidden as a whole (``<unparseable URL hidden>``).
"""

from __future__ import annotations

import re
import threading

from sqlalchemy.engine import URL, make_url

MASK = "***"
UNPARSEABLE = "<unparseable URL hidden>"

#: query-string keys (and ``key=value`` pairs in free text) whose value is a secret
SECRET_KEY = re.compile(
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|key|auth\w*|"
    r"credentials?|signature|sig|access[_-]?token|client[_-]?secret|sslpassword)",
    re.IGNORECASE,
)
#: a URL inside free text: a scheme, ``://`` and everything up to white space or a quote
_URL_IN_TEXT = re.compile(r"""\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>`]+""")
#: ``password=…`` / ``token: …`` pairs in free text (libpq DSNs, config dumps)
_PAIR_IN_TEXT = re.compile(
    r"""(?P<key>\b(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|sslpassword)\b)"""
    r"""(?P<sep>\s*[=:]\s*)(?P<q>['"]?)(?P<value>[^\s'"&;,]+)(?P=q)""",
    re.IGNORECASE,
)
#: a path segment that looks like a token: long, letters and digits mixed
_TOKENISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")

_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (values under 4 characters are too
    likely to be ordinary words and are not registered: their URL is still masked)."""
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def register_url(url: str | None) -> None:
    """Register the secrets of ``url`` (its password, secret query values); an unparseable
    URL is registered whole, since its password cannot be told apart."""
    if not url:
        return
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - any parse failure: the whole string is the secret
        if _may_hold_secret(url):
            register_secret(url)
        return
    if parsed.password is not None:
        register_secret(str(parsed.password))
    if parsed.host and "@" in parsed.host:
        register_secret(url.split("://", 1)[-1].rsplit("@", 1)[0])
    for key, value in parsed.query.items():
        if SECRET_KEY.fullmatch(key):
            for v in (value,) if isinstance(value, str) else value:
                register_secret(v)


def _may_hold_secret(url: str) -> bool:
    """Only a string with a ``:`` or an ``@`` can carry a password (``user:pw@host``,
    ``?password=``); a bare path such as ``console.db`` is safe to show."""
    return ":" in url or "@" in url or "=" in url


def has_secret(url: str | None) -> bool:
    """Whether ``url`` carries a password or a secret query value (or cannot be parsed
    and may hold one): what the CLI warns about when it is on the command line."""
    if not url:
        return False
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - unparseable: it may hold one
        return _may_hold_secret(url)
    return (
        parsed.password is not None
        or bool(parsed.host and "@" in parsed.host)
        or any(SECRET_KEY.fullmatch(k) for k in parsed.query)
    )


def forget_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _lock:
        _known.clear()


def _mask_query(parsed: URL) -> URL:
    if not parsed.query:
        return parsed
    query = {
        k: (MASK if SECRET_KEY.fullmatch(k) else v) for k, v in parsed.query.items()
    }
    return parsed.set(query=query)


def _mask_path(parsed: URL) -> URL:
    if parsed.drivername not in ("http", "https") or not parsed.database:
        return parsed
    parts = parsed.database.split("/")
    masked = [MASK if _TOKENISH.match(p) else p for p in parts]
    return parsed.set(database="/".join(masked)) if masked != parts else parsed


def mask_url(url: str | URL | None) -> str:
    """``url`` as it may be shown or logged: password, secret query values and token-like
    webhook path segments as ``***``; an unparseable URL as ``<unparseable URL hidden>``.
    ``None`` is ``""``."""
    if url is None:
        return ""
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = make_url(url)
        except Exception:  # noqa: BLE001 - ArgumentError, ValueError (bad port), …
            return UNPARSEABLE if _may_hold_secret(url) else url
    if parsed.host and "@" in parsed.host:
        # an unescaped "@" in the password: the parser took part of it for the host
        parsed = parsed.set(username=MASK, password=None, host=parsed.host.rsplit("@", 1)[1])
    parsed = _mask_path(_mask_query(parsed))
    rendered = parsed.render_as_string(hide_password=True)
    # render_as_string escapes "*" in a user name; keep the mask readable
    return rendered.replace("%2A%2A%2A", MASK)


def mask_secrets(text: str | None) -> str:
    """``text`` (a message, a log line, a traceback) with every secret masked: registered
    secrets, URLs (:func:`mask_url`) and ``password=…``-style pairs."""
    if not text:
        return ""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_IN_TEXT.sub(lambda m: _mask_url_in_text(m.group()), text)
    return _PAIR_IN_TEXT.sub(
        lambda m: f"{m['key']}{m['sep']}{m['q']}{MASK}{m['q']}", text
    )


def _mask_url_in_text(url: str) -> str:
    # a URL followed by punctuation in prose ("…/db." or "…/db),"): keep the punctuation
    tail = ""
    while url and url[-1] in ".,;:)]}":
        tail = url[-1] + tail
        url = url[:-1]
    masked = mask_url(url)
    if masked == UNPARSEABLE:
        return UNPARSEABLE + tail
    return masked + tail
