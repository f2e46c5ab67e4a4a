"""Your own digit: pictures prepared as MNIST was made (bounding box 20 px, centred by mass), and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kaggle_digits.data import load_train, sample_dir
from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.handwriting import centre_of_mass, load_digit_picture, prepare

from helpers import photo_of


def test_preparation_follows_the_mnist_recipe(tmp_path):
    train = load_train(sample_dir())
    photo_of(train.images[0], tmp_path / "digit.jpg")
    prepared = load_digit_picture(tmp_path / "digit.jpg").reshape(28, 28)
    assert prepared.dtype == np.uint8 and prepared.max() > 200 and prepared[0].max() == 0  # light ink, dark field
    rows = np.flatnonzero(prepared.max(axis=1) > 25)
    cols = np.flatnonzero(prepared.max(axis=0) > 25)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)  # the longer side 20 px (JPEG edges aside)
    row, col = centre_of_mass(prepared.astype(np.float64))
    assert abs(row - 13.5) <= 0.5 and abs(col - 13.5) <= 0.5


def test_light_on_dark_pictures_are_not_inverted_and_wide_digits_keep_their_aspect():
    grey = np.zeros((50, 200), np.float32)
    grey[20:30, 20:180] = 1.0  # a white bar on black: already MNIST's way round
    prepared = prepare(grey)
    rows = np.flatnonzero(prepared.max(axis=1) > 25)
    cols = np.flatnonzero(prepared.max(axis=0) > 25)
    assert cols[-1] - cols[0] + 1 == 20 and rows[-1] - rows[0] + 1 <= 3  # 160 x 10 → 20 x 1.25


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: p.write_bytes(b"not a picture at all"), "not a picture this tool can read"),
        (lambda p: Image.new("L", (40, 40), 255).save(p, format="PNG"), "no ink found"),
        (lambda p: Image.new("L", (40, 40), 0).save(p, format="PNG"), "no ink found"),
        (lambda p: None, "file not found"),
    ],
)
def test_a_picture_without_a_digit_is_one_line_naming_the_file(tmp_path, write, message):
    path = tmp_path / "scan.png"
    write(path)
    with pytest.raises(KaggleDigitsError, match=message) as error:
        load_digit_picture(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
