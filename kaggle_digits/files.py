"""Files the tool writes and reads back: atomic writes that respect the umask, exclusive creation, checked JSON.

Every write goes to a temp file in the destination's folder, then a rename, so no half-written file ever exists;
the temp file is created with mode 0666 and the process umask applies, as for any file a Unix tool creates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import KaggleDigitsError

TEMP_SUFFIX = ".tmp"


def temp_name(target: Path) -> Path:
    """`.name.<random>.tmp` beside `target`: hidden, and recognisable as the tool's own leftover."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], exclusive: bool = False) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success move it onto `path`, on any failure remove it.

    With `exclusive`, an existing `path` is never replaced: FileExistsError is raised and the temp file removed.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(target)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask decides the mode
    except OSError as exc:
        raise KaggleDigitsError(f"{target}: cannot write here ({exc.strerror or exc})") from exc
    try:
        yield tmp
        if exclusive:
            claim(tmp, target)
        else:
            os.replace(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        raise KaggleDigitsError(f"{target}: write failed ({exc.strerror or exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)


def claim(tmp: Path, target: Path) -> None:
    """Move `tmp` to `target` unless `target` exists (FileExistsError): a hard link, or on file systems without
    links an exclusive create, then the rename."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        os.replace(tmp, target)


def temp_folder(parent: Path, prefix: str) -> Path:
    """A new hidden folder in `parent` whose mode follows the umask (tempfile.mkdtemp's is always 0700)."""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            folder.mkdir(mode=0o777)
            return folder
        except FileExistsError:
            continue


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def remove_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temp files a killed process left in `folder` (only names `atomic_path` makes); returns them."""
    removed = []
    for leftover in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed.append(leftover)
    return removed


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_object(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A JSON file that must hold an object; missing, corrupt or another shape is a one-line error naming it."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise KaggleDigitsError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KaggleDigitsError(f"{path}: corrupt JSON; not a {what}") from None
    except OSError as exc:
        raise KaggleDigitsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(values, dict):
        raise KaggleDigitsError(f"{path}: holds a JSON {json_kind(values)}, not a {what}")
    return values


def json_kind(value: Any) -> str:
    """JSON's name for a parsed value's type."""
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)
