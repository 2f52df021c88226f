"""Every public service method, called with bad arguments, answers with the domain's errors only.

For each method and each kind of bad value (empty, oversized, negative, absurd, unknown, wrong type) every
argument but the session gets that kind of value at once; the call may refuse with any ConsoleError or,
for a harmless read, answer, but never raise a plain Python error (TypeError, KeyError, a database
driver's error...)."""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import inspect
import pkgutil
import types
import typing
from pathlib import Path

import pytest

import console.models
from console.models.arguments import MAX_TEXT, checked_arguments
from console.models.context import Actor
from console.models.enums import StaffRole
from console.models.errors import ConsoleError, InvalidInput, NotFound, PermissionDenied

SKIP = {
    "KeyRotation.rotate",  # takes a key store; rotation's refusals are tested in test_keys.py
}
KINDS = ("empty", "oversized", "negative", "absurd", "unknown", "wrong type")


def service_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(console.models.__path__):
        module = importlib.import_module(f"console.models.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and (name.endswith("Service") and name != "ServiceContext"
                                                      or name in ("KeyRotation", "AuditLog", "UserDirectory")):
                found.append(cls)
    return found


def methods() -> list[tuple[type, str]]:
    return sorted(((cls, name) for cls in service_classes() for name, _ in inspect.getmembers(cls, callable)
                   if not name.startswith("_") and inspect.isfunction(inspect.getattr_static(cls, name))
                   and f"{cls.__name__}.{name}" not in SKIP), key=lambda p: (p[0].__name__, p[1]))


def bad(hint, kind: str, tmp_path: Path):
    """A value of the given bad kind for a parameter annotated `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return bad(options[0], kind, tmp_path)
    if hint is bool:
        return {"wrong type": "yes", "unknown": 2}.get(kind, None)
    if hint is int:
        return {"empty": 0, "oversized": 10**30, "negative": -1, "absurd": 2**63, "unknown": 999_999,
                "wrong type": "7"}[kind]
    if hint is str or hint is Path:
        return {"empty": "", "oversized": "x" * 100_001, "negative": "-1", "absurd": "\x00\x1b[2J",
                "unknown": "nobody-such", "wrong type": 7}[kind]
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        return {"wrong type": 3, "empty": ""}.get(kind, "no-such-value")
    if hint in (dt.date, dt.datetime):
        return {"wrong type": "2026-01-01", "absurd": dt.date(1, 1, 1)}.get(kind, None)
    if origin in (list, tuple, set) or str(origin) == "<class 'collections.abc.Iterable'>":
        item = bad(args[0], kind, tmp_path) if args else None
        return {"empty": [], "wrong type": 5}.get(kind, [item])
    if origin is dict:
        return {"wrong type": "x", "empty": {}}.get(kind, {"no-such-key": bad(str, kind, tmp_path)})
    if "Callable" in str(hint):
        return None
    return {"wrong type": "x"}.get(kind, None)


@pytest.fixture
def services(ctx, world):
    made = {}
    for cls in service_classes():
        made[cls] = cls(ctx)
    return made


@pytest.mark.parametrize("kind", KINDS)
def test_bad_arguments_get_domain_errors_only(ctx, world, admin, services, tmp_path, kind):
    plain = []
    for cls, name in methods():
        method = getattr(services[cls], name)
        hints = typing.get_type_hints(inspect.unwrap(getattr(cls, name)))
        kwargs = {}
        for param in list(inspect.signature(inspect.unwrap(getattr(cls, name))).parameters.values())[1:]:
            if param.name == "actor":
                kwargs["actor"] = admin
            elif param.name in hints:
                kwargs[param.name] = bad(hints[param.name], kind, tmp_path)
        try:
            method(**kwargs)
        except ConsoleError:
            pass
        except Exception as exc:  # noqa: BLE001 - what this test looks for
            plain.append(f"{cls.__name__}.{name}: {type(exc).__name__}: {str(exc)[:160]}")
    assert plain == [], "\n".join(plain)


def test_checks_give_clear_domain_errors():
    """The boundary's own answers: wrong type, empty enum, oversized text, negative count, impossible id,
    and a hand-made session."""
    @checked_arguments
    class Example:
        def act(self, actor: Actor, user_id: int, count: int, note: str, role: StaffRole,
                serials: list[str] | None = None) -> str:
            return "done"

    example = Example()
    actor = Actor(username="x", full_name="X", role=StaffRole.administrator)
    good = dict(actor=actor, user_id=3, count=0, note="ok", role=StaffRole.help_desk)
    assert example.act(**good) == "done"
    for change, error, words in [
        ({"user_id": -1}, NotFound, "Nothing has the user id -1"),
        ({"user_id": 2**40}, NotFound, "user id"),
        ({"count": -2}, InvalidInput, "count must be between 0 and 9,007,199,254,740,992, not -2"),
        ({"count": True}, InvalidInput, "whole number"),
        ({"note": "x" * (MAX_TEXT + 1)}, InvalidInput, "at most 10,000"),
        ({"note": None}, InvalidInput, "must be text"),
        ({"role": "boss"}, InvalidInput, "must be one of: help_desk"),
        ({"serials": "DSC1"}, InvalidInput, "must be a list"),
        ({"serials": ["ok", 5]}, InvalidInput, "serial must be text"),
        ({"actor": "admin"}, PermissionDenied, "signed-in"),
    ]:
        with pytest.raises(error, match=words):
            example.act(**{**good, **change})
    with pytest.raises(InvalidInput, match="unexpected keyword"):
        example.act(**good, colour="red")
