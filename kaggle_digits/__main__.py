"""`python -m kaggle_digits` runs the CLI."""

from .terminal.main import main

main()
