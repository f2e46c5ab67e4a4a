"""A run folder: its layout, its record, its lock, and finding and listing runs (the one place that knows the files)."""
