"""The training pipeline: plan the networks, start the run, train them (side by side), predict, finish."""
