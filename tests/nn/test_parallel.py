"""Batch-parallel kernels: chunking, and whole-network results that do not depend on the worker count."""

import itertools
import threading
import time

import numpy as np
import pytest

from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.nn import parallel
from kaggle_digits.nn.losses import cross_entropy
from kaggle_digits.nn.network import build_network
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.presets import preset_config


@pytest.mark.parametrize(("n", "parts"), [(10, 2), (7, 3), (128, 2), (3, 5)])
def test_chunks_cover_the_batch_in_order_with_balanced_sizes(n, parts):
    pieces = parallel.chunks(n, parts)
    assert [i for s in pieces for i in range(s.start, s.stop)] == list(range(n))
    sizes = [s.stop - s.start for s in pieces]
    assert max(sizes) - min(sizes) <= 1 and len(pieces) == min(n, parts)


needs_blas_setter = pytest.mark.skipif(
    parallel._blas_local_threads() is None,
    reason="this NumPy's BLAS has no OpenBLAS thread-count setter, so map_batch runs every job on one thread",
)


@pytest.fixture(autouse=True)
def split_even_tiny_jobs(monkeypatch):
    """The tests' batches are small: let every job be split, so the threaded path runs."""
    monkeypatch.setattr(parallel, "MIN_WORK", 0)


@needs_blas_setter
def test_map_batch_returns_each_chunks_result_in_order(monkeypatch):
    monkeypatch.setenv("KAGGLE_DIGITS_THREADS", "3")
    seen = parallel.map_batch(lambda rows: (rows.start, rows.stop), 48, work=1)
    assert len(seen) == 3 and seen[0][0] == 0 and seen[-1][1] == 48
    assert all(a[1] == b[0] for a, b in itertools.pairwise(seen))


@needs_blas_setter
def test_small_jobs_stay_on_the_calling_thread(monkeypatch):
    monkeypatch.setenv("KAGGLE_DIGITS_THREADS", "2")
    monkeypatch.setattr(parallel, "MIN_WORK", 1000)
    threads = parallel.map_batch(lambda rows: threading.current_thread(), 64, work=999)
    assert threads == [threading.current_thread()]
    assert len(parallel.map_batch(lambda rows: rows, 64, work=1000)) == 2


@needs_blas_setter
def test_once_a_batch_is_split_every_gemm_runs_on_one_blas_thread(monkeypatch):
    monkeypatch.setenv("KAGGLE_DIGITS_THREADS", "2")
    setter = parallel._blas_local_threads()
    parallel.hold_blas_to_one_thread.cache_clear()  # as in a fresh process: OpenBLAS on its default threads
    setter(2)
    seen = []

    def kernel(rows: slice) -> None:
        if rows.start:
            time.sleep(0.1)  # the pool's chunk ends after the caller's own
        current = setter(1)  # OpenBLAS's count is process-wide: what every thread sees, whoever set it
        setter(current)
        seen.append(current)

    parallel.map_batch(lambda rows: rows, 64, parallel.MIN_WORK, gemm=False)
    assert setter(2) == 2  # a split without GEMMs (the training warp) leaves OpenBLAS's threads to the dense layers
    parallel.map_batch(kernel, 64, parallel.MIN_WORK)
    assert seen == [1, 1]
    assert setter(1) == 1  # and it stays so between kernels: OpenBLAS's spinning threads never come back


def _step(threads: str, monkeypatch) -> tuple[np.ndarray, list[np.ndarray]]:
    monkeypatch.setenv("KAGGLE_DIGITS_THREADS", threads)
    config = preset_config("cnn", conv_channels=(4, 8, 8, 8), hidden_sizes=(16,), dropout=0.0)
    net = build_network(architecture(config), np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    X, y = rng.random((40, 784)), rng.integers(0, 10, 40)
    logits = net.forward(X, training=True)
    net.backward(cross_entropy(logits, y)[1])
    return logits, [g.copy() for _, g in net.parameter_pairs()]


@needs_blas_setter
def test_a_training_step_gives_the_same_logits_and_gradients_on_one_thread_or_several(monkeypatch):
    logits_1, grads_1 = _step("1", monkeypatch)
    logits_n, grads_n = _step("4", monkeypatch)
    np.testing.assert_allclose(logits_n, logits_1, rtol=1e-12)
    for g_n, g_1 in zip(grads_n, grads_1, strict=True):
        np.testing.assert_allclose(g_n, g_1, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_count_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("KAGGLE_DIGITS_THREADS", value)
    with pytest.raises(KaggleDigitsError, match="KAGGLE_DIGITS_THREADS"):
        parallel.map_batch(lambda rows: rows, 64, work=1)
