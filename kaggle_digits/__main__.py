"""`python -m kaggle_digits` runs the CLI."""

from .terminal.cli import app

app(prog_name="kaggle-digits")
