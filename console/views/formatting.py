"""How times, states and money read on screen."""

from __future__ import annotations

import datetime as dt


def when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def day(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone().strftime("%Y-%m-%d")


def money(cents: int, currency: str = "USD") -> str:
    return f"{cents / 100:,.2f} {currency}"
