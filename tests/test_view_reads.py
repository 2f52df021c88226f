"""No window waits on the database: every service call a view makes runs through the desk's operation runner
(or the users list's own loader), off the GUI thread.

The views are read as source: a call on a service (a field of `Services`, or a name bound to one) counts as handed
off when it sits in a lambda or nested function that is passed to the runner (`query`, `write`) or to a helper that
passes it there (HANDOFF), or that is returned as the work for one. Any other service call is a read (or write) on
the GUI thread and fails this test, unless it is in NOT_YET, the reviewed list that may only shrink."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

from console.app import Services

VIEWS = Path(__file__).resolve().parent.parent / "console" / "views"

_TYPES = typing.get_type_hints(Services)
SERVICE_FIELDS = {f.name for f in dataclasses.fields(Services)
                  if getattr(_TYPES[f.name], "__module__", "").startswith("console.models")
                  and _TYPES[f.name].__name__.endswith(("Service", "Directory", "Log"))}
SERVICE_CLASSES = {_TYPES[name].__name__ for name in SERVICE_FIELDS}

# Calls that take work and run it through the desk's runner: the runner itself, the users list's loader, and the
# helpers built on them (KeptCurrent, ServiceDialog's Submission, read_first and ConfirmDialog, the staff window's
# _run, the audit list's _fetch).
HANDOFF = {"query", "write", "load_query", "load_window", "KeptCurrent", "Submission", "read_first", "ConfirmDialog",
           "_run", "_fetch"}

# (module, function, call): service calls still made on the GUI thread, each reviewed. This list may only shrink:
# an entry whose call is gone fails the test too, so it is taken off.
NOT_YET = {
    # Not a read: forgets the directory's remembered positions and counts (memory only).
    ("users_model.py", "refresh", "self._directory.invalidate"),
    # Before sign-in there is no desk and no runner: one password check, behind the modal sign-in dialog.
    ("sign_in_dialog.py", "try_sign_in", "self.staff.sign_in"),
    # The row of a selected user or device: almost always in a cached window (it is on screen); else one indexed
    # look-up or window, read at once because the action needs it now.
    ("users_model.py", "row_at", "self._directory.window"),
    ("users_model.py", "row_of_user", "self._directory.offset_of"),
}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _names_a_service(annotation: ast.AST | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return any(c in annotation.value for c in SERVICE_CLASSES)
    return any(isinstance(n, ast.Name) and n.id in SERVICE_CLASSES for n in ast.walk(annotation))


class _Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text())
        self.parents = {child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)}
        self.bound: set[str] = set()  # names (locals, parameters, self attributes) that hold a service
        for _ in range(3):  # a name bound from a name bound to a service
            for node in ast.walk(self.tree):
                if isinstance(node, ast.arg) and _names_a_service(node.annotation):
                    self.bound.add(node.arg)
                elif isinstance(node, ast.AnnAssign) and _names_a_service(node.annotation):
                    self.bound.add(_name(node.target) or "")
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        pairs = (zip(target.elts, node.value.elts, strict=False)
                                 if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                                 else [(target, node.value)])
                        for t, v in pairs:
                            if self.is_service(v) and _name(t):
                                self.bound.add(_name(t) or "")

    def is_service(self, e: ast.AST) -> bool:
        if isinstance(e, ast.Attribute) and e.attr in SERVICE_FIELDS and _name(e.value) == "services":
            return True
        if isinstance(e, ast.Name):
            return e.id in self.bound
        return isinstance(e, ast.Attribute) and e.attr in self.bound and _name(e.value) == "self"

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None

    def handed_off(self, call: ast.Call) -> bool:
        """Inside a lambda or nested function that goes to the runner (or is returned as the work for it)."""
        node: ast.AST = call
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.Lambda) or (isinstance(node, ast.FunctionDef)
                                                and self.enclosing_function(node) is not None):
                if self._passed_on(node):
                    return True
        return False

    def _passed_on(self, fn: ast.Lambda | ast.FunctionDef) -> bool:
        outer = self.enclosing_function(fn)
        name = fn.name if isinstance(fn, ast.FunctionDef) else None
        child, node = fn, self.parents.get(fn)
        while node is not None and not isinstance(node, ast.FunctionDef):
            if isinstance(node, ast.Return):
                return True  # the work, returned for the runner (KeptCurrent's ask)
            if isinstance(node, ast.Call) and child is not node.func and _name(node.func) in HANDOFF:
                return True
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id  # work = lambda: …, then handed on by name
                break
            if isinstance(node, ast.stmt):
                break
            child, node = node, self.parents.get(node)
        if name is None or outer is None:
            return False
        for c in ast.walk(outer):
            if isinstance(c, ast.Call) and _name(c.func) in HANDOFF and any(
                    isinstance(a, ast.Name) and a.id == name for a in [*c.args, *(k.value for k in c.keywords)]):
                return True
            if isinstance(c, ast.Return) and isinstance(c.value, ast.Name) and c.value.id == name:
                return True
        return False

    def calls_on_the_gui_thread(self) -> set[tuple[str, str, str]]:
        found = set()
        for node in ast.walk(self.tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and self.is_service(node.func.value)
                    and not self.handed_off(node)):
                fn = self.enclosing_function(node)
                found.add((self.path.name, fn.name if fn else "<module>", ast.unparse(node.func)))
        return found


def service_calls_on_the_gui_thread(folder: Path = VIEWS) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for path in sorted(folder.glob("*.py")):
        found |= _Module(path).calls_on_the_gui_thread()
    return found


def test_no_view_calls_a_service_on_the_gui_thread():
    found = service_calls_on_the_gui_thread()
    assert sorted(found - NOT_YET) == [], "service calls on the GUI thread: hand them to desk.runner.query/write"
    assert sorted(NOT_YET - found) == [], "moved off the GUI thread: take these off NOT_YET"


def test_the_scan_finds_a_read_on_the_gui_thread_and_passes_one_handed_to_the_runner(tmp_path):
    """The scan itself: the old security settings dialog (read at once) is found; the runner's form is not."""
    (tmp_path / "old.py").write_text(
        "class Dialog:\n"
        "    def __init__(self, desk, user_id):\n"
        "        self.services = desk.services\n"
        "        d = self.services.directory.details(user_id)\n")
    (tmp_path / "new.py").write_text(
        "class Dialog:\n"
        "    def __init__(self, desk, user_id):\n"
        "        directory = desk.services.directory\n"
        "        desk.runner.query(self, lambda: directory.details(user_id), success=self.show)\n"
        "        def work():\n"
        "            return directory.details(user_id)\n"
        "        desk.runner.query(self, work, success=self.show)\n"
        "        directory.details(user_id)\n")
    assert service_calls_on_the_gui_thread(tmp_path) == {("old.py", "__init__", "self.services.directory.details"),
                                                         ("new.py", "__init__", "directory.details")}
