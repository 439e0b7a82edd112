"""Raster tile payloads: NaN run lengths, NaN filling and ZFP or raw encoding (WIRE.md 2.5-2.7).

``encode_tile`` turns a float32 tile (``height x width``, row-major, x fastest, first
row = lowest image y) into the bytes of ``TileData.image_data`` and
``TileData.nan_encodings`` plus the precision to write as the message's
``compression_quality``. ``decode_tile`` is the frontend's side, for tests and clients.

ZFP stream format. The frontend (zfp 0.5.5 compiled to wasm) decodes a *header-less*
fixed-precision stream of a 2-D float field with nx = width, ny = height, using
``floor(compression_quality)`` as the precision. ``zfpy.compress_numpy(arr,
precision=p, write_header=False)`` on a C-ordered ``(height, width)`` float32 array
emits exactly what the reference's ``zfp_stream_set_precision`` + ``zfp_compress``
emit: 4x4 blocks in raster order, each as an 8-bit biased exponent (or a single 0 bit
for an all-zero block) followed by embedded bit planes, bits packed LSB-first into
64-bit little-endian words and flushed to a word boundary. The test suite checks this
byte for byte against an independent encoder written from the zfp source.

Precision: ``lround(quality)`` (half away from zero); values outside 1..31 become 32.
That never changes a byte of the stream: ``zfp_stream_set_precision`` maps 0 (and, via
the unsigned conversion, any negative value) to ZFP_MAX_PREC, and a float32 block has
only 32 bit planes, so every precision >= 32 yields the precision-32 stream. Writing
the precision actually used lets the frontend decode it at ``floor(quality)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import zfpy

from carta_trio.codecs import tile_nans, zfp_compiled, zfp_native

__all__ = [
    "COMPRESSION_NONE",
    "COMPRESSION_ZFP",
    "HIGH_COMPRESSION_QUALITY",
    "EncodedTile",
    "lround",
    "zfp_precision",
    "nan_encodings",
    "fill_nan_blocks",
    "zfp_compress",
    "zfp_decompress",
    "encode_tile",
    "decode_tile",
]

# CompressionType enum values (PB shared/enums.proto); SZ (2) is not supported.
COMPRESSION_NONE = 0
COMPRESSION_ZFP = 1

HIGH_COMPRESSION_QUALITY = 32  # reference Frame.cc: precision of the high-quality retry
_FALLBACK_RATIO = 20.0  # retry at 32 when the first ratio is above this ...
_FALLBACK_KEEP_RATIO = 10.0  # ... and keep the retry when its ratio is still above this
_ZFP_FLOAT = zfpy.dtype_to_ztype(np.dtype(np.float32))
_FLOAT32_LE = np.dtype("<f4")
_INT32_LE = np.dtype("<i4")


@dataclass(frozen=True, slots=True)
class EncodedTile:
    """Wire payload of one tile.

    ``image_data`` and ``nan_encodings`` go into TileData (``nan_encodings`` is empty
    for NONE); ``quality_used`` is the integer precision the stream was compressed
    with (0 for NONE) and is what the message's ``compression_quality`` must say.
    """

    image_data: bytes
    nan_encodings: bytes
    compression_type: int
    quality_used: int


def lround(value: float) -> int:
    """C ``lround``: nearest integer, halves away from zero. ValueError if not finite."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"compression quality {value} is not a finite number")
    magnitude = abs(value)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:
        whole += 1
    return int(math.copysign(whole, value)) if whole else 0


def zfp_precision(quality: float) -> int:
    """The ZFP precision for a requested quality: ``lround(quality)`` if it is 1..31,
    otherwise 32 (what zfp does with 0, negative and > 32 precisions for floats)."""
    precision = lround(quality)
    return precision if 1 <= precision < HIGH_COMPRESSION_QUALITY else HIGH_COMPRESSION_QUALITY


def _as_tile(data: np.ndarray) -> np.ndarray:
    tile = np.asarray(data)
    if tile.ndim != 2 or tile.shape[0] < 1 or tile.shape[1] < 1:
        raise ValueError(f"a tile must be a non-empty 2-D array, got shape {tile.shape}")
    return tile


def nan_encodings(tile: np.ndarray) -> np.ndarray:
    """Run lengths of the tile in row-major order, alternating non-NaN / NaN runs,
    starting with a (possibly empty) non-NaN run; int32, summing to ``tile.size``.

    Only NaN counts as NaN; +-Inf is a valid value.
    """
    return _runs_from_mask(np.isnan(_as_tile(tile)))


