"""Arguments checked at the service boundary: a wrong type, an empty or oversized text, a negative or absurd
number or an unknown enum value is refused with the domain's errors before any work starts.

`@checked_arguments` on a service class wraps its public methods. Each argument is checked against its
annotation; what an annotation cannot say (an unknown id, an empty username) the services check themselves
and answer with NotFound or InvalidInput. Callables, files and protocols are left to the method."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from console.models.context import Actor
from console.models.errors import InvalidInput, NotFound, PermissionDenied

MAX_TEXT = 10_000  # characters in one text argument (a reason, a name, a path); far above any real one
MAX_NUMBER = 2**53  # beyond any count, amount or version the console keeps
MAX_ID = 2**31 - 1  # primary keys are 32-bit integers on PostgreSQL
MAX_ITEMS = 1_000_000  # entries in one list argument (a batch of serials, a selection of ids)

T = TypeVar("T")


def _label(name: str) -> str:
    return name.replace("_", " ")


# Identifiers the operating system hands out, not rows: any whole number.
SYSTEM_IDS = frozenset({"thread_id"})


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def check_value(name: str, value: object, hint: Any) -> None:
    """Raise InvalidInput (NotFound for an id that cannot exist) unless `value` fits `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        options = [a for a in args if a is not type(None)]
        same_kind = [a for a in options if inspect.isclass(a) and isinstance(value, a)
                     and not (a is int and isinstance(value, bool))]
        if same_kind:  # judge the value by the option it is meant as: its message names the real problem
            options = same_kind
        problem: Exception | None = None
        for option in options:
            try:
                check_value(name, value, option)
                return
            except (InvalidInput, NotFound) as exc:
                problem = problem or exc
        assert problem is not None
        raise problem
    if hint is bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"The {_label(name)} must be yes or no; nothing was changed.")
    elif hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"The {_label(name)} must be a whole number; nothing was changed.")
        if name in SYSTEM_IDS:
            return
        if _is_id(name) and not 0 < value <= MAX_ID:
            raise NotFound(f"Nothing has the {_label(name)} {value}; nothing was changed.")
        if not 0 <= value <= MAX_NUMBER:
            raise InvalidInput(f"The {_label(name)} must be between 0 and {MAX_NUMBER:,}, not {value}; nothing "
                               f"was changed.")
    elif hint is str:
        if not isinstance(value, str):
            raise InvalidInput(f"The {_label(name)} must be text; nothing was changed.")
        if len(value) > MAX_TEXT:
            raise InvalidInput(f"The {_label(name)} is {len(value):,} characters long; at most {MAX_TEXT:,} are "
                               f"accepted. Nothing was changed.")
        if "\x00" in value and (name == "path" or name.endswith("_path")):  # no file system accepts one
            raise InvalidInput(f"The {_label(name)} contains a NUL character; nothing was changed.")
    elif inspect.isclass(hint) and issubclass(hint, enum.Enum):
        if not isinstance(value, hint):
            choices = ", ".join(str(m.value) for m in hint)
            raise InvalidInput(f"The {_label(name)} must be one of: {choices}; nothing was changed.")
    elif hint is Path:
        if not isinstance(value, Path):
            raise InvalidInput(f"The {_label(name)} must be a file path; nothing was changed.")
        check_value(name, str(value), str)
    elif hint in (dt.date, dt.datetime) or (inspect.isclass(hint) and dataclasses.is_dataclass(hint)):
        if not isinstance(value, hint):
            raise InvalidInput(f"The {_label(name)} is not a {getattr(hint, '__name__', 'value')}; nothing was "
                               f"changed.")
    elif origin in (list, tuple, set, frozenset, Iterable) or origin is typing.get_origin(Iterable[int]):
        if isinstance(value, str | bytes) or not isinstance(value, origin if origin is not None else object):
            raise InvalidInput(f"The {_label(name)} must be a list; nothing was changed.")
        items = list(typing.cast(Iterable[object], value))
        if len(items) > MAX_ITEMS:
            raise InvalidInput(f"The {_label(name)} holds {len(items):,} entries; at most {MAX_ITEMS:,} are "
                               f"accepted. Nothing was changed.")
        item_hint = args[0] if args else Any
        item_name = name[:-1] if name.endswith("s") else name
        for item in items:
            check_value(item_name, item, item_hint)
    elif origin is dict:
        if not isinstance(value, dict):
            raise InvalidInput(f"The {_label(name)} must be a table of names and values; nothing was changed.")
        for key, item in value.items():
            check_value(name, key, args[0] if args else Any)
            check_value(str(key) if isinstance(key, str) else name, item, args[1] if len(args) > 1 else Any)
    # Callables, files, protocols and the like: the method's own business.


def _checked(function: Callable[..., T]) -> Callable[..., T]:
    signature = inspect.signature(function)
    hints: dict[str, Any] | None = None

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        nonlocal hints
        if hints is None:  # resolved at the first call: annotations may name classes defined later
            hints = typing.get_type_hints(function)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInput(f"{function.__qualname__}: {exc}; nothing was changed.") from None
        for name, value in bound.arguments.items():
            if name == "self":
                continue
            if name == "actor":
                if value is None and type(None) in typing.get_args(hints.get(name)):
                    continue
                if not isinstance(value, Actor):
                    raise PermissionDenied("Only a signed-in staff member's session may do this; sign in again.")
                continue
            if name in hints:
                check_value(name, value, hints[name])
        return function(*args, **kwargs)

    return wrapper


def checked_arguments(cls: type[T]) -> type[T]:
    """Check the arguments of every public method of a service class (see the module's docstring)."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _checked(member))
    return cls
