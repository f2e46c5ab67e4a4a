"""Where a training step goes, layer by layer, beside PyTorch CPU's own time for the same layers and shapes.

Random inputs of the real shape (the arithmetic does not depend on the pixel values), a few warm-up steps, then the
mean over timed steps. NumPy's layers run exactly as in training (batch-parallel, workspaces reused), timed from
outside; a convolution's backward pass is timed whole and once more without the input gradient, so the table splits
it into input gradient (dX) and weight gradient (dW). PyTorch's twin network (the same architecture JSON) is timed
the same way: each layer's forward, then its backward through autograd, and for a convolution the single call
autograd makes (`aten.convolution_backward`) whole and with one output at a time. Each side runs in its own process,
pinned to the same threads, with the same allocator setting; the sides alternate `--rounds` times and the table
shows each cell's median, because this machine's speed drifts between runs.

    python benchmarks/profile_layers.py --preset cnn [--batch-size 128 --steps 20 --rounds 3 --threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

WARMUP = 3


def numpy_profile(preset: str, batch_size: int, steps: int) -> dict:
    """{"layers": [{name, forward, backward, dW?}], "optimizer": ms} per step, this package's layers."""
    from kaggle_digits.nn.losses import cross_entropy
    from kaggle_digits.nn.network import build_network
    from kaggle_digits.nn.optim import Adam
    from kaggle_digits.training.architecture import architecture
    from kaggle_digits.training.presets import preset_config

    rng = np.random.default_rng(0)
    net = build_network(architecture(preset_config(preset)), rng)
    optimizer = Adam(net.parameter_pairs())
    X = rng.random((batch_size, *net.input_shape), dtype=np.float32)  # (B, ...)
    y = rng.integers(0, 10, batch_size)  # (B,)
    seconds = np.zeros((len(net.layers), 3))  # forward, backward, backward without dX
    names, optimizer_seconds = [], 0.0
    for step in range(WARMUP + steps):
        timed = step >= WARMUP
        h, names = X, []
        for i, layer in enumerate(net.layers):
            names.append(layer_name(layer.kind, h.shape, getattr(layer, "method", "")))
            start = time.perf_counter()
            h = layer.forward(h, training=True)
            seconds[i, 0] += (time.perf_counter() - start) * timed
        _, delta = cross_entropy(h, y)
        for i in range(len(net.layers) - 1, -1, -1):
            layer = net.layers[i]
            if layer.kind == "conv2d" and i > 0:  # the weight gradient alone, then the whole backward pass
                start = time.perf_counter()
                layer.backward(delta, need_dX=False)
                seconds[i, 2] += (time.perf_counter() - start) * timed
            start = time.perf_counter()
            delta = layer.backward(delta, need_dX=i > 0)
            seconds[i, 1] += (time.perf_counter() - start) * timed
        start = time.perf_counter()
        optimizer.step(1e-3)
        optimizer_seconds += (time.perf_counter() - start) * timed
    return result(names, seconds / steps * 1e3, optimizer_seconds / steps * 1e3)


def torch_profile(preset: str, batch_size: int, steps: int) -> dict:
    """The same table for PyTorch's twin of the network."""
    import torch
    from bench_train import torch_model

    from kaggle_digits.training.architecture import architecture
    from kaggle_digits.training.presets import preset_config

    torch.manual_seed(0)
    spec = architecture(preset_config(preset))
    net = torch_model(spec)
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    X = torch.rand((batch_size, *spec["input_shape"]))  # (B, ...)
    y = torch.randint(0, 10, (batch_size,))  # (B,)
    seconds = np.zeros((len(net), 3))
    names, optimizer_seconds = [], 0.0
    for step in range(WARMUP + steps):
        timed = step >= WARMUP
        optimizer.zero_grad(set_to_none=True)
        inputs, outputs, h, names = [], [], X, []
        for i, module in enumerate(net):
            x = h.detach().requires_grad_(i > 0)
            names.append(layer_name(spec["layers"][i]["type"], tuple(x.shape), ""))
            start = time.perf_counter()
            h = module(x)
            seconds[i, 0] += (time.perf_counter() - start) * timed
            inputs.append(x)
            outputs.append(h)
        grad = torch.autograd.grad(torch.nn.functional.cross_entropy(h, y), h)[0]
        for i in range(len(net) - 1, -1, -1):
            module, x = net[i], inputs[i]
            params = list(module.parameters())
            if isinstance(module, torch.nn.Conv2d):
                grad, seconds_whole, seconds_dW = conv_backward(module, x, grad, need_dX=i > 0)
                seconds[i, 1] += seconds_whole * timed
                seconds[i, 2] += seconds_dW * timed
                continue
            wanted = ([x] if i > 0 else []) + params
            if not wanted:
                continue
            start = time.perf_counter()
            found = torch.autograd.grad(outputs[i], wanted, grad, retain_graph=True)
            seconds[i, 1] += (time.perf_counter() - start) * timed
            for p, g in zip(params, found[1 if i > 0 else 0 :], strict=True):
                p.grad = g
            grad = found[0] if i > 0 else None
        start = time.perf_counter()
        optimizer.step()
        optimizer_seconds += (time.perf_counter() - start) * timed
    return result(names, seconds / steps * 1e3, optimizer_seconds / steps * 1e3)


