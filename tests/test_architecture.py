"""Architecture rules: the model layer knows nothing of Qt; the Qt binding is one that keeps None alive."""

import ast
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent / "console" / "models"


def test_model_layer_imports_nothing_from_qt():
    """No module under console/models imports PySide6 (or any Qt binding)."""
    offenders = []
    for path in MODELS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6",
                                                                                    "shiboken6")]
    assert offenders == []


def test_importing_every_model_module_loads_no_qt():
    """Importing the whole model layer in a fresh interpreter leaves PySide6 unloaded."""
    modules = [f"console.models.{p.stem}" for p in MODELS.glob("*.py") if p.stem != "__init__"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + \
           "print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_qt_calls_returning_none_keep_none_refcount(qapp):
    """10,000 index.data() calls returning None leave None's reference count unchanged (PySide6 6.12 on
    Python 3.11 lowers it on each call and eventually aborts the interpreter)."""
    from PySide6.QtGui import QStandardItemModel

    model = QStandardItemModel(1, 1)
    index = model.index(0, 0)
    before = sys.getrefcount(None)
    for _ in range(10_000):
        index.data()
    assert abs(sys.getrefcount(None) - before) < 100
