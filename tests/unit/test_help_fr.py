"""``scelle --help`` speaks French to every command's reader."""

from __future__ import annotations

from typer.testing import CliRunner

from tools.cli import app
from tools.help_fr import HELP_FR, command_paths


def test_every_command_has_french_help_and_the_table_names_no_missing_command() -> None:
    paths = {path for path, _ in command_paths(app)}
    assert paths == set(HELP_FR)
    for path, info in command_paths(app):
        assert info.help == HELP_FR[path], path


def test_help_shown_to_the_user_is_the_french_text() -> None:
    shown = CliRunner().invoke(app, ["verify", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "Vérifier hors ligne un fichier de preuve." in shown.output
    assert "Check one proof file offline" not in shown.output