def _runs_from_mask(nan: np.ndarray) -> np.ndarray:
    mask = nan.ravel()
    n = mask.size
    changes = np.flatnonzero(mask[1:] != mask[:-1])
    edges = np.empty(changes.size + 2, dtype=np.int64)
    edges[0], edges[-1] = 0, n
    np.add(changes, 1, out=edges[1:-1])
    runs = np.diff(edges).astype(np.int32)
    if mask[0]:
        runs = np.concatenate((np.zeros(1, dtype=np.int32), runs))
    return runs


def fill_nan_blocks(tile: np.ndarray) -> None:
    """Replace NaNs in place, per 4x4 block, with the float32 mean of the block's
    non-NaN values (blocks with no NaN or no valid value are left alone).

    Blocks are aligned to the tile origin and partial at the right and top edges.
    The sum runs in float32 in the reference's order (``GetNanEncodingsBlock``:
    x outer, y inner), so the filled values, and hence the ZFP bytes, match.
    """
    if tile.dtype != np.float32 or tile.ndim != 2:
        raise ValueError(f"fill_nan_blocks needs a 2-D float32 array, got {tile.dtype} {tile.shape}")
    with np.errstate(invalid="ignore", over="ignore"):  # +Inf + -Inf sums to NaN, as in C
        _fill_nan_blocks(tile, None)


_SPARSE_FILL_BLOCKS = 256  # below this many blocks to fill, gather them instead


