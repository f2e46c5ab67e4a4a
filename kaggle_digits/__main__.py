"""`python -m kaggle_digits` runs the CLI."""

from .cli import app

app(prog_name="kaggle-digits")
