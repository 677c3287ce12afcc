"""Settings: command line over environment over config file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.errors import UserError
from agent_console.paths import default_policy_path
from agent_console.settings import resolve_settings


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text, encoding="utf-8")
    return {"AGENT_CONSOLE_CONFIG": str(cfg)}


def test_defaults(tmp_path: Path) -> None:
    s = resolve_settings(env={"AGENT_CONSOLE_CONFIG": str(tmp_path / "none.toml")})
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("agent-console.db")
    assert s.agent is None
    assert s.policy == default_policy_path() and s.policy.is_file()


def test_file_then_env_then_command_line(tmp_path: Path) -> None:
    env = write_config(
        tmp_path, 'db = "sqlite:///file.db"\nagent = "filey"\npolicy = "file.toml"\ntimezone = "UTC"\n'
    )
    s = resolve_settings(env=env)
    assert (s.db_url, s.agent, s.policy.name, s.timezone) == ("sqlite:///file.db", "filey", "file.toml", "UTC")
    env |= {"AGENT_CONSOLE_DB": "sqlite:///env.db", "AGENT_CONSOLE_AGENT": "envy"}
    s = resolve_settings(env=env)
    assert (s.db_url, s.agent, s.policy.name) == ("sqlite:///env.db", "envy", "file.toml")
    s = resolve_settings(db="sqlite:///cli.db", agent="clio", policy="cli.toml", env=env)
    assert (s.db_url, s.agent, s.policy.name) == ("sqlite:///cli.db", "clio", "cli.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('db = "x"\ncolour = "red"\n', "unknown key 'colour'"),
        ("db = 3\n", "db must be a string"),
        ("db = \n", "config file"),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        resolve_settings(env=write_config(tmp_path, text))


def test_size_limits_default_and_from_the_config_file(tmp_path: Path) -> None:
    s = resolve_settings(env={"AGENT_CONSOLE_CONFIG": str(tmp_path / "none.toml")})
    assert (s.max_body_chars, s.fold_body_chars, s.max_attachment_bytes) == (
        1_000_000, 20_000, 10 * 2**20)
    s = resolve_settings(env=write_config(
        tmp_path, "max_body_chars = 5000\nfold_body_chars = 100\nmax_attachment_bytes = 42\n"))
    assert (s.max_body_chars, s.fold_body_chars, s.max_attachment_bytes) == (5000, 100, 42)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('max_body_chars = "big"\n', "max_body_chars must be a whole number above 0"),
        ("fold_body_chars = 0\n", "fold_body_chars must be a whole number above 0"),
        ("max_attachment_bytes = true\n", "max_attachment_bytes must be a whole number"),
        ("max_body_chars = 100\n", r"fold_body_chars \(20,000\) is larger than max_body_chars"),
    ],
)
def test_bad_size_limits(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        resolve_settings(env=write_config(tmp_path, text))


@pytest.mark.parametrize("handle", ["", "   "])
def test_an_empty_agent_handle_is_refused_not_replaced(tmp_path: Path, handle: str) -> None:
    """``--agent ''`` once acted as the environment's / config's / demo agent (trial)."""
    env = write_config(tmp_path, 'agent = "filey"\n') | {"AGENT_CONSOLE_AGENT": "envy"}
    with pytest.raises(UserError, match="--agent needs a handle"):
        resolve_settings(agent=handle, env=env)


def test_a_blank_agent_in_the_environment_is_no_agent(tmp_path: Path) -> None:
    env = {"AGENT_CONSOLE_CONFIG": str(tmp_path / "none.toml"), "AGENT_CONSOLE_AGENT": "  "}
    assert resolve_settings(env=env).agent is None
