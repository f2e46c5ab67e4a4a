"""Blending finished runs: the rows every member held out, the weights (plain or selected), the blend as a run."""
