"""The compiled tile encoder (``codecs/zfp_encoder.c``), trusted only once it agrees with zfpy.

The extension writes libzfp's fixed-precision stream about three times as fast as libzfp
itself (a bit plane's group tests written at once, bit planes gathered and the block
transform done with SSE2) and releases the GIL while it encodes. It is optional: a
machine without a C compiler installs the package without it, and :func:`compress` then
returns None so the caller goes on to libzfp.

On first use (:class:`~carta_trio.extensions.CheckedExtension`) it must reproduce zfpy's
bytes on fields that exercise every branch of the format (partial edge blocks, row
strides, zero, subnormal and infinite values, precisions 1..64); if it does not, it is
never used and a warning says so.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import zfpy

from carta_trio.extensions import CheckedExtension

__all__ = ["available", "compress", "extension"]


def check_fields() -> list[np.ndarray]:
    """Small fields covering the encoder's branches: whole and partial blocks, a window
    with a row stride, zero blocks, subnormal and infinite values, integers."""
    rng = np.random.default_rng(29)
    field = (rng.normal(0.0, 1.0, (23, 37)) * np.logspace(-3, 3, 37)).astype(np.float32)
    field[4:8, 8:12] = 0.0
    field[0, 0] = np.inf
    tiny = (rng.normal(0.0, 1.0, (6, 9)) * 1e-40).astype(np.float32)
    whole = np.round(rng.normal(0.0, 50.0, (8, 8))).astype(np.float32)
    return [field, field[1:22, 3:34], field[5:6, 2:3], tiny, whole]


def _agrees_with_zfpy(module: ModuleType) -> bool:
    for arr in check_fields():
        for precision in (1, 6, 11, 23, 32, 64):
            expected = zfpy.compress_numpy(np.ascontiguousarray(arr), precision=precision, write_header=False)
            if module.compress(arr, precision) != bytes(expected):
                return False
    return True


extension = CheckedExtension("carta_trio.codecs._zfp_encoder", _agrees_with_zfpy, "tiles go through libzfp")


def available() -> bool:
    """True when :func:`compress` uses the compiled encoder."""
    return extension.available()


def compress(arr: np.ndarray, precision: int) -> bytes | None:
    """The header-less fixed-precision stream of a 2-D float32 array with contiguous rows
    (x fastest, row stride a multiple of 4 bytes), or None without the compiled encoder.
    The GIL is released while it encodes."""
    encoder = extension.module
    if encoder is None:
        return None
    stream: bytes = encoder.compress(arr, precision)
    return stream
