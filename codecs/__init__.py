"""Bytes on the wire: tile geometry, ZFP + NaN run lengths, contour packing."""
