"""Where the tool reads and writes unless told otherwise: one default each, for both faces."""

from pathlib import Path

DATA_DIR = Path("data")  # Kaggle's train.csv and test.csv (`make download` puts them there)
RUNS_DIR = Path("runs")  # one folder per run
SUBMISSIONS_DIR = Path("submissions")  # the CSVs runs write
