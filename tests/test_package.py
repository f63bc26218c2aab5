"""The front door: a light import, no import cycles, the version from the metadata."""

import ast
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import grokbeyond

SRC = Path(grokbeyond.__file__).parent
HEAVY = ("torch", "gpytorch", "pyro", "matplotlib", "dask", "distributed", "seaborn")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_and_the_cli_load_no_heavy_library():
    for statement in ("import grokbeyond", "import grokbeyond.cli", "import grokbeyond.registry",
                      "import grokbeyond.harness", "import grokbeyond.grokking", "import grokbeyond.datasets"):
        loaded = _modules_after(statement)
        assert not [m for m in HEAVY if m in loaded], statement


def test_public_names_load_when_used():
    loaded = _modules_after("import grokbeyond; grokbeyond.detect_grokking; grokbeyond.models.LogisticRegression")
    assert "torch" in loaded and "gpytorch" not in loaded and "pyro" not in loaded
    assert set(grokbeyond.__all__) >= {"compare", "detect_grokking", "load_results", "models", "__version__"}


def test_version_comes_from_the_package_metadata():
    assert grokbeyond.__version__ == version("grokbeyond")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, module: str) -> set[str]:
    """The package modules a module imports when it is imported (not inside functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("grokbeyond")}


def test_no_import_cycles():
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {m: {t for t in _top_level_imports(p, m) if t in modules and t != m} for m, p in modules.items()}
    # A package's __init__ runs before its submodules: importing a.b imports a first.
    for m in modules:
        parent = m.rpartition(".")[0]
        if parent in modules and parent != m:
            graph[m].add(parent)
    state, cycle = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            related = node.startswith(nxt + ".") or nxt.startswith(node + ".")  # a package and its own modules
            if state.get(nxt) == "open" and not related and not cycle:
                cycle.extend(path + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycle, " -> ".join(cycle)


PUBLIC_PACKAGES = ("grokbeyond", "grokbeyond.datasets", "grokbeyond.models", "grokbeyond.grokking", "grokbeyond.theory",
                   "grokbeyond.harness", "grokbeyond.report", "grokbeyond.reproduce", "grokbeyond.registry",
                   "grokbeyond.exceptions")


def test_every_public_class_and_function_has_an_examples_section():
    # numpydoc's Examples section, run by the doctests; constants (tuples, ints, strings) have none.
    import importlib
    import inspect

    missing = set()
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and "Examples\n--------" not in inspect.getdoc(obj):
                missing.add(f"{obj.__module__}.{obj.__qualname__}")
    assert not missing, sorted(missing)
