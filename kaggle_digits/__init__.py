"""kaggle-digits: Kaggle's Digit Recognizer from zero to a scored submission, with NumPy networks.

In a notebook: `import kaggle_digits as kd`, then `kd.train(...)`, `kd.load_run(...)`, `kd.runs()`, `kd.submit(...)`
(see kaggle_digits/api.py). On the command line: `kaggle-digits --help`.

The names below load on first use, so the command line can take Ctrl-C from its first instant (terminal/main.py).
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__ as __version__

_FROM = {
    "Run": "api",
    "download": "api",
    "ensemble": "api",
    "load_record": "api",
    "load_run": "api",
    "resume": "api",
    "runs": "api",
    "submit": "api",
    "study": "api",
    "train": "api",
    "tune": "api",
    "ConfigError": "errors",
    "KaggleDigitsError": "errors",
}

__all__ = sorted([*_FROM, "__version__"])


def __getattr__(name: str) -> Any:
    if name not in _FROM:
        raise AttributeError(f"module 'kaggle_digits' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
