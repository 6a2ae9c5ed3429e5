"""Scripts run as `python -m scripts.<name>` from the repository root: operations (load,
fault, soak, and the local server they and the tests start) and reports."""
