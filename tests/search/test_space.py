"""The knobs `tune` searches: every range inside what `train` accepts, `--param` parsed and refused in one line."""

from __future__ import annotations

import pytest

from kaggle_digits.errors import ConfigError
from kaggle_digits.search.space import describe_space, knobs_for, parse_params, settings
from kaggle_digits.training.config import FIELD_RULES, SEARCH_SPACE
from kaggle_digits.training.presets import PRESETS, preset_config


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_range_end_is_a_value_train_accepts(preset):
    config = preset_config(preset)
    for name in knobs_for(config):
        knob = SEARCH_SPACE[name]
        for value in knob.choices or (knob.low, knob.high):
            value = int(value) if knob.whole else value
            config.replace(**settings(config, {name: value})).check()  # the field rule and the checks across fields


def test_each_knob_names_a_field_with_a_rule_or_scales_layer_sizes():
    assert set(SEARCH_SPACE) - {"width"} <= set(FIELD_RULES)


def test_elastic_only_where_the_preset_augments():
    assert "elastic" not in knobs_for(preset_config("tutorial").replace(augment=False))
    assert "elastic" in knobs_for(preset_config("fast"))


def test_width_scales_the_presets_sizes():
    assert settings(preset_config("fast"), {"width": 0.5})["conv_channels"] == (8, 8, 16, 16)
    assert settings(preset_config("mlp"), {"width": 2.0})["hidden_sizes"] == (1024, 512)
    assert ("width", "one of 0.5, 1.0, 1.5, 2.0 × the preset's hidden_sizes 512,256") in describe_space("mlp")


def test_params_are_parsed_to_the_knobs_kind():
    assert parse_params(["epochs=2", "learning_rate=1e-3", "batch_size=64", "width=1.5"], "mlp") == {
        "epochs": 2, "learning_rate": 0.001, "batch_size": 64, "width": 1.5,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("depth=3", "use KNOB=VALUE with a knob of mlp: learning_rate"),
        ("epochs", "use KNOB=VALUE"),
        ("epochs=2.5", "give epochs a whole number (2 to 30, whole numbers)"),
        ("batch_size=100", "choose batch_size from one of 64, 128, 256"),
        ("dropout=x", "give dropout a number"),
        ("dropout=1.5", "dropout 1.5: use a rate in [0, 1)"),
    ],
)
def test_a_bad_param_is_one_line_naming_it(text, words):
    with pytest.raises(ConfigError) as caught:
        parse_params([text], "mlp")
    assert words in str(caught.value) and "\n" not in str(caught.value)
