"""Op cases by family: each module defines CASES, a list of opcheck.Case."""

import importlib
import pkgutil


def all_cases():
    cases = []
    for module in pkgutil.iter_modules(__path__):
        cases.extend(importlib.import_module(f"{__name__}.{module.name}").CASES)
    return cases
