"""kaggle-digits: Kaggle's Digit Recognizer from zero to a scored submission, with NumPy networks.

In a notebook: `import kaggle_digits as kd`, then `kd.train(...)`, `kd.load_run(...)`, `kd.runs()`, `kd.submit(...)`
(see kaggle_digits/api.py). On the command line: `kaggle-digits --help`.
"""

__version__ = "0.2.0"

from .api import Run, download, load_record, load_run, resume, runs, submit, train
from .errors import ConfigError, KaggleDigitsError

__all__ = [
    "ConfigError",
    "KaggleDigitsError",
    "Run",
    "__version__",
    "download",
    "load_record",
    "load_run",
    "resume",
    "runs",
    "submit",
    "train",
]
