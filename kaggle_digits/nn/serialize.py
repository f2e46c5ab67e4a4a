"""Networks and ensembles in one pickle-free .npz: weights as arrays, architecture and metadata as JSON."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..constants import N_CLASSES, N_PIXELS
from ..errors import KaggleDigitsError
from ..files import atomic_path
from .network import Ensemble, Model, build_network

FORMAT_VERSION = 1


def save_model(path: str | os.PathLike[str], model: Model, info: dict[str, Any]) -> None:
    """Weights plus architecture(s) and `info` (JSON-able: config, metadata) in one .npz (no pickle), atomically."""
    networks = model.networks if isinstance(model, Ensemble) else [model]
    header = {"format_version": FORMAT_VERSION, "members": [net.spec() for net in networks], **info}
    arrays = {f"member{m}.{key}": value for m, net in enumerate(networks) for key, value in net.state().items()}
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, header=np.array(json.dumps(header)), **arrays)


def load_model(path: str | os.PathLike[str]) -> tuple[Model, dict[str, Any]]:
    """Rebuild a saved network or ensemble and its `info`; a missing, truncated or foreign file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise KaggleDigitsError(f"{path}: model file not found")
    try:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(str(stored["header"]))
            if header.get("format_version") != FORMAT_VERSION:
                raise KaggleDigitsError(f"{path}: unsupported model format {header.get('format_version')!r}")
            networks = []
            for m, spec in enumerate(header["members"]):
                network = build_network(spec, np.random.default_rng(0))
                prefix = f"member{m}."
                network.load_state({k[len(prefix) :]: stored[k] for k in stored.files if k.startswith(prefix)})
                networks.append(network)
        model = networks[0] if len(networks) == 1 else Ensemble(networks)
        proba = model.predict_proba(np.zeros((1, N_PIXELS), np.float32))  # an edited header fails here, not later
        if proba.shape != (1, N_CLASSES):
            raise ValueError(f"it gives {proba.shape[-1]} outputs per image, not {N_CLASSES}")
    except KaggleDigitsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise KaggleDigitsError(f"{path}: not a readable kaggle-digits model ({type(exc).__name__})") from None
    info = {k: v for k, v in header.items() if k not in ("format_version", "members")}
    return model, info
