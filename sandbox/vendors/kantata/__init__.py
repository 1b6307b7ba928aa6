"""Kantata OX (formerly Mavenlink) emulator: ``KantataEmulator(world).app`` serves ``/api/v1``."""

from __future__ import annotations

from sandbox.vendors.kantata.emulator import DEFAULT_TOKEN, KantataEmulator

__all__ = ["DEFAULT_TOKEN", "KantataEmulator"]
