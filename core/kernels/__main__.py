"""`python -m core.kernels`: builds the kernels ahead of time (core.kernels.aot)."""

from core.kernels import aot

print(f"built {aot.build()}")
