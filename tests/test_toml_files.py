"""A TOML file a person wrote that is not UTF-8 text (saved as UTF-16, Latin-1, a binary by
mistake) is one clear line naming the file, like a TOML syntax error — never an
"unexpected error" — for the config file, keymap.toml, views.toml and a policy file."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.cli import main
from agent_console.toml_files import TomlFileError, load_toml

NOT_UTF8 = "é = 1\n".encode("latin-1")  # byte 0 is 0xe9: Latin-1, not UTF-8


def test_load_toml_names_the_byte(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'ok = "x"\n' + NOT_UTF8)
    with pytest.raises(TomlFileError, match=r"^not UTF-8 text \(byte 9\)$"):
        load_toml(bad)
    bad.write_text("x = \n", encoding="utf-8")
    with pytest.raises(TomlFileError, match=r"^not valid TOML \("):
        load_toml(bad)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["keymap", "check", "{f}"], "keymap file {f}: not UTF-8 text (byte 0)"),
        (["views", "check", "{f}"], "views file {f}: not UTF-8 text (byte 0)"),
        (["sla", "calendar", "--policy", "{f}"], "bad.toml: not UTF-8 text (byte 0)"),
    ],
)
def test_cli_checks_say_not_utf8(
    capsys, tmp_path: Path, monkeypatch, argv: list[str], name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(NOT_UTF8)
    code = main(["--db", f"sqlite:///{tmp_path / 'd.db'}", *(a.format(f=bad) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert name.format(f=bad) in err
    assert "unexpected error" not in err and "Traceback" not in err


def test_config_file_not_utf8_is_one_line(capsys, tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "config.toml"
    bad.write_bytes(NOT_UTF8)
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG", str(bad))
    code = main(["--db", f"sqlite:///{tmp_path / 'd.db'}", "ticket", "list"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"config file {bad}: not UTF-8 text (byte 0)" in err
    assert "unexpected error" not in err
