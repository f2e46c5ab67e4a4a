"""Checking a downloaded competition zip before anything is extracted."""

import io
import zipfile

import pytest
from kaggle_server import sample_zip_bytes

from kaggle_digits.competition.download import check_zip
from kaggle_digits.errors import KaggleDigitsError


def test_the_sample_archive_passes_with_its_row_counts(tmp_path):
    path = tmp_path / "digit-recognizer.zip"
    path.write_bytes(sample_zip_bytes())
    assert check_zip(path) == {"train.csv": 5000, "test.csv": 1000, "sample_submission.csv": 1000}


def test_a_flipped_byte_inside_a_member_fails_its_checksum(tmp_path):
    path = tmp_path / "digit-recognizer.zip"
    stored = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED)  # uncompressed, so a flipped byte stays parseable
    with stored as bundle, zipfile.ZipFile(io.BytesIO(sample_zip_bytes())) as sample:
        for name in sample.namelist():
            bundle.writestr(name, sample.read(name))
    data = bytearray(path.read_bytes())
    offset = data.index(b"pixel783") + 2000  # well inside train.csv's stored bytes
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(KaggleDigitsError, match=r"not a valid zip archive .*CRC"):
        check_zip(path)


def test_a_zip_without_the_competition_files_is_refused(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("train.csv", "label,pixel0\n1,0\n")
    with pytest.raises(KaggleDigitsError, match=r"train\.csv does not have Kaggle's header"):
        check_zip(path)


def cli(cwd, *args):
    import os
    import subprocess
    import sys
    from pathlib import Path

    home = cwd.parent / f"{cwd.name}-home"  # no credentials anywhere
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE")} | {"HOME": str(home), "COLUMNS": "200"}
    command = [str(Path(sys.executable).with_name("kaggle-digits")), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_download_from_the_websites_zip_or_a_read_only_folder_needs_no_credentials(tmp_path):
    from helpers import tree

    (tmp_path / "digit-recognizer.zip").write_bytes(sample_zip_bytes())
    done = cli(tmp_path, "download", "--from", "digit-recognizer.zip")
    assert done.returncode == 0, done.stderr
    assert "train.csv 5,000 rows, test.csv 1,000 rows" in done.stdout
    files = tree(tmp_path / "data")
    assert sorted(files) == ["sample_submission.csv", "test.csv", "train.csv"]
    notebook_input = tmp_path / "input" / "digit-recognizer"  # as a Kaggle notebook mounts it: read-only
    notebook_input.mkdir(parents=True)
    for name, content in files.items():
        (notebook_input / name).write_bytes(content)
    notebook_input.chmod(0o555)
    done = cli(tmp_path, "download", "--from", str(notebook_input), "--data-dir", "copy")
    assert done.returncode == 0 and tree(tmp_path / "copy") == files, done.stderr
    assert (tmp_path / "digit-recognizer.zip").is_file()  # the user's zip is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "data", "digit-recognizer.zip", "input"]


@pytest.mark.slow
def test_download_from_a_bad_source_is_one_line_and_the_data_folder_is_untouched(tmp_path):
    from helpers import tree

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("old")
    travelling = tmp_path / "travelling.zip"
    with zipfile.ZipFile(travelling, "w") as bundle, zipfile.ZipFile(io.BytesIO(sample_zip_bytes())) as sample:
        for name in sample.namelist():
            bundle.writestr(name, sample.read(name))
        bundle.writestr("../escaped.csv", "label\n")  # a member that would land outside the data folder
    done = cli(tmp_path, "download", "--from", "travelling.zip", "--data-dir", "elsewhere")
    assert done.returncode == 0 and not (tmp_path / "escaped.csv").exists()
    half = tmp_path / "half"
    half.mkdir()
    (half / "train.csv").write_text("label,pixel0\n")
    (tmp_path / "text.zip").write_text("not a zip")
    for source, message in (
        ("half", "half: test.csv, sample_submission.csv missing"),
        ("text.zip", "text.zip: not a valid zip archive"),
        ("nowhere", "nowhere: not found"),
    ):
        done = cli(tmp_path, "download", "--from", source)
        assert done.returncode == 1 and done.stderr.startswith("error: ") and message in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and tree(data) == {"train.csv": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "elsewhere", "half", "text.zip", "travelling.zip"]
