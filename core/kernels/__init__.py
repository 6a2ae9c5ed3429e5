"""Numba kernels for the ops whose NumPy form would need Python loops over elements."""
