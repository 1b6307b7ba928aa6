"""Keyed random draws: the same (seed, salt, key…) always gives the same number.

Time entries, lags and payments are drawn from a hash of their natural key (an assignment and a
day, a person and a week) instead of from a shared stream, so whole columns are drawn at once in
numpy, and a day added later by the moving clock gets exactly the draws it would have had if the
world had been generated up to that day in one go.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: U64) -> U64:
    """splitmix64's finaliser: a bijective scramble of 64-bit words."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def keyed_bits(seed: int, salt: str, *keys: npt.ArrayLike) -> U64:
    """64 well-mixed bits per element of the broadcast ``keys``."""
    with np.errstate(over="ignore"):
        state = np.uint64((seed * 0x100000001B3 + zlib.crc32(salt.encode())) % 2**64)
        acc = _mix(np.asarray(state + _GOLDEN, dtype=np.uint64))
        for key in keys:
            words = np.asarray(key).astype(np.int64).view(np.uint64)
            acc = _mix(acc ^ (words + _GOLDEN))
    return np.asarray(acc, dtype=np.uint64)


def keyed_uniform(seed: int, salt: str, *keys: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform floats in [0, 1)."""
    return (keyed_bits(seed, salt, *keys) >> np.uint64(11)).astype(np.float64) / float(2**53)


def keyed_ints(
    seed: int, salt: str, low: int, high: int, *keys: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """Integers in [low, high)."""
    span = np.uint64(high - low)
    return (keyed_bits(seed, salt, *keys) % span).astype(np.int64) + low
