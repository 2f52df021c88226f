"""What every window is handed: the typed services, the change bus, the operation runner, the action factory."""

from __future__ import annotations

from dataclasses import dataclass

from console.app import Services
from console.models.context import Actor
from console.views.change_bus import ChangeBus
from console.views.operations import OperationRunner
from console.views.permitted import ActionFactory


@dataclass
class Desk:
    """One signed-in staff member's desk. Built once by the composition root (console/gui.py)."""

    services: Services
    bus: ChangeBus
    runner: OperationRunner
    actions: ActionFactory

    @property
    def actor(self) -> Actor:
        return self.services.actor

    @classmethod
    def build(cls, services: Services) -> Desk:
        bus = ChangeBus()
        return cls(services=services, bus=bus, runner=OperationRunner(bus), actions=ActionFactory(services.actor))
