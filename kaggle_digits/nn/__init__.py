"""The network maths in NumPy: layers (forward and backward side by side), losses, optimisers, networks, kernels."""
