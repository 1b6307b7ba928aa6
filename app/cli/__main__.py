"""``python -m app.cli``: the ``plan2cash`` command line."""

from __future__ import annotations

from app.cli import main

main()
