"""How times, states and money read on screen."""

from __future__ import annotations

import datetime as dt

from console.models.enums import SlsState


def when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def day(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone().strftime("%Y-%m-%d")


def money(cents: int, currency: str = "USD") -> str:
    return f"{cents / 100:,.2f} {currency}"


def _state_colours() -> dict[SlsState, str]:
    return {SlsState.enrolled: "#1b7f3b", SlsState.opted_out: "#b3261e", SlsState.pending: "#a15c00",
            SlsState.no_device: "#8a1c7c", SlsState.closed: "#5f6368"}


# How each SLS state is coloured in the users list and the user's detail.
SLS_STATE_COLOURS = _state_colours()
