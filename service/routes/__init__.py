"""One router per resource: routes parse, call core, and convert; nothing else."""
