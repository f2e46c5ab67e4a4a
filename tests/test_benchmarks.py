"""The layer profiler behind `make bench` runs a real training step and times every layer."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from profile_layers import profile


def test_profile_times_every_layer_of_the_cnn_forward_and_backward():
    layers, seconds, optimizer_seconds = profile("cnn", batch_size=16, steps=1)
    assert [layer.kind for layer in layers][:3] == ["conv2d", "batchnorm", "relu"]
    assert seconds.shape == (len(layers), 2)
    conv = [i for i, layer in enumerate(layers) if layer.kind == "conv2d"]
    assert (seconds[conv] > 0).all() and optimizer_seconds > 0
    assert [layers[i].method for i in conv] == ["im2col", "shifted", "shifted", "shifted"]
