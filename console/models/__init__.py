"""The model layer: entities and the services that carry out every operation. No Qt here."""
