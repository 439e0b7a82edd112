"""PvPreviewData image payload (WIRE.md 8.2).

The preview is a float32 2-D array, row-major with x fastest (normally x = offset
along the cut, y = channel; swapped with ``reverse``). The frontend always runs it
through its ZFP decoder, so it is encoded exactly as a raster tile (NaN run lengths,
4x4 NaN fill, header-less zfp with nx = width, ny = height) but once, at
``lround(quality)``, without the raster high-quality retry
(``PvPreviewCut::FillCompressedPreviewData``). Quick updates while the cut is being
dragged use the animation quality; the others the image quality -- the caller picks.
"""

from __future__ import annotations

import numpy as np

from .raster_tiles import COMPRESSION_NONE, EncodedTile, encode_tile, lround

__all__ = ["encode_pv_preview"]


def encode_pv_preview(data: np.ndarray, compression_type: int, quality: float) -> EncodedTile:
    """Encode a preview image for ``PvPreviewData``.

    Set the message's ``width``/``height`` from ``data.shape[1]``/``data.shape[0]``
    and ``compression_quality`` from ``quality_used``. For NONE the reference still
    reports ``lround(quality)``, so ``quality_used`` is that value there too.
    """
    encoded = encode_tile(data, compression_type, quality, high_quality_fallback=False)
    if compression_type == COMPRESSION_NONE:
        return EncodedTile(encoded.image_data, b"", COMPRESSION_NONE, lround(quality))
    return encoded
