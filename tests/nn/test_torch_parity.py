"""Where PyTorch is installed (`make bench` installs it): a conv/BatchNorm/pool/dense stack gives torch's numbers,
and the one-cycle schedule torch's rates."""

from __future__ import annotations

import numpy as np
import pytest

from kaggle_digits.nn.losses import cross_entropy
from kaggle_digits.nn.network import build_network
from kaggle_digits.nn.optim import learning_rate_at
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.presets import preset_config

torch = pytest.importorskip("torch", reason="PyTorch is not installed (make bench installs it)")


def torch_twin(net):
    """The same layers in torch, float64, holding copies of `net`'s weights."""
    nn = torch.nn
    modules = []
    for layer in net.layers:
        p = layer.params
        if layer.kind in ("conv2d", "strided_conv2d"):
            stride, padding = getattr(layer, "stride", 1), layer.padding
            bias = "b" in p
            conv = nn.Conv2d(
                layer.in_channels, layer.out_channels, layer.k, stride, padding, bias=bias, dtype=torch.float64
            )
            conv.weight.data = torch.tensor(p["W"])
            if bias:
                conv.bias.data = torch.tensor(p["b"])
            modules.append(conv)
        elif layer.kind == "batchnorm":
            bn = nn.BatchNorm2d(layer.channels, eps=layer.eps, momentum=1 - layer.momentum, dtype=torch.float64)
            bn.weight.data, bn.bias.data = torch.tensor(p["gamma"]), torch.tensor(p["beta"])
            modules.append(bn)
        elif layer.kind == "dense":
            dense = nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            dense.weight.data, dense.bias.data = torch.tensor(p["W"].T.copy()), torch.tensor(p["b"])
            modules.append(dense)
        else:
            modules.append({"relu": nn.ReLU(), "maxpool2d": nn.MaxPool2d(2), "flatten": nn.Flatten()}[layer.kind])
    return nn.Sequential(*modules)


@pytest.mark.parametrize(
    "config",
    [
        preset_config("cnn", conv_channels=(4, 6), hidden_sizes=(16,), dropout=0.0),
        preset_config("cnn", conv_channels=(2, 8, 64, 64), hidden_sizes=(16,), dropout=0.0),  # a Winograd layer
        preset_config("strided", conv_channels=(2, 3, 4, 4, 5, 6), hidden_sizes=(16,), dropout=0.0),
        preset_config("lean", conv_channels=(3, 4), hidden_sizes=(16,)),
    ],
    ids=["cnn", "cnn-winograd", "strided", "lean"],
)
def test_forward_gradients_and_running_statistics_match_pytorch(config):
    net = build_network(architecture(config), np.random.default_rng(0), dtype=np.float64)
    twin = torch_twin(net).train()
    rng = np.random.default_rng(1)
    X, y = rng.random((12, 784)), rng.integers(0, 10, 12)

    logits = net.forward(X, training=True)
    net.backward(cross_entropy(logits, y)[1])
    X_t = torch.tensor(X.reshape(12, 1, 28, 28))
    logits_t = twin(X_t)
    torch.nn.functional.cross_entropy(logits_t, torch.tensor(y)).backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    methods = [getattr(layer, "method", None) for layer in net.layers if layer.kind == "conv2d"]
    assert ("winograd" in methods) == (config.conv_channels[-1] >= 64)
    ours = [layer for layer in net.layers if layer.params]
    theirs = [m for m in twin if list(m.parameters())]
    for layer, module in zip(ours, theirs, strict=True):
        names = {
            "conv2d": [("W", "weight")] + ([("b", "bias")] if "b" in layer.params else []),
            "strided_conv2d": [("W", "weight")],
            "batchnorm": [("gamma", "weight"), ("beta", "bias")],
        }
        for mine, torch_name in names.get(layer.kind, [("W", "weight"), ("b", "bias")]):
            expected = getattr(module, torch_name).grad.numpy()
            got = layer.grads[mine].T if layer.kind == "dense" and mine == "W" else layer.grads[mine]
            np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-12, err_msg=f"{layer.kind}.{mine}")
        if layer.kind == "batchnorm":  # (torch's running variance is the unbiased one; ours the biased one)
            np.testing.assert_allclose(layer.buffers["mean"], module.running_mean.numpy(), rtol=1e-9)


@pytest.mark.parametrize("total_steps", [10, 57, 300])
def test_one_cycle_gives_torchs_one_cycle_rates(total_steps):
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([weight], lr=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.01, total_steps=total_steps, cycle_momentum=False
    )
    theirs = []
    for _ in range(total_steps):
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    ours = [learning_rate_at("one-cycle", 0.01, step, total_steps) for step in range(total_steps)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)
