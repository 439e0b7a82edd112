"""Bytes on the wire: tile geometry, ZFP + NaN run lengths, contour packing.

Modules: ``tile_geometry`` (tile codes, layers, mips, bounds), ``downsample``
(reference-exact block mean), ``raster_tiles`` (NaN run lengths, NaN fill, ZFP/NONE
payloads and their decoder), ``contour_encoding`` (ContourSet bytes, chunk buffer),
``vector_tiles`` (vector-overlay tile grid and payloads), ``pv_preview`` (PV preview
payload). Pure numpy/zfpy/zstandard: no trio here.
"""
