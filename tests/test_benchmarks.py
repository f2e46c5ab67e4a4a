"""The layer profiler behind `make bench` runs a real training step and times every layer."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from profile_layers import profile, report


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
