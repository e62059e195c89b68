"""salfom_core imports no Qt, and its model and benchmarks work where PyAV is absent (the GPU machine)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKED = """
import sys
for name in ("PySide6", "av", "pyqtgraph", "superqt"):
    sys.modules[name] = None          # any import of them now raises ImportError
import salfom_core, salfom_core.engine, salfom_core.train, salfom_core.cli, salfom_core.evaluate
from salfom_core import create_model
import torch
model = create_model("salfom_tiny").eval()
with torch.no_grad():
    assert model(torch.zeros(1, 3, 16, 224, 224)).shape == (1, 224, 224)
sys.argv = ["infer"]
sys.path.insert(0, "bench")
import common
assert common.window_flops("salfom_tiny") > 0
print("ok")
"""


def test_core_needs_neither_qt_nor_pyav():
    proc = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


# --------------------------------------------------------------------------- the import graph, read from the source

import ast

import pytest

# What the GUI is built from: salfom_core stays importable (and testable) without any of it.
GUI_PACKAGES = ("salfom_app", "PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "shiboken6")
# Commands and pipelines, built on the rest of salfom_core. Every other module (a new one too)
# is a building block and must not reach up into these, not even inside a function.
HIGH_LEVEL = frozenset({"cli", "__main__", "engine", "scoreboard", "train", "gaze_training", "evaluate",
                        "dataset_scores", "make_dataset", "distributed", "model_cache", "weights"})


def module_imports(package: Path) -> dict[str, set[str]]:
    """Module (dotted name) -> every name it imports, at the top or inside functions, relative
    imports resolved; `from pkg import sub` counts as importing `pkg.sub` when that is a module."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in names.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = here[:len(here) - node.level + 1] if node.level else []
                base = ".".join(base + ([node.module] if node.module else []))
                subs = {f"{base}.{alias.name}" for alias in node.names} & names.keys()
                found |= subs or {base}
        graph[name] = found - {name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v] & graph.keys():
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _short(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else name


@pytest.mark.parametrize("package", ["salfom_core", "salfom_app"])
def test_no_import_cycles(package):
    assert import_cycles(module_imports(ROOT / package)) == []


def test_core_imports_no_gui():
    offenders = {f"{module} imports {name}" for module, found in module_imports(ROOT / "salfom_core").items()
                 for name in found if name.split(".")[0] in GUI_PACKAGES}
    assert not offenders, sorted(offenders)


def test_building_blocks_do_not_import_commands():
    graph = module_imports(ROOT / "salfom_core")
    assert {f"salfom_core.{m}" for m in HIGH_LEVEL} <= graph.keys() | {"salfom_core.__main__"}, "HIGH_LEVEL names a gone module"
    upward = {f"{module} imports {name}" for module, found in graph.items() if _short(module) not in HIGH_LEVEL
              for name in found if name.startswith("salfom_core.") and _short(name) in HIGH_LEVEL}
    assert not upward, sorted(upward)


def test_the_walker_sees_cycles_and_lazy_imports(tmp_path):
    """The checks above can fail: a package whose modules import each other in a ring, one of
    them inside a function and one through `from . import`, is reported as one cycle."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import c\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    (pkg / "sub" / "c.py").write_text("from ..b import f\nimport PySide6.QtCore\n")
    (pkg / "d.py").write_text("from .a import c\n")
    graph = module_imports(pkg)
    assert graph["pkg.sub.c"] == {"pkg.b", "PySide6.QtCore"}
    assert graph["pkg.b"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
