"""The `kaggle-digits` command line: the app with every command registered (parse, call, print)."""

from __future__ import annotations

# isort: off
from . import train_commands  # noqa: F401 (importing a commands module registers its commands, in this order)
from . import kaggle_commands, look_commands  # noqa: F401
from . import blend_command, image_commands, tune_command  # noqa: F401
from .app import app

# isort: on

__all__ = ["app"]
