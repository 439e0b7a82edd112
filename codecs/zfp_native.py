"""ZFP fixed-precision compression through libzfp itself, with the GIL released.

``zfpy.compress_numpy`` is a Cython function that holds the GIL for the whole of
``zfp_compress``: two worker threads encoding tiles take turns instead of using both
cores (measured: 256 tiles of 256² in 2 threads took as long as in one). zfpy's wheel
ships the libzfp it wraps (``zfpy.libs/libzfp-*.so*``, or a system libzfp beside a
source build); this module calls that library through ctypes. The small set-up calls
go through :class:`ctypes.PyDLL` (they keep the GIL: releasing and re-taking it costs
more than they do); ``zfp_compress`` goes through :class:`ctypes.CDLL`, which releases
the GIL for the call, so the tile encoders of both cores run at once.

The bytes are those of ``zfpy.compress_numpy(arr, precision=p, write_header=False)``:
same library, same field (nx = columns, strides in elements) and the same calls. That
is checked once, on first use, on a small field at three precisions; if the library is
missing, of another major version, or the check fails, :func:`compress` returns None
and the caller uses zfpy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import logging
import os
import threading
from typing import Any

import numpy as np
import zfpy

__all__ = ["available", "compress"]

log = logging.getLogger(__name__)

_ZFP_TYPE_FLOAT = 3  # zfp_type_float
_MIN_VERSION = 0x1000  # zfp 1.0: size_t field sizes and ptrdiff_t strides


class _Library:
    """The libzfp entry points used here, typed."""

    def __init__(self, path: str) -> None:
        held = ctypes.PyDLL(path)  # calls keep the GIL
        free = ctypes.CDLL(path)  # calls release the GIL
        version = ctypes.c_uint.in_dll(held, "zfp_library_version").value
        if version < _MIN_VERSION:
            raise OSError(f"libzfp {version:#x} is older than 1.0")
        vp, size = ctypes.c_void_p, ctypes.c_size_t

        def typed(lib: Any, name: str, restype: Any, *argtypes: Any) -> Any:
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, list(argtypes)
            return fn

        self.field_2d = typed(held, "zfp_field_2d", vp, vp, ctypes.c_int, size, size)
        self.field_set_stride_2d = typed(held, "zfp_field_set_stride_2d", None, vp, ctypes.c_ssize_t, ctypes.c_ssize_t)
        self.field_free = typed(held, "zfp_field_free", None, vp)
        self.stream_open = typed(held, "zfp_stream_open", vp, vp)
        self.stream_close = typed(held, "zfp_stream_close", None, vp)
        self.set_precision = typed(held, "zfp_stream_set_precision", ctypes.c_uint, vp, ctypes.c_uint)
        self.maximum_size = typed(held, "zfp_stream_maximum_size", size, vp, vp)
        self.bits_open = typed(held, "stream_open", vp, vp, size)
        self.bits_close = typed(held, "stream_close", None, vp)
        self.set_bit_stream = typed(held, "zfp_stream_set_bit_stream", None, vp, vp)
        self.rewind = typed(held, "zfp_stream_rewind", None, vp)
        self.compress = typed(free, "zfp_compress", size, vp, vp)


def _candidates() -> list[str]:
    """Where zfpy's libzfp may be: the wheel's bundled copy first, then the system's."""
    here = os.path.dirname(os.path.abspath(zfpy.__file__))
    found = sorted(glob.glob(os.path.join(here, "zfpy.libs", "libzfp*.so*")))
    system = ctypes.util.find_library("zfp")
    return found + ([system] if system else [])


_lock = threading.Lock()
_library: _Library | None = None
_checked = False
_scratch = threading.local()


def _load() -> _Library | None:
    global _library, _checked
    with _lock:
        if _checked:
            return _library
        for path in _candidates():
            try:
                library = _Library(path)
                if _agrees_with_zfpy(library):
                    _library = library
                    break
                log.warning("libzfp at %s does not produce zfpy's bytes; tiles use zfpy", path)
            except (OSError, AttributeError, ValueError) as exc:
                log.debug("libzfp at %s not usable: %s", path, exc)
        _checked = True
        return _library


def _agrees_with_zfpy(library: _Library) -> bool:
    rng = np.random.default_rng(17)
    field = rng.normal(0.0, 1.0, (37, 53)).astype(np.float32)
    window = field[3:30, 5:50]
    for precision in (3, 11, 32):
        for arr in (field, window):
            expected = zfpy.compress_numpy(np.ascontiguousarray(arr), precision=precision, write_header=False)
            if _compress(library, arr, precision) != bytes(expected):
                return False
    return True


def available() -> bool:
    """True when :func:`compress` uses libzfp directly (and releases the GIL)."""
    return _load() is not None


def compress(arr: np.ndarray, precision: int) -> bytes | None:
    """The header-less fixed-precision stream of a 2-D float32 array whose rows are
    contiguous (x fastest; row stride a positive multiple of 4 bytes), or None when
    libzfp cannot be called directly."""
    library = _library if _checked else _load()
    if library is None:
        return None
    return _compress(library, arr, precision)


def _compress(library: _Library, arr: np.ndarray, precision: int) -> bytes:
    if arr.dtype != np.float32 or arr.ndim != 2 or arr.strides[1] != 4 or arr.strides[0] < 4 * arr.shape[1]:
        raise ValueError(f"need a 2-D float32 array with contiguous rows, got {arr.dtype} {arr.strides}")
    height, width = arr.shape
    field = library.field_2d(arr.ctypes.data, _ZFP_TYPE_FLOAT, width, height)
    stream = library.stream_open(None)
    bits = None
    try:
        library.field_set_stride_2d(field, 1, arr.strides[0] // 4)
        library.set_precision(stream, precision)
        capacity = library.maximum_size(stream, field)
        buffer: bytearray | None = getattr(_scratch, "buffer", None)
        if buffer is None or len(buffer) < capacity:
            buffer = _scratch.buffer = bytearray(capacity)
        address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        bits = library.bits_open(address, capacity)
        library.set_bit_stream(stream, bits)
        library.rewind(stream)
        size = library.compress(stream, field)  # GIL released; arr and buffer stay referenced
        if size == 0:
            raise ValueError("zfp_compress failed")
        return bytes(memoryview(buffer)[:size])
    finally:
        if bits is not None:
            library.bits_close(bits)
        library.stream_close(stream)
        library.field_free(field)
