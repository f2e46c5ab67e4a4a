"""The project's one domain exception, and its kind for a bad setting, which names the setting it is about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class KaggleDigitsError(Exception):
    """A failure the user can fix (bad file, missing data, rejected credentials); the CLI prints it and exits 1."""


def shown(value: Any) -> str:
    """A value as a person would type it: 512,256 for a tuple, 0.001 for a float, the text of a string."""
    if isinstance(value, tuple | list):
        return ",".join(shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class _Names(dict):
    def __init__(self, name_of: Callable[[str], str]):
        super().__init__()
        self.name_of = name_of

    def __missing__(self, key: str) -> str:
        return self.name_of(key)


class ConfigError(KaggleDigitsError):
    """A setting that cannot work: the fields concerned with their values, and the fix.

    The library words it with field names (`learning_rate inf: …`); the CLI words the same error with its flags
    (`--lr inf: …`) through `worded`. `fix` may name other fields as `{field}`.
    """

    def __init__(self, fields: dict[str, Any], fix: str):
        self.fields, self.fix = fields, fix
        super().__init__(self.worded(lambda name: name))

    def worded(self, name_of: Callable[[str], str]) -> str:
        """The message with every field named by `name_of` (a flag, or the field itself)."""
        names = []
        for field, value in self.fields.items():
            typed = "" if value is None or isinstance(value, bool) else f" {shown(value)}"
            names.append(f"{name_of(field)}{typed}")
        return f"{' and '.join(names)}: {self.fix.format_map(_Names(name_of))}"
