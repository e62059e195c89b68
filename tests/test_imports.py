"""salfom_core imports no Qt, and its model and benchmarks work where PyAV is absent (the GPU machine)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKED = """
import sys
for name in ("PySide6", "av", "pyqtgraph", "superqt"):
    sys.modules[name] = None          # any import of them now raises ImportError
import salfom_core, salfom_core.inference.engine, salfom_core.train, salfom_core.cli, salfom_core.evaluation.scoring
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
# The core's packages, each built only on those before it; the face (`FACE`) sits on top and
# `errors` under everything.
LAYERS = ("io", "models", "inference", "evaluation", "aoi", "training")
FACE = {"salfom_core", "salfom_core.__main__", "salfom_core.cli", "salfom_core.errors", "salfom_core.train"}
BASE = "salfom_core.errors"


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


def layer_of(module: str, package: str = "salfom_core", layers=LAYERS) -> int:
    """Position of a module in the stack: its package's index, len(layers) for the face."""
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == package and parts[1] in layers:
        return layers.index(parts[1])
    return len(layers)


def upward_imports(graph: dict[str, set[str]], package: str = "salfom_core", layers=LAYERS,
                   base: str = BASE) -> set[str]:
    """`a imports b` for every import of a module of a higher layer (or of the face) than a's own."""
    return {f"{module} imports {name}" for module, found in graph.items()
            for name in found if name.split(".")[0] == package and name != base
            and layer_of(name, package, layers) > layer_of(module, package, layers)}


def test_the_core_is_its_packages_and_a_thin_face():
    graph = module_imports(ROOT / "salfom_core")
    assert {m for m in graph if layer_of(m) == len(LAYERS)} == FACE
    for layer in LAYERS:
        assert f"salfom_core.{layer}" in graph, f"no package {layer}"


def test_packages_import_only_those_below_them():
    """io -> models -> inference -> evaluation -> training -> face, inside functions too."""
    assert not upward_imports(module_imports(ROOT / "salfom_core")), \
        sorted(upward_imports(module_imports(ROOT / "salfom_core")))


def test_the_layer_check_sees_an_upward_import(tmp_path):
    """The check above can fail: a low package reaching into a higher one, even lazily."""
    pkg = tmp_path / "pkg"
    for sub in ("low", "high"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "low" / "a.py").write_text("from ..errors import x\ndef f():\n    from ..high import b\n")
    (pkg / "high" / "b.py").write_text("from ..low.a import f\n")
    found = upward_imports(module_imports(pkg), "pkg", ("low", "high"), "pkg.errors")
    assert found == {"pkg.low.a imports pkg.high.b"}


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
