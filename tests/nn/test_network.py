"""Networks from configs, and model files that round-trip without pickle and refuse corruption."""

import json

import numpy as np
import pytest

from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.nn.network import Ensemble, build_network
from kaggle_digits.nn.serialize import load_model, save_model
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.config import TrainConfig
from kaggle_digits.training.presets import PRESETS, preset_config


def test_tutorial_preset_is_the_seed_network():
    config = PRESETS["tutorial"]
    net = build_network(architecture(config), np.random.default_rng(0))
    shapes = [p.shape for p, _ in net.parameter_pairs()]
    assert shapes == [(784, 10), (10,), (10, 10), (10,)]
    for p, _ in net.parameter_pairs():  # uniform [-0.5, 0.5) weights and biases, as in the seed
        assert p.min() >= -0.5 and p.max() < 0.5
    assert (config.optimizer, config.learning_rate, config.epochs, config.batch_size) == ("gd", 0.1, 500, 0)


def test_mlp_architecture_follows_hidden_sizes_and_dropout():
    spec = architecture(preset_config("mlp", hidden_sizes=(64, 32), dropout=0.3))
    kinds = [layer["type"] for layer in spec["layers"]]
    assert kinds == ["dense", "relu", "dropout", "dense", "relu", "dropout", "dense"]
    assert spec["layers"][-1]["n_out"] == 10 and spec["layers"][3]["n_in"] == 64


def test_save_and_load_round_trip_gives_identical_predictions(tmp_path):
    config = preset_config("mlp", hidden_sizes=(32,))
    net = build_network(architecture(config), np.random.default_rng(1))
    X = np.random.default_rng(2).random((7, 784), dtype=np.float32)
    save_model(tmp_path / "model.npz", net, {"config": config.to_dict(), "meta": {"dev_accuracy": 0.5}})
    loaded, info = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert TrainConfig.from_dict(info["config"]) == config and info["meta"] == {"dev_accuracy": 0.5}
    with np.load(tmp_path / "model.npz", allow_pickle=False) as stored:  # plain arrays and a JSON header only
        header = json.loads(str(stored["header"]))
        assert header["members"][0]["layers"][0] == {"type": "dense", "n_in": 784, "n_out": 32, "init": "he"}
        assert all(stored[k].dtype != object for k in stored.files)


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated"])
def test_corrupt_model_files_are_one_line_errors(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(KaggleDigitsError, match="not a readable kaggle-digits model"):
        load_model(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(KaggleDigitsError, match="model file not found"):
        load_model(tmp_path / "nope.npz")


def test_predict_proba_is_batched_and_normalised():
    net = build_network(architecture(preset_config("mlp", hidden_sizes=(16,))), np.random.default_rng(0))
    X = np.random.default_rng(1).random((10, 784), dtype=np.float32)
    full = net.predict_proba(X)
    np.testing.assert_allclose(full.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(net.predict_proba(X, batch_size=3), full, rtol=1e-5, atol=1e-7)


def test_bad_overrides_name_the_value_and_the_fix():
    with pytest.raises(KaggleDigitsError, match=r"^learning_rate -1: use a finite rate > 0"):
        preset_config("mlp", learning_rate=-1.0)
    with pytest.raises(KaggleDigitsError, match=r"^preset cnnn: unknown preset; choose one of tutorial, mlp"):
        preset_config("cnnn")
    with pytest.raises(KaggleDigitsError, match=r"^dropout 1: use a rate in \[0, 1\)"):
        preset_config("mlp", dropout=1.0)
    with pytest.raises(KaggleDigitsError, match=r"^elastic 20: works with augment only"):
        preset_config("mlp", augment=False, elastic=20.0)


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("cnn", {"adam_betas": (0.9, 1.0)}, r"^adam_betas 0.9,1: give two decays in \[0, 1\)"),
        ("cnn", {"optimizer": "momentum", "adam_betas": (0.7, 0.9)}, "only adam has betas"),
        ("cnn", {"schedule": "one-cycle", "warmup_epochs": 1.0}, r"^schedule one-cycle and warmup_epochs 1: one-cycle"),
        ("mlp", {"pool_every": 1}, "only the cnn architecture takes these"),
        ("cnn", {"first_kernel": 4}, r"^first_kernel 4: use 3, 5 or 7"),
        ("cnn", {"pool_every": 1}, "the feature map shrinks below one pixel"),
        ("cnn", {"conv_channels": ()}, "a cnn takes 2 or 4 channel counts"),
        ("lean", {"first_kernel": 7, "conv_channels": (8, 8, 8, 8)}, "the feature map shrinks below one pixel"),
    ],
)
def test_the_recipe_knobs_refuse_what_they_cannot_mean(preset, overrides, message):
    with pytest.raises(KaggleDigitsError, match=message):
        preset_config(preset, **overrides)


def test_choosing_another_schedule_drops_the_presets_cosine_warm_up():
    assert preset_config("cnn").warmup_epochs == 1.0
    assert preset_config("cnn", schedule="one-cycle").warmup_epochs == 0.0
    assert preset_config("mlp", schedule="constant").warmup_epochs == 0.0
    assert preset_config("mlp", schedule="cosine").warmup_epochs == 0.5


def test_ensemble_averages_members_and_round_trips(tmp_path):
    config = preset_config("cnn", conv_channels=(2, 2), hidden_sizes=(8,))
    members = [build_network(architecture(config), np.random.default_rng(seed)) for seed in (1, 2, 3)]
    ensemble = Ensemble(members)
    X = np.random.default_rng(4).random((5, 784), dtype=np.float32)
    expected = np.mean([m.predict_proba(X) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(X), expected, rtol=1e-6)
    save_model(tmp_path / "model.npz", ensemble, {})
    loaded, _ = load_model(tmp_path / "model.npz")
    assert isinstance(loaded, Ensemble) and len(loaded.networks) == 3
    np.testing.assert_array_equal(loaded.predict_proba(X), ensemble.predict_proba(X))
    assert loaded.n_parameters == 3 * members[0].n_parameters


def test_batchnorm_running_statistics_are_saved(tmp_path):
    config = preset_config("cnn", conv_channels=(2, 2), hidden_sizes=(8,))
    net = build_network(architecture(config), np.random.default_rng(0))
    net.forward(np.random.default_rng(1).random((16, 784), dtype=np.float32), training=True)
    save_model(tmp_path / "model.npz", net, {})
    loaded, _ = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.layers[1].buffers["mean"], net.layers[1].buffers["mean"])
    assert net.layers[1].buffers["mean"].any()
