"""No code that can run what a request carries: no pickle (or its kin), no eval or exec, no
NumPy loading with allow_pickle, no unsafe YAML, anywhere in the shipped packages."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "schemas", "service", "client/gradserve"]
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                  "jsonpickle"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}
SOURCES = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def unsafe_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names
                      if alias.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(node.module)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in UNSAFE_CALLS:
                found.append(f"{node.func.id}()")
            if isinstance(node.func, ast.Attribute) and node.func.attr == "load" and isinstance(
                    node.func.value, ast.Name) and node.func.value.id == "yaml":
                found.append("yaml.load()")
            found += [f"{keyword.arg}=True" for keyword in node.keywords
                      if keyword.arg == "allow_pickle" and isinstance(keyword.value, ast.Constant)
                      and keyword.value.value is True]
    return found


def test_the_packages_have_sources():
    assert len(SOURCES) > 20


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pickle_or_eval(path):
    assert unsafe_uses(ast.parse(path.read_text(), str(path))) == []


def test_the_check_finds_what_it_looks_for():
    source = ("import pickle\nfrom marshal import loads\neval('1')\nexec('x=1')\n"
              "np.load(f, allow_pickle=True)\nyaml.load(text)\n")
    assert unsafe_uses(ast.parse(source)) == ["pickle", "marshal", "eval()", "exec()",
                                              "allow_pickle=True", "yaml.load()"]
