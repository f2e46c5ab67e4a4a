"""Training recipes: the configuration and its rules, the presets, the architecture of a configuration, the loop."""
