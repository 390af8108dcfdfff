"""Piccolo's configuration module, answering with the engine chosen at start-up.

Piccolo reads `DB` and `APP_REGISTRY` from this module. Module-level
`__getattr__` defers both to `service.database`, so nothing is read from the
environment when this module is imported.
"""

from __future__ import annotations

from typing import Any

from service import database


def __getattr__(name: str) -> Any:
    if name == "DB":
        return database.active_engine()
    if name == "APP_REGISTRY":
        return database.app_registry()
    raise AttributeError(name)
