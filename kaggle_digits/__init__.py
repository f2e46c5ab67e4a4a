"""kaggle-digits: Kaggle's Digit Recognizer from zero to a scored submission, with NumPy networks."""

__version__ = "0.1.0"
