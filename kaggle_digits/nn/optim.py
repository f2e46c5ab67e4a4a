"""Optimisers that update parameters in place from gradients, and learning-rate schedules."""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("gd", "momentum", "adam")
ADAM_BETAS = (0.9, 0.999)  # Kingma & Ba's decays of the two moment averages
SCHEDULES = ("constant", "cosine", "one-cycle")
ONE_CYCLE_RISE = 0.3  # share of the steps spent rising (torch OneCycleLR's pct_start)
ONE_CYCLE_START = 25.0  # the rise starts at peak / 25 (div_factor)
ONE_CYCLE_END = 1e4  # and the fall ends at start / 1e4 (final_div_factor)


class Optimizer:
    """Holds (param, grad) pairs; `step(lr)` updates every param in place."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], weight_decay: float = 0.0):
        self.pairs = pairs
        self.weight_decay = weight_decay

    def step(self, lr: float) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every moment buffer and counter, so a resumed run continues exactly (see `load_state`)."""
        return {key: np.array(value, copy=True) for key, value in self._buffers().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what `state` returned, in place (the parameter pairs stay the same arrays)."""
        for key, value in self._buffers().items():
            if state[key].shape != value.shape:
                raise ValueError(f"optimiser state {key} has shape {state[key].shape}, expected {value.shape}")
            value[...] = state[key]

    def _buffers(self) -> dict[str, np.ndarray]:
        return {}


class GradientDescent(Optimizer):
    """Plain gradient descent, or heavy-ball momentum when `momentum` > 0; L2 weight decay on matrices."""

    def __init__(self, pairs, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(pairs, weight_decay)
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p, _ in pairs] if momentum else []

    def _buffers(self):
        return {f"velocity{i}": v for i, v in enumerate(self.velocity)}

    def step(self, lr):
        for i, (p, g) in enumerate(self.pairs):
            update = g + self.weight_decay * p if self.weight_decay and p.ndim > 1 else g
            if self.momentum:
                v = self.velocity[i]
                v *= self.momentum
                v += update
                update = v
            p -= p.dtype.type(lr) * update


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight decay is decoupled (AdamW) and skips biases."""

    def __init__(self, pairs, beta1: float = ADAM_BETAS[0], beta2: float = ADAM_BETAS[1], eps=1e-8, weight_decay=0.0):
        super().__init__(pairs, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p, _ in pairs]
        self.v = [np.zeros_like(p) for p, _ in pairs]
        self.scratch = [np.empty_like(p) for p, _ in pairs]
        self.t = np.zeros((), np.int64)  # steps taken, an array so that state() and load_state() treat it alike

    def _buffers(self):
        return {"t": self.t} | {f"m{i}": m for i, m in enumerate(self.m)} | {f"v{i}": v for i, v in enumerate(self.v)}

    def step(self, lr):
        self.t += 1
        t = int(self.t)
        step_size = lr * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        for (p, g), m, v, tmp in zip(self.pairs, self.m, self.v, self.scratch, strict=True):
            kind = p.dtype.type
            np.multiply(g, kind(1 - self.beta1), out=tmp)
            m *= kind(self.beta1)
            m += tmp  # m = b1 m + (1 - b1) g
            np.multiply(g, g, out=tmp)
            tmp *= kind(1 - self.beta2)
            v *= kind(self.beta2)
            v += tmp  # v = b2 v + (1 - b2) g^2
            if self.weight_decay and p.ndim > 1:
                p *= kind(1 - lr * self.weight_decay)
            np.sqrt(v, out=tmp)
            tmp += kind(self.eps)
            np.divide(m, tmp, out=tmp)
            tmp *= kind(step_size)
            p -= tmp  # p -= step * m / (sqrt(v) + eps), in place without temporaries


def make_optimizer(
    name: str, pairs, momentum: float = 0.9, weight_decay: float = 0.0, betas: tuple[float, float] = ADAM_BETAS
) -> Optimizer:
    """Build an optimiser by its preset name (`betas` are Adam's moment decays)."""
    if name == "gd":
        return GradientDescent(pairs, momentum=0.0, weight_decay=weight_decay)
    if name == "momentum":
        return GradientDescent(pairs, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return Adam(pairs, beta1=betas[0], beta2=betas[1], weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def cosine_between(start: float, end: float, progress: float) -> float:
    """From `start` (progress 0) to `end` (progress 1) along half a cosine."""
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def learning_rate_at(schedule: str, base: float, step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """Learning rate for 0-based `step`: constant; linear warm-up then cosine decay to zero; or one-cycle
    (Smith's super-convergence as torch's OneCycleLR draws it: a cosine rise from base / 25 to `base` over the first
    30 % of the steps, then a cosine fall to base / 250,000)."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        if step < warmup_steps:
            return base * (step + 1) / warmup_steps
        return cosine_between(base, 0.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    if schedule == "one-cycle":
        start = base / ONE_CYCLE_START
        peak_step = ONE_CYCLE_RISE * total_steps - 1
        if step <= peak_step:
            return cosine_between(start, base, step / peak_step if peak_step > 0 else 1.0)
        return cosine_between(base, start / ONE_CYCLE_END, (step - peak_step) / (total_steps - 1 - peak_step))
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
