"""One settings object, resolved command line > environment > config file > defaults.

The CLI and the TUI both build it with :func:`resolve_settings`; tests build it directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_console.errors import UserError
from agent_console.paths import default_db_url, default_policy_path, user_config_dir
from agent_console.toml_files import TomlFileError, load_toml

ENV_DB = "AGENT_CONSOLE_DB"
ENV_AGENT = "AGENT_CONSOLE_AGENT"
ENV_POLICY = "AGENT_CONSOLE_POLICY"
ENV_CONFIG = "AGENT_CONSOLE_CONFIG"
ENV_TZ = "AGENT_CONSOLE_TZ"
# inbound mail (issue 14): the mailbox to read; the password never on argv
ENV_IMAP = "AGENT_CONSOLE_IMAP"
ENV_IMAP_PASSWORD = "AGENT_CONSOLE_IMAP_PASSWORD"
ENV_IMAP_CA_FILE = "AGENT_CONSOLE_IMAP_CA_FILE"
# on call (issue 10): where alerts go; secrets, never printed or logged in full
ENV_WEBHOOK = "AGENT_CONSOLE_WEBHOOK_URL"
ENV_SLACK = "AGENT_CONSOLE_SLACK_WEBHOOK_URL"
ENV_PAGERDUTY_KEY = "AGENT_CONSOLE_PAGERDUTY_ROUTING_KEY"
ENV_PAGERDUTY_URL = "AGENT_CONSOLE_PAGERDUTY_URL"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# outbound mail (issue 14): the SMTP server, our address; the password never on argv
ENV_SMTP = "AGENT_CONSOLE_SMTP"
ENV_SMTP_PASSWORD = "AGENT_CONSOLE_SMTP_PASSWORD"
ENV_SMTP_CA_FILE = "AGENT_CONSOLE_SMTP_CA_FILE"
ENV_MAIL_FROM = "AGENT_CONSOLE_MAIL_FROM"

#: config-file keys holding durations ("15m", "90s"), and their Settings field
_DURATION_KEYS = {
    "escalate_after": "escalate_after",
    "imap_poll": "imap_poll",
    "imap_idle": "imap_idle",
    "imap_timeout": "imap_timeout",
    "webhook_give_up_after": "webhook_give_up_after",
    "webhook_timeout": "webhook_timeout",
    "mail_retry_after": "mail_retry_after",
    "mail_give_up_after": "mail_give_up_after",
    "smtp_timeout": "smtp_timeout",
}

#: config-file keys holding true/false, and their Settings field (``bell = false``: no
#: terminal bell on an alert, in the TUI and the watcher)
_BOOL_KEYS = {"bell": "alert_bell"}

DEMO_AGENT = "demo"

#: size limits (issue 15): one name each, used by import, mail and the screens
DEFAULT_MAX_BODY_CHARS = 1_000_000
DEFAULT_FOLD_BODY_CHARS = 20_000
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 2**20
SIZE_LIMITS = ("max_body_chars", "fold_body_chars", "max_attachment_bytes")
#: config-file keys holding a whole number >= 0 (outbound mail, issue 14)
_COUNT_KEYS = {"receipts_per_hour": "receipts_per_hour"}


@dataclass(frozen=True)
class Settings:
    db_url: str = field(default_factory=default_db_url)
    agent: str | None = None
    policy: Path = field(default_factory=default_policy_path)
    #: the agent's display zone (IANA name); None = the policy's zone
    timezone: str | None = None
    #: a fixed clock for tests, snapshots and demos; None = the real clock
    now: datetime | None = None
    demo: bool = False
    config_file: Path | None = None
    #: rehearsal (``--at ISO``): the desk's clock starts at this instant and keeps ticking;
    #: writes are marked rehearsal, nothing is sent outside (issue 10)
    at: datetime | None = None
    #: alert webhooks (config file / environment / ``--webhook``); secrets: kept out of repr
    webhook_url: str | None = field(default=None, repr=False)
    slack_webhook_url: str | None = field(default=None, repr=False)
    pagerduty_routing_key: str | None = field(default=None, repr=False)
    pagerduty_url: str = field(default=PAGERDUTY_EVENTS_URL, repr=False)
    #: priorities whose alerts go to the webhooks (consoles see every alert)
    webhook_priorities: tuple[str, ...] = ("critical",)
    #: seconds an unacknowledged critical alert waits before it escalates a level
    escalate_after: float = 15 * 60
    #: seconds between console repeats of an unacknowledged critical alert
    alert_repeat_every: float = 5 * 60
    #: seconds of retrying one webhook delivery before giving up (an event records it)
    webhook_give_up_after: float = 10 * 60
    #: seconds one HTTP attempt may take (connect + read)
    webhook_timeout: float = 10.0
    #: ring the terminal bell on an alert (TUI and watcher)
    alert_bell: bool = True
    #: inbound mail (issue 14): ``imap://user@host:port/MAILBOX`` (STARTTLS when offered) or
    #: ``imaps://…`` (TLS); None = no mailbox is read
    imap_url: str | None = field(default=None, repr=False)
    #: the IMAP password (AGENT_CONSOLE_IMAP_PASSWORD / config ``imap_password``), never argv
    imap_password: str | None = field(default=None, repr=False)
    #: a CA bundle (PEM) trusted for the IMAP server's certificate (self-signed servers)
    imap_ca_file: str | None = None
    #: seconds between looks at a mailbox whose server offers no IDLE
    imap_poll: float = 60.0
    #: seconds one IDLE lasts before it is renewed (servers drop it after ~30 minutes)
    imap_idle: float = 300.0
    #: seconds for connecting and each IMAP command
    imap_timeout: float = 30.0
    #: seconds before a long-running fetcher reconnects after the server failed
    imap_retry: float = 30.0
    #: a folder each fetched message is moved to once committed (None: it stays, \\Seen)
    imap_processed_folder: str | None = None
    #: a folder quarantined messages are moved to (None: they stay, \\Seen)
    imap_quarantine_folder: str | None = None
    #: a received message larger than this (bytes, whole message) is quarantined unread
    max_mail_bytes: int = 50 * 2**20
    #: priority and tier of a ticket opened from mail
    mail_priority: str = "minor"
    mail_tier: int = 1
    #: a message body longer than this (characters) is refused: import, mail, replies
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS
    #: a body longer than this (characters) is stored whole but shown folded in the thread
    fold_body_chars: int = DEFAULT_FOLD_BODY_CHARS
    #: an attachment larger than this (bytes) is refused
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    #: outbound mail (issue 14): ``smtp://host:port`` (STARTTLS when offered) or
    #: ``smtps://host:port`` (TLS), a user name in the URL; None = this console sends no mail
    smtp_url: str | None = field(default=None, repr=False)
    #: the SMTP password (AGENT_CONSOLE_SMTP_PASSWORD / config ``smtp_password``), never argv
    smtp_password: str | None = field(default=None, repr=False)
    #: a CA bundle (PEM) trusted for the SMTP server's certificate (self-signed servers)
    smtp_ca_file: str | None = None
    #: our address (``support@example.com`` or ``Support <support@example.com>``): From of
    #: every message we send; messages from it are never answered
    mail_from: str | None = None
    #: seconds one SMTP conversation may take (connect, each command)
    smtp_timeout: float = 30.0
    #: seconds before the first retry of a refused message; doubles each attempt, at most
    #: 15 minutes apart
    mail_retry_after: float = 30.0
    #: seconds after queueing when a message still refused is given up (marked failed)
    mail_give_up_after: float = 4 * 3600.0
    #: automatic receipts to one sender per hour at most (no mail loops); 0 = none
    receipts_per_hour: int = 3

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def config_path(env: Mapping[str, str]) -> Path:
    explicit = env.get(ENV_CONFIG)
    return Path(explicit) if explicit else user_config_dir() / "config.toml"


def read_config_file(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        data = load_toml(path)
    except (OSError, TomlFileError) as exc:
        raise UserError(f"config file {path}: {exc}") from exc
    allowed = {
        "db",
        "agent",
        "policy",
        "timezone",
        "imap",
        "imap_password",
        "imap_ca_file",
        "imap_processed_folder",
        "imap_quarantine_folder",
        "mail_priority",
        "mail_tier",
        "max_mail_bytes",
        "webhook_url",
        "slack_webhook_url",
        "pagerduty_routing_key",
        "pagerduty_url",
        "bell",
        "smtp",
        "smtp_password",
        "smtp_ca_file",
        "mail_from",
        *_COUNT_KEYS,
        *_DURATION_KEYS,
        *SIZE_LIMITS,
    }
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise UserError(
            f"config file {path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )
    for key, value in data.items():
        if key in ("mail_tier", "max_mail_bytes"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"config file {path}: {key} must be a whole number above 0")
        elif key in SIZE_LIMITS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"config file {path}: {key} must be a whole number above 0")
        elif key in _COUNT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UserError(f"config file {path}: {key} must be a whole number (0 or more)")
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise UserError(f"config file {path}: {key} must be true or false")
        elif not isinstance(value, str):
            raise UserError(f"config file {path}: {key} must be a string")
    return data


def size_limits(cfg: Mapping[str, object], source: str = "config file") -> dict[str, int]:
    """The three size limits from a config mapping, defaults for the missing ones.

    Raises :class:`UserError` when ``fold_body_chars`` exceeds ``max_body_chars``."""
    out = {
        "max_body_chars": DEFAULT_MAX_BODY_CHARS,
        "fold_body_chars": DEFAULT_FOLD_BODY_CHARS,
        "max_attachment_bytes": DEFAULT_MAX_ATTACHMENT_BYTES,
    }
    for key in SIZE_LIMITS:
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
    if out["fold_body_chars"] > out["max_body_chars"]:
        raise UserError(
            f"{source}: fold_body_chars ({out['fold_body_chars']:,}) is larger than "
            f"max_body_chars ({out['max_body_chars']:,}); bodies above max_body_chars are "
            "refused, so nothing would ever fold"
        )
    return out


def resolve_settings(
    *,
    db: str | None = None,
    agent: str | None = None,
    policy: str | None = None,
    timezone: str | None = None,
    imap: str | None = None,
    env: Mapping[str, str] | None = None,
    at: datetime | None = None,
    webhook: str | None = None,
    smtp: str | None = None,
    mail_from: str | None = None,
) -> Settings:
    """Command line over environment over config file over defaults."""
    env = os.environ if env is None else env
    cfg_path = config_path(env)
    cfg = read_config_file(cfg_path)

    def pick(cli: str | None, env_key: str, cfg_key: str) -> str | None:
        if cli:
            return cli
        if env.get(env_key):
            return env[env_key]
        value = cfg.get(cfg_key)
        return value if isinstance(value, str) and value else None

    db_url = pick(db, ENV_DB, "db") or default_db_url()
    policy_str = pick(policy, ENV_POLICY, "policy")
    if agent is not None and not agent.strip():
        # an explicit empty handle must not fall back to the environment, the config or
        # the demo agent: the person meant someone
        raise UserError("--agent needs a handle (agent-console agent list shows them)")
    agent_handle = pick(agent, ENV_AGENT, "agent")
    if agent_handle is not None and not agent_handle.strip():
        agent_handle = None
    zone = pick(timezone, ENV_TZ, "timezone")
    imap_url = pick(imap, ENV_IMAP, "imap")
    if imap_url:
        check_imap_url(imap_url)
    mail_in: dict[str, object] = {}
    if isinstance(cfg.get("mail_priority"), str):
        from agent_console.store.models import Priority

        try:
            mail_in["mail_priority"] = Priority.parse(str(cfg["mail_priority"])).value
        except ValueError as exc:
            raise UserError(f"config file {cfg_path}: mail_priority: {exc}") from None
    if "mail_tier" in cfg:
        if cfg["mail_tier"] not in (1, 2, 3):
            raise UserError(f"config file {cfg_path}: mail_tier must be 1, 2 or 3")
        mail_in["mail_tier"] = cfg["mail_tier"]
    if "max_mail_bytes" in cfg:
        mail_in["max_mail_bytes"] = cfg["max_mail_bytes"]
    if zone:
        check_zone(zone)
    durations: dict[str, float] = {}
    for key, attr in _DURATION_KEYS.items():
        raw = cfg.get(key)
        if isinstance(raw, str) and raw:
            from agent_console.sla import parse_duration

            try:
                durations[attr] = float(parse_duration(raw))
            except ValueError as exc:
                raise UserError(f"config file {cfg_path}: {key}: {exc}") from None
    hooks = {
        "--webhook / webhook_url": pick(webhook, ENV_WEBHOOK, "webhook_url"),
        "slack_webhook_url": pick(None, ENV_SLACK, "slack_webhook_url"),
        "pagerduty_url": pick(None, ENV_PAGERDUTY_URL, "pagerduty_url"),
    }
    for what, url in hooks.items():
        if url and not url.lower().startswith(("http://", "https://")):
            raise UserError(f"{what}: a webhook address starts with http:// or https://")
    smtp_url = pick(smtp, ENV_SMTP, "smtp")
    if smtp_url:
        check_smtp_url(smtp_url)
    sender = pick(mail_from, ENV_MAIL_FROM, "mail_from")
    if sender:
        check_mail_from(sender)
    return Settings(
        smtp_url=smtp_url,
        smtp_password=pick(None, ENV_SMTP_PASSWORD, "smtp_password"),
        smtp_ca_file=pick(None, ENV_SMTP_CA_FILE, "smtp_ca_file"),
        mail_from=sender,
        **{attr: cfg[key] for key, attr in _COUNT_KEYS.items() if key in cfg},  # type: ignore[arg-type]
        db_url=db_url,
        agent=agent_handle.strip().lower() if agent_handle else None,
        policy=Path(policy_str).expanduser() if policy_str else default_policy_path(),
        timezone=zone,
        imap_url=imap_url,
        imap_password=pick(None, ENV_IMAP_PASSWORD, "imap_password"),
        imap_ca_file=pick(None, ENV_IMAP_CA_FILE, "imap_ca_file"),
        imap_processed_folder=pick(None, "", "imap_processed_folder"),
        imap_quarantine_folder=pick(None, "", "imap_quarantine_folder"),
        **mail_in,  # type: ignore[arg-type]
        config_file=cfg_path if cfg else None,
        at=at,
        webhook_url=hooks["--webhook / webhook_url"],
        slack_webhook_url=hooks["slack_webhook_url"],
        pagerduty_routing_key=pick(None, ENV_PAGERDUTY_KEY, "pagerduty_routing_key"),
        pagerduty_url=hooks["pagerduty_url"] or PAGERDUTY_EVENTS_URL,
        **durations,  # type: ignore[arg-type]
        **size_limits(cfg, f"config file {cfg_path}"),
        **{attr: cfg[key] for key, attr in _BOOL_KEYS.items() if key in cfg},  # type: ignore[arg-type]
    )


def check_imap_url(url: str) -> None:
    """``imap://user@host[:port]/MAILBOX`` or ``imaps://…``, or one clear error (the URL is
    never repeated: it may hold a password)."""
    from agent_console.channels.imap import parse_imap_url

    try:
        parse_imap_url(url)
    except ValueError as exc:
        raise UserError(f"--imap / imap: {exc}") from None


def check_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or one clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        ) from None


def check_smtp_url(url: str) -> None:
    """``smtp://[user@]host[:port]`` or ``smtps://…``, or one clear error (the URL itself is
    never repeated: it may hold a password)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise UserError(
            "--smtp / smtp: not a URL; use smtp://host:port or smtps://host:port"
        ) from None
    if parts.scheme.lower() not in ("smtp", "smtps") or not parts.hostname:
        raise UserError("--smtp / smtp: use smtp://host:port (STARTTLS) or smtps://host:port (TLS)")
    if parts.password:
        raise UserError(
            "--smtp / smtp: no password in the URL; put it in AGENT_CONSOLE_SMTP_PASSWORD "
            "or the config file (smtp_password = ...)"
        )


def check_mail_from(address: str) -> None:
    """One address (``support@example.com`` or ``Support <support@example.com>``), or one
    clear error."""
    from email.utils import parseaddr

    _name, addr = parseaddr(address)
    if "\n" in address or "\r" in address or "@" not in addr or " " in addr:
        raise UserError(
            f"--mail-from / mail_from: {address!r} is not an address like support@example.com"
        )
