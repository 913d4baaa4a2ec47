"""The command-line reference in docs/backend.md names every `flask --app backend …` command the app
registers, and nothing else; the options it shows exist; every command says what it does in --help.
(The check sqlite-utils runs on its CLI docs.) Flask-Migrate's `db` group is documented upstream."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from backend import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "backend.md"
WORD = re.compile(r"[a-z][a-z0-9-]*")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """Leaf commands of the tree, by path ('ledger providers create'), that the backend defines."""
    found: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if isinstance(cmd, click.Group):
            found.update(_commands(cmd, path))
        elif cmd.callback is not None and cmd.callback.__module__.startswith("backend."):
            found[" ".join(path)] = cmd
    return found


def _documented() -> dict[str, str]:
    """Command path -> the first cell of its row in the table under '## Command line'."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"\| `([^`]+)` \|", line)
        if not m:
            continue
        cell = m.group(1)
        words = []
        for token in cell.split():
            if not WORD.fullmatch(token):
                break
            words.append(token)
        path = " ".join(words)
        assert path not in rows, f"{path!r} has two rows"
        rows[path] = cell
    return rows


@pytest.fixture(scope="module")
def commands():
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return _commands(app.cli)


def test_the_docs_list_every_command_and_only_those(commands):
    documented = _documented()
    assert len(commands) > 40, sorted(commands)  # the walk found the tree (platform, ledger, console)
    assert sorted(set(commands) - set(documented)) == [], "registered but not in docs/backend.md"
    assert sorted(set(documented) - set(commands)) == [], "in docs/backend.md but not a command"


def test_documented_options_exist(commands):
    for path, cell in _documented().items():
        options = {opt for p in commands[path].params for opt in getattr(p, "opts", [])}
        shown = set(re.findall(r"--[a-z][a-z-]*", cell))
        assert shown <= options, (path, sorted(shown - options))


def test_every_command_says_what_it_does(commands):
    assert [path for path, cmd in sorted(commands.items()) if not (cmd.help or "").strip()] == []
