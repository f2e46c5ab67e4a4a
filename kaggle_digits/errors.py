"""The project's one domain exception: what went wrong, in one line a user can act on."""


class KaggleDigitsError(Exception):
    """A failure the user can fix (bad file, missing data, rejected credentials); the CLI prints it and exits 1."""
