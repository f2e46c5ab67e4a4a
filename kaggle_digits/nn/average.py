"""An exponential moving average of a network's weights (and BatchNorm statistics), scored and kept instead of them.

The average of the last few hundred steps sits nearer the middle of the valley the optimiser rattles around in, so
it usually generalises a little better than the last step's weights, at the cost of one extra pass over the
parameters per step. The decay ramps up as (1 + t) / (10 + t) so that early averages do not remember the random
initialisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from .network import Network


class WeightAverage:
    """avg ← d·avg + (1 − d)·w after every step, for every parameter and buffer of `network`."""

    def __init__(self, network: Network, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"average decay {decay}: use a value in (0, 1), e.g. 0.999")
        self.network, self.decay = network, decay
        self.averaged = network.state()  # key → copy of the live array
        self.live = dict(network.arrays())  # key → the live array itself
        self.scratch = {key: np.empty_like(value) for key, value in self.averaged.items()}

    def update(self, step: int) -> None:
        """Fold the weights after optimiser step `step` (1-based) into the average."""
        d = min(self.decay, (1 + step) / (10 + step))
        for key, avg in self.averaged.items():
            tmp = self.scratch[key]
            np.subtract(self.live[key], avg, out=tmp)  # w - avg
            tmp *= avg.dtype.type(1 - d)
            avg += tmp  # avg + (1 - d)(w - avg) = d·avg + (1 - d)·w

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The network holds the averaged weights inside the block and its own again after it."""
        own = self.network.state()
        self.network.load_state(self.averaged)
        try:
            yield
        finally:
            self.network.load_state(own)

    def state(self) -> dict[str, np.ndarray]:
        return {key: value.copy() for key, value in self.averaged.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for key, value in self.averaged.items():
            if state[key].shape != value.shape:
                raise ValueError(f"averaged {key} has shape {state[key].shape}, expected {value.shape}")
            value[...] = state[key]
