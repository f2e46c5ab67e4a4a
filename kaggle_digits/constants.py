"""The competition's shapes, at the bottom of the import graph: every layer above may use them."""

IMAGE_SIDE = 28  # pixels per side of a digit
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784 grey values per image, row by row
N_CLASSES = 10  # digits 0–9
