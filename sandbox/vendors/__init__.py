"""Vendor emulators (Starlette apps) and the wire machinery they share."""
