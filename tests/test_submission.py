"""Submission CSVs are exactly what Kaggle accepts, and refuse anything else."""

import numpy as np
import pytest

from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.submission import read_submission, write_submission


def test_write_then_read_round_trips(tmp_path):
    labels = np.array([3, 0, 9, 1])
    path = write_submission(tmp_path / "sub.csv", labels, n_test=4)
    assert path.read_text() == "ImageId,Label\n1,3\n2,0\n3,9\n4,1\n"
    np.testing.assert_array_equal(read_submission(path, n_test=4), labels)
    assert [p.name for p in tmp_path.iterdir()] == ["sub.csv"]  # no temp file left behind


@pytest.mark.parametrize(
    ("labels", "n_test", "message"),
    [
        (np.array([1, 2, 10]), 3, "labels must be integers 0–9"),
        (np.array([1.5, 2.0]), 2, "labels must be integers 0–9"),
        (np.array([1, 2]), 3, "2 rows but the test set has 3"),
        (np.array([], dtype=int), None, "non-empty"),
    ],
)
def test_writer_refuses_and_leaves_existing_file_alone(tmp_path, labels, n_test, message):
    path = tmp_path / "sub.csv"
    path.write_text("precious")
    with pytest.raises(KaggleDigitsError, match=message):
        write_submission(path, labels, n_test)
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["sub.csv"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("ImageId,Prediction\n1,2\n", "header is 'ImageId,Prediction'"),
        ("ImageId,Label\n", "no rows after the header"),
        ("ImageId,Label\n1,2\n\n2,3\n", "line 3 is blank"),
        ("ImageId,Label\n1,2\n3,3\n", "ImageId 3, expected 2"),
        ("ImageId,Label\n1,2\n1,3\n", "ImageId 1, expected 2"),
        ("ImageId,Label\n1,12\n", "label 12 is not a digit"),
        ("ImageId,Label\n1,-1\n", "expected two integers"),
        ("ImageId,Label\n1,2,3\n", "expected two integers"),
        ("ImageId,Label\n1,2\n2,3\n", "2 rows, but test.csv has 3 images"),
        ("ImageId,Label\n1,²\n", "line 2: expected two integers 'ImageId,Label', got '1,²'"),
        ("ImageId,Label\n1,٣\n", "line 2: expected two integers"),
    ],
)
def test_reader_names_the_problem(tmp_path, text, message):
    path = tmp_path / "sub.csv"
    path.write_text(text)
    with pytest.raises(KaggleDigitsError, match=message):
        read_submission(path, n_test=3)


def test_a_submission_saved_by_a_spreadsheet_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b'\xef\xbb\xbf"ImageId","Label"\r\n1,7\r\n2,0\r\n3,9\r\n')
    np.testing.assert_array_equal(read_submission(path, n_test=3), [7, 0, 9])
