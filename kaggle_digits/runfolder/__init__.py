"""A run folder: its layout, its record, its lock, and finding runs (the one place that knows its files)."""
