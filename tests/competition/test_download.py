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
