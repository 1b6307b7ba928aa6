"""The sandbox firm's world: the model (``model``), its generator (``build_world``), the truth
tests compare against (``truth``) and the clock that moves it forward (``clock``)."""

from __future__ import annotations

from sandbox.world.build import build_world
from sandbox.world.model import FAULTS, TIME_COLUMNS, World
from sandbox.world.sizes import PRESETS, TINY_FAULTS

__all__ = ["FAULTS", "PRESETS", "TIME_COLUMNS", "TINY_FAULTS", "World", "build_world"]
