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


def png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header claims width × height pixels, with almost no data: a decompression bomb's shape."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)))


@pytest.mark.parametrize("side", [100_000, 20_000])
def test_a_picture_too_large_is_refused_from_its_header_before_decoding(tmp_path, side):
    png_header_only(tmp_path / "bomb.png", side, side)
    with pytest.raises(KaggleDigitsError, match=f"{side:,} × {side:,} pixels; pictures up to 64,000,000 pixels"):
        load_digit_picture(tmp_path / "bomb.png")


def test_a_pipe_or_a_folder_is_refused_without_reading_it(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.png")  # opening it for reading would wait for a writer forever
    for path in (tmp_path / "pipe.png", tmp_path):
        with pytest.raises(KaggleDigitsError, match="not a regular file"):
            load_digit_picture(path)


def digit_in(depth_max: float, dtype) -> np.ndarray:
    """A digit (a bright bar) on a dark field, in the given range and type."""
    image = np.zeros((60, 40), dtype)
    image[10:50, 17:23] = depth_max
    return image


@pytest.mark.parametrize(
    ("name", "image", "mode"),
    [
        ("deep.png", digit_in(60_000, np.uint16), "I;16"),
        ("float.tif", digit_in(0.8, np.float32), "F"),
        ("float-hdr.tif", digit_in(3e4, np.float32), "F"),
        ("int32.tif", digit_in(2**20, np.int32), "I"),
    ],
)
def test_pictures_of_any_bit_depth_are_read_by_their_range(tmp_path, name, image, mode):
    picture = Image.fromarray(image)
    assert picture.mode == mode
    picture.save(tmp_path / name)
    prepared = load_digit_picture(tmp_path / name).reshape(28, 28)
    reference = prepare(digit_in(1.0, np.float32))
    np.testing.assert_array_equal(prepared, reference)


def test_a_large_photo_is_read_reduced_to_the_same_digit(tmp_path):
    train = load_train(sample_dir())
    photo_of(train.images[3], tmp_path / "small.png", scale=3)
    photo_of(train.images[3], tmp_path / "large.jpg", scale=60, offset=(800, 140), size=(3000, 2600))
    small, large = (load_digit_picture(tmp_path / n).astype(int) for n in ("small.png", "large.jpg"))
    assert np.abs(small - large).mean() < 12  # the same digit, resampled differently
