"""The training loop: loss falls, accuracy clears a bar, runs are reproducible, best weights and Ctrl-C kept."""

import numpy as np
import pytest

from kaggle_digits.data import load_train, sample_dir
from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.nn.network import build_network
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.fit import Split, Trainer, evaluate, fit
from kaggle_digits.training.presets import preset_config

from helpers import blob_digits


def blob_split(n_train=400, n_dev=100):
    rng = np.random.default_rng(0)
    images, labels = blob_digits(n_train + n_dev, rng)
    X = images.astype(np.float32) / 255
    return X[:n_train], labels[:n_train], X[n_train:], labels[n_train:]


def train_blobs(seed=0, **overrides):
    config = preset_config("mlp", hidden_sizes=(32,), epochs=5, batch_size=32, augment=False, seed=seed).replace(
        **overrides
    )
    net = build_network(architecture(config), np.random.default_rng(seed))
    result = fit(net, *blob_split(), config, np.random.default_rng(seed + 1))
    return net, result


def test_loss_falls_and_dev_accuracy_clears_the_bar():
    net, result = train_blobs(epochs=10)
    losses = [r.loss for r in result.history]
    assert losses[-1] < losses[0] / 5
    assert result.last_accuracy >= 0.95
    assert evaluate(net, *blob_split()[2:])[1] == result.last_accuracy  # the network holds the last weights


def test_keep_best_ends_with_the_best_epochs_weights():
    net, result = train_blobs(epochs=6, keep="best", learning_rate=0.05)
    accuracies = [r.dev_accuracy for r in result.history]
    assert result.best_accuracy == max(accuracies) and result.best_epoch == accuracies.index(max(accuracies)) + 1
    assert evaluate(net, *blob_split()[2:])[1] == result.best_accuracy


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not():
    a, _ = train_blobs(seed=3, dropout=0.2)
    b, _ = train_blobs(seed=3, dropout=0.2)
    c, _ = train_blobs(seed=4, dropout=0.2)
    for (pa, _), (pb, _) in zip(a.parameter_pairs(), b.parameter_pairs(), strict=True):
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(a.parameter_pairs()[0][0], c.parameter_pairs()[0][0])


def test_tutorial_full_batch_gradient_descent_learns_and_evaluates_every_10_iterations():
    config = preset_config("tutorial", epochs=60)
    net = build_network(architecture(config), np.random.default_rng(0))
    result = fit(net, *blob_split(), config, np.random.default_rng(1))
    assert [r.epoch for r in result.history] == [10, 20, 30, 40, 50, 60]
    assert result.history[-1].loss < result.history[0].loss


def test_an_interrupt_propagates_and_the_state_holds_the_last_finished_epoch():
    saved = []

    def interrupt(event):
        if event.step == 40:
            raise KeyboardInterrupt

    config = preset_config("mlp", hidden_sizes=(32,), epochs=50, batch_size=32, augment=False)
    net = build_network(architecture(config), np.random.default_rng(0))
    trainer = Trainer(net, Split(*blob_split()), config, np.random.default_rng(1), on_event=interrupt)
    trainer.on_epoch = lambda t: saved.append(t.state.epoch)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert saved == [1, 2, 3] and trainer.state.epoch == 3 and len(trainer.state.history) == 3  # 13 steps an epoch


def test_final_fit_without_dev_rows_trains_and_records_no_accuracy():
    X, y, _, _ = blob_split()
    config = preset_config("mlp", hidden_sizes=(16,), epochs=2, batch_size=50, augment=False)
    net = build_network(architecture(config), np.random.default_rng(0))
    state = fit(net, X, y, X[:0], y[:0], config, np.random.default_rng(1))
    assert state.epoch == 2 and all(np.isnan(r.dev_accuracy) for r in state.history)
    assert state.history[-1].train_accuracy > 0.5


def test_divergence_is_reported_with_the_fix():
    config = preset_config("tutorial", epochs=20, learning_rate=1e30)
    net = build_network(architecture(config), np.random.default_rng(0))
    with pytest.raises(
        KaggleDigitsError, match=r"^learning_rate 1e\+30: training diverged at iteration \d+ .*use a lower rate"
    ):
        fit(net, *blob_split(), config, np.random.default_rng(1))


def test_progress_events_cover_every_step_and_each_evaluation():
    events = []
    config = preset_config("mlp", hidden_sizes=(16,), epochs=2, batch_size=100, augment=False)
    net = build_network(architecture(config), np.random.default_rng(0))
    fit(net, *blob_split(), config, np.random.default_rng(1), callback=events.append)
    steps = [e.step for e in events if e.record is None]
    assert steps == list(range(1, 9)) and events[-1].total_steps == 8
    assert [e.record.epoch for e in events if e.record is not None] == [1, 2]
    assert all(e.samples_per_s > 0 for e in events)


@pytest.mark.slow
def test_mlp_preset_reaches_090_on_the_bundled_sample():
    train = load_train(sample_dir())
    X, y = train.features(), train.labels
    config = preset_config("mlp", epochs=8)
    net = build_network(architecture(config), np.random.default_rng(0))
    result = fit(net, X[:4500], y[:4500], X[4500:], y[4500:], config, np.random.default_rng(1))
    assert result.last_accuracy >= 0.90
