"""gradserve against TensorFlow, PyTorch and JAX on the workloads of
shared/bench/WORKLOADS.md: `python -m benchmarks --help`, and docs/benchmarks.md."""
