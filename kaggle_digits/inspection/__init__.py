"""Looking at finished runs: evaluation, mistakes and why they were misread, one digit, photos, learning curves."""
