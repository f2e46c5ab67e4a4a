"""Kaggle: the official client behind one adapter, downloading the competition files, and what may be submitted."""
