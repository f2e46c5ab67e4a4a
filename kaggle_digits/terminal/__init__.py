"""The command line: a thin adapter (parse, call one use case, render) over kaggle_digits.usecases."""
