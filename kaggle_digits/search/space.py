"""The knobs `tune` searches for a preset: which apply, what a trial draws, what `--param` fixes, and the settings a
set of knob values makes (the ranges themselves are declared beside the fields' rules, `training.config`)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..training.config import SEARCH_SPACE, TrainConfig, check_field, widened
from ..training.presets import preset_config


def knobs_for(config: TrainConfig) -> list[str]:
    """The knobs that change this preset: `elastic` only where it augments; `width` where it has layer sizes."""
    found = []
    for name in SEARCH_SPACE:
        if name == "elastic" and not config.augment:
            continue
        if name == "width" and not (config.conv_channels or config.hidden_sizes):
            continue
        found.append(name)
    return found


def parse_params(texts: list[str], preset: str) -> dict[str, Any]:
    """`--param KNOB=VALUE …` as knob values, each checked against its range's kind and its field's rule."""
    config = preset_config(preset)
    fixed: dict[str, Any] = {}
    for text in texts:
        name, equals, value = text.partition("=")
        name = name.strip().replace("-", "_")
        if not equals or name not in knobs_for(config):
            raise ConfigError(
                {"param": text}, f"use KNOB=VALUE with a knob of {preset}: {', '.join(knobs_for(config))}"
            )
        knob = SEARCH_SPACE[name]
        try:
            number = float(value)
        except ValueError:
            raise ConfigError({"param": text}, f"give {name} a number ({knob.describe()})") from None
        if knob.whole or (knob.choices and all(isinstance(c, int) for c in knob.choices)):
            if not number.is_integer():
                raise ConfigError({"param": text}, f"give {name} a whole number ({knob.describe()})")
            number = int(number)
        if knob.choices and number not in knob.choices:
            raise ConfigError({"param": text}, f"choose {name} from {knob.describe()}")
        fixed[name] = number
    settings(config, fixed)  # every field rule, at once
    return fixed


def suggest(trial: Any, config: TrainConfig, fixed: dict[str, Any]) -> dict[str, Any]:
    """The knob values of one trial: `fixed` ones as given, the others drawn by the trial's sampler."""
    values: dict[str, Any] = {}
    for name in knobs_for(config):
        knob = SEARCH_SPACE[name]
        if name in fixed:
            values[name] = fixed[name]
        elif knob.choices:
            values[name] = trial.suggest_categorical(name, list(knob.choices))
        elif knob.whole:
            values[name] = trial.suggest_int(name, int(knob.low), int(knob.high))
        else:
            values[name] = trial.suggest_float(name, knob.low, knob.high, log=knob.log)
    return values


def settings(config: TrainConfig, values: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig settings that knob values make (`width` scales the preset's layer sizes), each checked."""
    found = {name: value for name, value in values.items() if name != "width"}
    if "width" in values:
        sizes = "conv_channels" if config.conv_channels else "hidden_sizes"
        found[sizes] = widened(getattr(config, sizes), values["width"])
    for name, value in found.items():
        check_field(name, value)
    return found


def describe_space(preset: str) -> list[tuple[str, str]]:
    """Each knob of the preset with its range, for `tune --space`."""
    config = preset_config(preset)
    lines = []
    for name in knobs_for(config):
        text = SEARCH_SPACE[name].describe()
        if name == "width":
            sizes = "conv_channels" if config.conv_channels else "hidden_sizes"
            text += f" × the preset's {sizes} {','.join(map(str, getattr(config, sizes)))}"
        lines.append((name, text))
    return lines
