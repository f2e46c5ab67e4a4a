"""Reading Kaggle's CSVs: values, the .npz cache and its invalidation, the sample, the stratified split."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kaggle_digits.data import load_test, load_train, parse_digits_csv, sample_dir, split_dev
from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.training.presets import preset_config

from helpers import blob_digits, write_csv


def test_train_and_test_files_parse_to_uint8_images_and_labels(blob_dir):
    train, test = load_train(blob_dir), load_test(blob_dir)
    assert train.images.shape == (300, 784) and train.images.dtype == np.uint8
    assert test.images.shape == (50, 784) and test.labels is None
    np.testing.assert_array_equal(train.labels, np.arange(300) % 10)
    features = train.features(np.array([0, 1]))
    assert features.dtype == np.float32 and features.min() >= 0 and features.max() == 1.0


def test_cache_is_written_reused_and_invalidated_when_the_csv_changes(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = blob_digits(20, rng)
    csv = write_csv(tmp_path / "train.csv", images, labels)
    first = load_train(tmp_path)
    cache = tmp_path / "train.csv.cache.npz"
    assert cache.is_file()
    cache_mtime = cache.stat().st_mtime_ns
    second = load_train(tmp_path)
    assert cache.stat().st_mtime_ns == cache_mtime  # read, not rewritten
    np.testing.assert_array_equal(first.images, second.images)
    assert first.fingerprint == second.fingerprint

    images[0, 0] = 123
    write_csv(csv, images, (labels + 1) % 10)
    os.utime(csv, ns=(cache_mtime + 10**9, cache_mtime + 10**9))
    third = load_train(tmp_path)
    assert third.images[0, 0] == 123 and third.labels[0] == (labels[0] + 1) % 10
    assert third.fingerprint != first.fingerprint


def test_a_corrupt_cache_is_ignored_and_replaced(tmp_path):
    images, labels = blob_digits(10, np.random.default_rng(1))
    write_csv(tmp_path / "train.csv", images, labels)
    (tmp_path / "train.csv.cache.npz").write_bytes(b"not a zip")
    np.testing.assert_array_equal(load_train(tmp_path).images, images)


def test_bundled_sample_has_kaggle_shape():
    folder = sample_dir()
    train, test = load_train(folder), load_test(folder)
    assert train.images.shape == (5000, 784) and test.images.shape == (1000, 784)
    assert set(np.unique(train.labels)) == set(range(10))
    assert (folder / "sample_submission.csv").read_text().startswith("ImageId,Label\n1,0\n")


def test_parser_names_line_and_column(tmp_path):
    images, labels = blob_digits(5, np.random.default_rng(2))
    path = write_csv(tmp_path / "train.csv", images, labels)
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[8] = "7.5"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KaggleDigitsError, match=r"train.csv: line 4, column pixel7: pixel value 7.5 is not an integer"):
        parse_digits_csv(path, labelled=True)


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(10), [100, 120, 80, 90, 110, 95, 105, 100, 100, 100])
    train, dev = split_dev(labels, 0.1, np.random.default_rng(0))
    assert len(dev) == 100 and len(train) == len(labels) - 100
    assert not set(train) & set(dev)
    counts = np.bincount(labels[dev], minlength=10)
    expected = np.bincount(labels, minlength=10) * 0.1
    assert np.abs(counts - expected).max() <= 1
    again = split_dev(labels, 0.1, np.random.default_rng(0))
    np.testing.assert_array_equal(dev, again[1])
    np.testing.assert_array_equal(train, again[0])
    assert len(split_dev(labels, 250, np.random.default_rng(1))[1]) == 250


@pytest.mark.parametrize("bad", [-0.1, 1.5, 2000.0, float("nan"), 1.0])
def test_a_dev_size_outside_the_rule_is_refused_by_the_config(bad):
    with pytest.raises(KaggleDigitsError, match=r"^dev_size .*: use a fraction strictly between 0 and 1"):
        preset_config("mlp", dev_size=bad)


@pytest.mark.parametrize("bad", [1000, 2000, 999, 995, 3])
def test_a_dev_size_outside_the_bounds_the_split_applies_is_refused_naming_those_bounds(bad):
    import re

    labels = np.arange(1000) % 10
    labels[:8] = 3  # a rarer digit or two, so the bounds are not round numbers
    with pytest.raises(KaggleDigitsError) as refused:
        split_dev(labels, bad, np.random.default_rng(0))
    low, high = (
        int(v.replace(",", "")) for v in re.search(r"or ([\d,]+) to ([\d,]+) rows", str(refused.value)).groups()
    )
    assert str(refused.value).startswith(f"dev_size {bad}: gives {bad:,} dev rows")
    for fine in (low, high):
        assert len(split_dev(labels, fine, np.random.default_rng(0))[1]) == fine
    for outside in (low - 1, high + 1):
        with pytest.raises(KaggleDigitsError):
            split_dev(labels, outside, np.random.default_rng(0))


def test_a_bom_and_crlf_as_spreadsheets_save_are_read(blob_dir, tmp_path):
    plain = load_train(blob_dir)
    excel = tmp_path / "excel"
    excel.mkdir()
    for name in ("train.csv", "test.csv"):
        text = (blob_dir / name).read_bytes().replace(b"\n", b"\r\n")
        (excel / name).write_bytes(b"\xef\xbb\xbf" + text)
    saved = load_train(excel)
    np.testing.assert_array_equal(saved.images, plain.images)
    np.testing.assert_array_equal(saved.labels, plain.labels)
    assert saved.fingerprint == plain.fingerprint  # the same digits, whatever the dialect
    np.testing.assert_array_equal(load_test(excel).images, load_test(blob_dir).images)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: raw.replace(b"\n", b"\n\xff", 3), r"train.csv: line 2: byte 0xff is not UTF-8 text"),
        (lambda raw: b"\xff\xfe" + raw.decode().encode("utf-16-le"), "saved as UTF-16 text"),
        (lambda raw: raw.replace(b",", b";"), "columns are separated by ';'"),
    ],
)
def test_text_that_is_not_a_utf8_csv_is_one_line_naming_the_line(blob_dir, damage, message):
    path = blob_dir / "train.csv"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(KaggleDigitsError, match=message):
        load_train(blob_dir)


def test_the_cache_follows_the_content_even_when_size_and_mtime_stay(blob_dir):
    path = blob_dir / "train.csv"
    first = load_train(blob_dir)
    stamp = path.stat()
    raw = path.read_bytes()
    line_end = raw.index(b"\n") + 1
    swapped = raw[:line_end] + (b"7" if raw[line_end : line_end + 1] != b"7" else b"8") + raw[line_end + 1 :]
    path.write_bytes(swapped)  # one label changed: same size
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # and the same mtime
    assert path.stat().st_size == stamp.st_size and path.stat().st_mtime_ns == stamp.st_mtime_ns
    second = load_train(blob_dir)
    assert second.labels[0] != first.labels[0] and second.fingerprint != first.fingerprint


def test_a_digit_missing_or_rare_in_train_csv_is_named_in_a_warning(tmp_path):
    from kaggle_digits.data import thin_digits

    rng = np.random.default_rng(0)
    images, labels = blob_digits(1000, rng)
    keep = (labels != 7) & ((labels != 2) | (np.arange(1000) < 25))  # no 7, three 2s
    write_csv(tmp_path / "train.csv", images[keep], labels[keep])
    warning = thin_digits(load_train(tmp_path))
    assert warning == (
        f"warning: {tmp_path / 'train.csv'}: no rows of digit 7 and few rows of digit 2 (3) among 803; the model "
        "will rarely predict them"
    )
    write_csv(tmp_path / "train.csv", images, labels)
    assert thin_digits(load_train(tmp_path)) is None