def conv_backward(module, x, grad, need_dX: bool):
    """Autograd's one call for a convolution's backward pass, timed whole and with the weight gradient alone."""
    import torch

    has_bias = module.bias is not None
    args = (grad, x, module.weight, [module.out_channels] if has_bias else None, module.stride, module.padding,
            module.dilation, False, [0, 0], module.groups)  # fmt: skip
    start = time.perf_counter()
    torch.ops.aten.convolution_backward(*args, [False, True, has_bias])
    seconds_dW = time.perf_counter() - start
    start = time.perf_counter()
    dX, dW, db = torch.ops.aten.convolution_backward(*args, [need_dX, True, has_bias])
    seconds_whole = time.perf_counter() - start
    module.weight.grad = dW
    if has_bias:
        module.bias.grad = db
    return dX, seconds_whole, seconds_dW if need_dX else 0.0


def layer_name(kind: str, shape: tuple, method: str) -> str:
    """'conv2d 32ch 26x26 shifted': the layer and the input it gets."""
    size = f" {shape[1]}ch {shape[2]}x{shape[3]}" if len(shape) == 4 else f" {shape[1]}"
    return f"{kind}{size} {method}".rstrip()


def result(names: list[str], ms: np.ndarray, optimizer_ms: float) -> dict:
    layers = [
        {"name": n, "forward": f, "backward": b, "dW": w} for n, (f, b, w) in zip(names, ms.tolist(), strict=True)
    ]
    return {"layers": layers, "optimizer": optimizer_ms}


def median_table(runs: list[dict]) -> dict:
    """Each cell's median over the rounds."""
    cells = np.median([[[lay["forward"], lay["backward"], lay["dW"]] for lay in r["layers"]] for r in runs], axis=0)
    names = [lay["name"] for lay in runs[0]["layers"]]
    return result(names, cells, float(np.median([r["optimizer"] for r in runs])))


def report(numpy_side: dict, torch_side: dict | None, batch_size: int) -> list[str]:
    """One line per layer: forward, dX, dW and whole backward ms per step on each side, and the layer's ratio."""
    head = f"{'layer':<28}{'forward':>8}{'dX':>7}{'dW':>7}{'back':>7}"
    lines = [f"{'':<28}{'NumPy ms per step':>29}" + (f"{'PyTorch ms per step':>31}{'ratio':>7}" if torch_side else "")]
    lines.append(head + (f"  {head[28:]}" if torch_side else ""))
    theirs_layers = torch_side["layers"] if torch_side else [None] * len(numpy_side["layers"])
    for i, (mine, theirs) in enumerate(zip(numpy_side["layers"], theirs_layers, strict=True)):
        line = f"{i:>2} {mine['name']:<25}" + cells(mine)
        if theirs is not None:
            ratio = (mine["forward"] + mine["backward"]) / max(theirs["forward"] + theirs["backward"], 1e-9)
            line += "  " + cells(theirs) + f"{ratio:>7.2f}"
        lines.append(line)
    totals = []
    for side in (numpy_side, torch_side):
        if side is not None:
            totals.append(sum(lay["forward"] + lay["backward"] for lay in side["layers"]) + side["optimizer"])
    adam = f"   {'adam':<25}{numpy_side['optimizer']:>29.1f}"
    lines.append(adam + (f"  {torch_side['optimizer']:>29.1f}" if torch_side else ""))
    summary = f"step: NumPy {totals[0]:.1f} ms ({batch_size / totals[0] * 1e3:,.0f} samples/s)"
    if torch_side:
        summary += f", PyTorch {totals[1]:.1f} ms ({batch_size / totals[1] * 1e3:,.0f} samples/s)"
        summary += f", ratio {totals[0] / totals[1]:.2f} (loss and data handling not included)"
    lines.append(summary)
    return lines


def cells(layer: dict) -> str:
    conv = layer["dW"] > 0
    dX = f"{layer['backward'] - layer['dW']:>7.1f}" if conv else f"{'':>7}"
    dW = f"{layer['dW']:>7.1f}" if conv else f"{'':>7}"
    return f"{layer['forward']:>8.1f}{dX}{dW}{layer['backward']:>7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cnn", choices=["mlp", "cnn", "fast", "strided"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each side; medians shown")
    parser.add_argument("--threads", type=int, default=0, help="threads on both sides (0: every available core)")
    parser.add_argument("--worker", choices=["numpy", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from kaggle_digits.allocator import keep_large_allocations

        keep_large_allocations()  # the same allocator setting on both sides
        if args.worker == "torch":
            import torch

            torch.set_num_threads(args.threads)
        profile = numpy_profile if args.worker == "numpy" else torch_profile
        print(json.dumps(profile(args.preset, args.batch_size, args.steps)))
        return
    from kaggle_digits.nn.parallel import cpu_count

    threads = args.threads or cpu_count()
    sides = ["numpy"]
    try:
        import torch

        sides.append("torch")
        versions = f"torch {torch.__version__}"
    except ImportError:
        versions = "torch not installed (pip install torch==2.13.0): NumPy only"
    env = os.environ | {"KAGGLE_DIGITS_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side in sides:
            cmd = [sys.executable, __file__, "--preset", args.preset, "--batch-size", str(args.batch_size),
                   "--steps", str(args.steps), "--threads", str(threads), "--worker", side]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
            runs[side].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{args.preset}, batch {args.batch_size}, {threads} thread(s) on both sides, the same allocator setting; "
          f"median of {args.rounds} alternating rounds of {args.steps} steps; {versions}")  # fmt: skip
    torch_side = median_table(runs["torch"]) if "torch" in runs else None
    print("\n".join(report(median_table(runs["numpy"]), torch_side, args.batch_size)))


if __name__ == "__main__":
    main()