def _fill_nan_blocks(tile: np.ndarray, nan: np.ndarray | None) -> None:
    """``nan``: ``isnan(tile)`` if the caller already has it. Few blocks to fill
    (NaNs at the edge of a masked region) are gathered and filled alone; many are
    filled with whole-tile arithmetic."""
    h, w = tile.shape
    bh, bw = -(-h // 4), -(-w // 4)
    if h % 4 or w % 4:
        # Pad with NaN: padding is skipped like NaN, and whatever lands in it is cut off.
        work = np.full((bh * 4, bw * 4), np.nan, dtype=np.float32)
        work[:h, :w] = tile
        nan = None
    else:
        work = tile if tile.flags.c_contiguous else np.ascontiguousarray(tile)
    if nan is None:
        nan = np.isnan(work)
    # Each uint32 of the bool mask is one 4-pixel row of a block: 0 = no NaN,
    # 0x01010101 = all NaN.
    rows = nan.view(np.uint32).reshape(bh, 4, bw)
    r0, r1, r2, r3 = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    some_nan = ((r0 | r1) | (r2 | r3)) != 0
    all_nan = ((r0 & r1) & (r2 & r3)) == 0x01010101
    fill_block = some_nan & ~all_nan
    flat = np.flatnonzero(fill_block)
    if flat.size == 0:
        pass
    elif flat.size < _SPARSE_FILL_BLOCKS:
        _fill_some_blocks(work, bh, bw, flat // bw, flat % bw)
    else:
        _fill_all_blocks(work, nan, bh, bw, fill_block)
    if work is not tile:
        tile[...] = work[:h, :w]


def _fill_some_blocks(work: np.ndarray, bh: int, bw: int, bi: np.ndarray, bj: np.ndarray) -> None:
    blocks4 = work.reshape(bh, 4, bw, 4)
    sel = blocks4[bi, :, bj, :]  # (k, y, x)
    sel_nan = np.isnan(sel)
    values = np.where(sel_nan, np.float32(0.0), sel)
    # x outer, y inner; cumsum accumulates strictly in order, in float32
    ordered = values.transpose(0, 2, 1).reshape(bi.size, 16)
    total = np.cumsum(ordered, axis=1, dtype=np.float32)[:, -1]
    mean = total / (16 - np.count_nonzero(sel_nan.reshape(bi.size, 16), axis=1)).astype(np.float32)
    np.copyto(sel, mean[:, None, None], where=sel_nan)
    blocks4[bi, :, bj, :] = sel


def _fill_all_blocks(work: np.ndarray, nan: np.ndarray, bh: int, bw: int, fill_block: np.ndarray) -> None:
    # Branch-free bit arithmetic on wide rows: masked numpy operations (where,
    # copyto(where=), boolean indexing) are several times slower on ragged NaN
    # masks, and so are broadcasts whose innermost axis is only 4 long.
    # multiplying a 4-byte row of the bool mask by 0x01010101 sums its bytes into the top byte
    rows = (nan.view(np.uint32).reshape(bh, 4, bw) * np.uint32(0x01010101)) >> np.uint32(24)
    nan_count = (rows[:, 0] + rows[:, 1]) + (rows[:, 2] + rows[:, 3])
    bits = work.view(np.uint32)
    keep = nan.view(np.uint8).astype(np.uint32) - np.uint32(1)  # all ones where valid
    values = (bits & keep).view(np.float32)  # NaN -> +0.0, which leaves a sum unchanged
    planes = np.ascontiguousarray(values.reshape(bh, 4, bw, 4).transpose(3, 1, 0, 2))  # [x, y, bi, bj]
    total = np.zeros((bh, bw), dtype=np.float32)
    for x in range(4):
        for y in range(4):
            total += planes[x, y]
    mean = total / (np.uint32(16) - nan_count).astype(np.float32)
    # Per-block values expanded along each block row's columns: shape (bh, 1, W).
    fill_cols = np.repeat(fill_block, 4, axis=1)[:, None, :]
    mean_cols = np.repeat(mean.view(np.uint32), 4, axis=1)[:, None, :]
    replace = np.uint32(0) - (nan.reshape(bh, 4, 4 * bw) & fill_cols).astype(np.uint32)
    bits3 = bits.reshape(bh, 4, 4 * bw)
    np.bitwise_or(bits3 & ~replace, mean_cols & replace, out=bits3)


def zfp_compress(tile: np.ndarray, precision: int) -> bytes:
    """Header-less zfp fixed-precision stream of a 2-D float32 array (nx = columns).

    Through the compiled encoder when it is built (:mod:`.zfp_compiled`, about three
    times libzfp's speed), else libzfp directly (:mod:`.zfp_native`), else zfpy; the bytes
    are the same. The first two release the GIL while they compress, so tile encoders
    on several threads run at once.

    NaNs must already be filled (see ``fill_nan_blocks``); all-NaN blocks come out as
    zero blocks.
    """
    arr = np.asarray(tile, dtype=np.float32)
    if arr.ndim == 2 and not _row_major_view(arr):
        arr = np.ascontiguousarray(arr)
    if arr.ndim != 2:
        raise ValueError(f"zfp_compress needs a 2-D array, got shape {arr.shape}")
    if not 1 <= precision <= 64:
        raise ValueError(f"zfp precision {precision} is outside 1..64")
    if arr.dtype == np.float32 and arr.strides[1] == 4 and arr.strides[0] % 4 == 0:
        stream = zfp_compiled.compress(arr, int(precision))  # the GIL is released meanwhile
        if stream is None:
            stream = zfp_native.compress(arr, int(precision))
        if stream is not None:
            return stream
    return bytes(zfpy.compress_numpy(arr, precision=int(precision), write_header=False))


def _row_major_view(arr: np.ndarray) -> bool:
    """True for a row-major window of a larger float32 array (a tile cut out of a plane):
    zfp reads such strides directly and emits the same bytes as for a compact copy."""
    return arr.strides[1] == arr.itemsize and arr.strides[0] >= arr.itemsize * arr.shape[1]


def zfp_decompress(data: bytes, width: int, height: int, precision: int) -> np.ndarray:
    """Decode a header-less precision-mode stream into float32 ``(height, width)``,
    as the frontend's zfp wrapper does."""
    if width < 1 or height < 1:
        raise ValueError(f"tile size {width}x{height} must be at least 1x1")
    # zfp reads whole 64-bit words; pad a truncated stream so a bad input cannot read
    # past the buffer (the frontend's wasm decoder simply reads zeros there).
    buf = bytes(data) + bytes(-len(data) % 8 + 8)
    out = zfpy._decompress(buf, _ZFP_FLOAT, [int(height), int(width)], precision=int(precision))
    return np.asarray(out, dtype=np.float32).reshape(height, width)


def _ratio(raw_bytes: int, compressed_bytes: int) -> float:
    # The reference divides in float32; with sizes below 2**24 that changes no decision.
    return float(np.float32(raw_bytes) / np.float32(max(compressed_bytes, 1)))


def encode_tile(
    data: np.ndarray,
    compression_type: int,
    quality: float = 0.0,
    *,
    high_quality_fallback: bool = True,
) -> EncodedTile:
    """Encode one tile (float32 ``(height, width)``) for TileData.

    * NONE (0): raw float32 LE, row-major, NaN kept; no run lengths; quality 0.
    * ZFP (1): NaN run lengths (int32 LE), NaNs filled with their 4x4 block mean,
      zfp at ``zfp_precision(quality)``. With ``high_quality_fallback`` (the raster
      tile rule of ``Frame::FillRasterTileData``): if that precision is below 32 and
      the ratio ``4*w*h / len`` is above 20, compress again at 32 and keep that
      stream when its ratio is still above 10.
    * anything else (SZ = 2): ValueError; the reference drops such tiles.

    The caller's array is never modified.
    """
    tile = _as_tile(data)
    if compression_type == COMPRESSION_NONE:
        raw = np.ascontiguousarray(tile, dtype=_FLOAT32_LE).tobytes()
        return EncodedTile(raw, b"", COMPRESSION_NONE, 0)
    if compression_type != COMPRESSION_ZFP:
        raise ValueError(f"compression type {compression_type} is not supported (NONE=0 and ZFP=1 are)")

    precision = zfp_precision(quality)
    prepared = tile_nans.prepare(tile) if tile.dtype == np.float32 and _row_major_view(tile) else None
    if prepared is not None:
        runs_bytes, filled = prepared
        work = tile if filled is None else filled  # zfp reads a NaN-free window of the plane in place
    else:
        nan = np.isnan(tile)
        # Most tiles have no NaN: one run, and zfp reads the plane's window in place.
        runs = _runs_from_mask(nan) if nan.any() else np.array([tile.size], dtype=np.int32)
        runs_bytes = runs.astype(_INT32_LE).tobytes()
        if runs.size > 1:
            work = np.array(tile, dtype=np.float32, order="C", copy=True)
            with np.errstate(invalid="ignore", over="ignore"):
                _fill_nan_blocks(work, nan)
        else:
            work = np.asarray(tile, dtype=np.float32)  # zfp only reads it
    stream = zfp_compress(work, precision)
    raw_bytes = 4 * work.size
    if (
        high_quality_fallback
        and precision < HIGH_COMPRESSION_QUALITY
        and _ratio(raw_bytes, len(stream)) > _FALLBACK_RATIO
    ):
        stream_hq = zfp_compress(work, HIGH_COMPRESSION_QUALITY)
        if _ratio(raw_bytes, len(stream_hq)) > _FALLBACK_KEEP_RATIO:
            stream, precision = stream_hq, HIGH_COMPRESSION_QUALITY
    return EncodedTile(stream, runs_bytes, COMPRESSION_ZFP, precision)


def decode_tile(
    image_data: bytes,
    nan_encodings: bytes,
    width: int,
    height: int,
    compression_type: int,
    quality: float = 0.0,
    *,
    nan_value: float = float("nan"),
) -> np.ndarray:
    """Decode TileData bytes as the frontend does; returns float32 ``(height, width)``.

    ZFP streams are decoded at ``floor(quality)``; pixels in the odd-numbered runs of
    ``nan_encodings`` become ``nan_value`` (the frontend uses -FLT_MAX). Raises
    ValueError when the sizes do not add up.
    """
    n = int(width) * int(height)
    if compression_type == COMPRESSION_NONE:
        if len(image_data) != 4 * n:
            raise ValueError(f"NONE tile has {len(image_data)} bytes, expected {4 * n}")
        return np.frombuffer(image_data, dtype=_FLOAT32_LE).astype(np.float32).reshape(height, width)
    if compression_type != COMPRESSION_ZFP:
        raise ValueError(f"compression type {compression_type} is not supported")
    if len(nan_encodings) % 4:
        raise ValueError(f"nan_encodings has {len(nan_encodings)} bytes, not a multiple of 4")
    values = zfp_decompress(image_data, width, height, math.floor(quality)).ravel()
    runs = np.frombuffer(nan_encodings, dtype=_INT32_LE)
    if runs.size and (runs.min() < 0 or int(runs.sum()) != n):
        raise ValueError(f"nan_encodings runs sum to {int(runs.sum())}, expected {n}")
    starts = np.concatenate(([0], np.cumsum(runs, dtype=np.int64)))
    for k in range(1, runs.size, 2):
        values[starts[k] : starts[k + 1]] = nan_value
    return values.reshape(height, width)
