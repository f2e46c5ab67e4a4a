"""Atomic writes that respect the umask, exclusive creation, leftovers, and JSON of the wrong shape."""

from __future__ import annotations

import os
import stat

import pytest

from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.files import atomic_path, atomic_write_text, read_json_object, remove_temp_files, temp_folder


@pytest.fixture
def umask():
    """Set the process umask for one test, then put the old one back."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == mode
    assert stat.S_IMODE(temp_folder(tmp_path, ".d").stat().st_mode) == 0o777 & ~mask


def test_an_exclusive_write_never_replaces_an_existing_file(tmp_path):
    target = tmp_path / "run.csv"
    target.write_text("another run's predictions")
    with pytest.raises(FileExistsError), atomic_path(target, exclusive=True) as tmp:
        tmp.write_text("mine")
    assert target.read_text() == "another run's predictions"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv"]  # no temp file left
    with atomic_path(tmp_path / "new.csv", exclusive=True) as tmp:
        tmp.write_text("mine")
    assert (tmp_path / "new.csv").read_text() == "mine"


def test_a_failed_write_leaves_nothing_and_leftovers_of_a_killed_process_are_removed(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "m.npz") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".checkpoint.npz.1a2b3c4d.tmp").write_text("half a checkpoint")
    (tmp_path / "keep.tmp").write_text("not ours: no leading dot")
    assert [p.name for p in remove_temp_files(tmp_path)] == [".checkpoint.npz.1a2b3c4d.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.tmp"]


@pytest.mark.parametrize(("text", "kind"), [("[]", "array"), ("42", "number"), ("null", "null"), ('"x"', "string")])
def test_json_of_another_shape_is_one_line_naming_the_file(tmp_path, text, kind):
    (tmp_path / "metrics.json").write_text(text)
    with pytest.raises(KaggleDigitsError, match=rf"metrics.json: holds a JSON {kind}, not a run record$"):
        read_json_object(tmp_path / "metrics.json", "run record")


def test_json_with_a_bom_is_read(tmp_path):
    (tmp_path / "k.json").write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert read_json_object(tmp_path / "k.json", "table") == {"a": 1}
