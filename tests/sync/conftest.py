"""Fixtures of the sync tests (the stores are the root ``tests/conftest.py``'s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.server import Sandbox
from tests.sync.sandboxed import TODAY


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The tiny sandbox firm of ``TODAY``, served in-process."""
    with Sandbox(seed=7, today=TODAY) as box:
        yield box
