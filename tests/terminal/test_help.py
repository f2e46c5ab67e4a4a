"""Help and refusals read as written by hand: at 80 columns no command shows a Python type, and a value the parser
refuses is named in our words (the option, the value as typed, what it takes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kaggle_digits.terminal.cli import app

COMMANDS = [c.name for c in app.registered_commands] + [""]
PYTHON_WORDS = re.compile(r"<(str|int|float|path|bool|list|Path|dict)\b|\[\[|\{[A-Z]|\]\]")
CLI = str(Path(sys.executable).with_name("kaggle-digits"))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_at_80_columns_shows_words_not_python_types(runner, command):
    result = runner.invoke(app, [*([command] if command else []), "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert not PYTHON_WORDS.search(result.output), result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "x"], "--epochs x: give a whole number, e.g. 20"),
        (["train", "--lr=fast"], "--lr fast: give a number, e.g. 0.5"),
        (["train", "--preset", "resnet"], "--preset resnet: choose tutorial, mlp, cnn, fast, best, strided or lean"),
        (["runs", "--sort", "size"], "--sort size: choose newest or estimate"),
        (["show", "seven"], "ID seven"),
        (["submissions", "--limit", "1.5"], "--limit 1.5: give a whole number"),
    ],
)
def test_a_value_the_parser_refuses_is_named_in_our_words(args, message):
    done = subprocess.run([CLI, *args], capture_output=True, text=True, env={"COLUMNS": "80", "PATH": ""})
    assert done.returncode == 2 and message in " ".join(done.stderr.split()), done.stderr
    for leak in ("Input should be", "Value error", "))", "Invalid value for"):
        assert leak not in done.stderr


def test_a_run_is_named_with_run_on_every_command_and_the_old_positional_still_works(runner, sample_run):
    for command in (["evaluate"], ["misclassified", "--limit", "2"], ["show", "1"]):
        assert runner.invoke(app, [*command, "--run", str(sample_run)]).exit_code == 0, command
    assert runner.invoke(app, ["evaluate", str(sample_run)]).exit_code == 0  # as 0.2 took it
    both = runner.invoke(app, ["evaluate", str(sample_run), "--run", str(sample_run)])
    assert both.exit_code == 1 and "name one run" in both.stderr
