"""The benchmark scripts: the layer profiler times a real training step; the conv variants compute the same thing;
the pseudo-label trial scores its students on the teacher's own folds."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import numpy as np
import pytest
from conv_variants import (
    G,
    stacked_taps,
    weight_grad_collapsed,
    weight_grad_per_image,
    weight_grad_stacked,
    winograd,
)
from profile_layers import profile, report
from pseudo_label_trial import trial
from typer.testing import CliRunner

from kaggle_digits.nn.conv import Conv2D
from kaggle_digits.terminal.cli import app


def test_profile_times_every_layer_of_the_cnn_and_the_report_adds_up():
    started = time.perf_counter()
    layers, seconds, optimizer_seconds = profile("cnn", batch_size=16, steps=2)
    wall = time.perf_counter() - started
    assert [layer.kind for layer in layers][:3] == ["conv2d", "batchnorm", "relu"]
    assert seconds.shape == (len(layers), 2) and seconds.sum() + optimizer_seconds < wall  # warm-up steps not counted
    conv = [i for i, layer in enumerate(layers) if layer.kind == "conv2d"]
    assert [layers[i].method for i in conv] == ["im2col", "shifted", "shifted", "shifted"]
    lines = report(layers, seconds, optimizer_seconds, steps=2, batch_size=16)
    shares = [float(line.split()[-1].rstrip("%")) for line in lines[1:-1]]
    assert len(shares) == len(layers) + 1 and abs(sum(shares) - 100) < 0.5
    step_ms = (seconds.sum() + optimizer_seconds) / 2 * 1e3
    assert lines[-1].startswith(f"step {step_ms:.1f} ms")


@pytest.mark.parametrize(("channels", "filters", "side", "images"), [(3, 4, 10, 5), (2, 3, 8, 17)])
def test_the_timed_conv_variants_agree_with_the_layer(channels, filters, side, images):
    rng = np.random.default_rng(0)
    layer = Conv2D(channels, filters, bias=False, rng=rng, dtype=np.float32)
    X = rng.standard_normal((images, channels, side, side), dtype=np.float32)
    expected = layer.forward(X)
    W = layer.params["W"]
    flat = np.zeros((images, channels, side * side + 2), np.float32)
    flat[:, :, : side * side] = X.reshape(images, channels, -1)
    for run in (
        lambda Y: stacked_taps(flat, W, side, Y),
        lambda Y: winograd(X, np.einsum("ai,fcij,bj->abfc", G, W, G), Y, batch=4),
    ):
        Y = np.full_like(expected, np.nan)
        run(Y)
        np.testing.assert_allclose(Y, expected, rtol=1e-4, atol=1e-4)
    dY = rng.standard_normal(expected.shape).astype(np.float32)  # (n, F, Ho, Wo)
    layer.forward(X, training=True)
    layer.backward(dY)
    dY_wide = np.zeros((images, filters, side - 2, side), np.float32)  # zero in the wrap-around columns
    dY_wide[..., : side - 2] = dY
    for method in (weight_grad_per_image, weight_grad_stacked, weight_grad_collapsed):
        dW = method(flat, dY_wide.reshape(images, filters, -1), side)
        np.testing.assert_allclose(dW, layer.grads["W"], rtol=1e-4, atol=1e-4)


def test_pseudo_label_students_rebuild_the_teachers_folds_and_score_every_row(tmp_path, blob_dir):
    runs = tmp_path / "runs"
    args = ["train", "--data-dir", str(blob_dir), "--preset", "mlp", "--hidden", "16", "--epochs", "2", "--folds", "2"]
    result = CliRunner().invoke(app, [*args, "--runs-dir", str(runs), "--submissions-dir", str(tmp_path / "subs")])
    assert result.exit_code == 0, result.output
    lines = trial(next(runs.iterdir()), blob_dir, threshold=0.5, overrides=["epochs=1"])
    assert len(lines) == 3 and [line[:7] for line in lines[:2]] == ["fold 1:", "fold 2:"]
    added = [int(line.split(", ")[1].split()[0]) for line in lines[:2]]
    assert all(0 <= n <= 50 for n in added)  # at most test.csv's 50 images, those the teacher was sure of
    correct, rows = lines[2].split(" OOF, ")[1].split(" (")[0].split(" of ")
    assert rows == "300" and 0 < int(correct) <= 300
