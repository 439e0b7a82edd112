"""The small sample cube shipped with the package, so a fresh install shows an image.

A rotating disc with a Gaussian line profile in a RA/DEC/FREQ cube with a beam,
written as BITPIX 16 with BSCALE so it stays small. Regenerate with
``python3 -m carta_trio.io.sample_cube program/sample/sample_cube.fits``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import fitsio
import numpy as np

SHAPE = (40, 128, 128)  # channels, y, x
REST_FREQUENCY = 1.420405752e9  # HI, Hz
CHANNEL_WIDTH = 48828.125  # Hz (~10 km/s)


def sample_data(seed: int = 2026) -> np.ndarray:
    """Brightness in Jy/beam, float32 [channel, y, x]: a rotating disc plus noise."""
    depth, height, width = SHAPE
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = x - width / 2 + 0.5, y - height / 2 + 0.5
    radius = np.hypot(dx, dy)
    surface = np.exp(-radius / 18.0) * (radius < 50)
    # Line-of-sight velocity of a flat rotation curve, in channels from the centre.
    velocity = 12.0 * np.tanh(radius / 8.0) * np.divide(dx, radius, out=np.zeros_like(dx), where=radius > 0)
    channels = np.arange(depth, dtype=np.float64)[:, None, None] - depth / 2
    cube = 0.8 * surface * np.exp(-0.5 * ((channels - velocity) / 2.0) ** 2)
    cube += rng.normal(0.0, 0.01, size=SHAPE)
    return cube.astype(np.float32)


def sample_header() -> list[dict]:
    cards = [
        ("BUNIT", "Jy/beam", "Brightness unit"),
        ("BMAJ", 4.0 / 3600, "Beam major axis (deg)"),
        ("BMIN", 3.0 / 3600, "Beam minor axis (deg)"),
        ("BPA", 30.0, "Beam position angle (deg)"),
        ("BTYPE", "Intensity", ""),
        ("OBJECT", "SAMPLE-DISC", "Synthetic rotating disc"),
        ("EQUINOX", 2000.0, ""),
        ("RADESYS", "FK5", ""),
        ("CTYPE1", "RA---SIN", ""),
        ("CRVAL1", 201.365, "deg"),
        ("CDELT1", -1.0 / 3600, "deg"),
        ("CRPIX1", 65.0, ""),
        ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--SIN", ""),
        ("CRVAL2", -43.019, "deg"),
        ("CDELT2", 1.0 / 3600, "deg"),
        ("CRPIX2", 65.0, ""),
        ("CUNIT2", "deg", ""),
        ("CTYPE3", "FREQ", ""),
        ("CRVAL3", REST_FREQUENCY, "Hz"),
        ("CDELT3", CHANNEL_WIDTH, "Hz"),
        ("CRPIX3", SHAPE[0] / 2 + 1, ""),
        ("CUNIT3", "Hz", ""),
        ("SPECSYS", "LSRK", ""),
        ("RESTFRQ", REST_FREQUENCY, "Rest frequency (Hz)"),
        ("TELESCOP", "SYNTHETIC", ""),
    ]
    return [{"name": n, "value": v, "comment": c} for n, v, c in cards]


def write_sample(path: Path) -> None:
    """Write the sample cube (BITPIX 16, BSCALE chosen for 1e-5 Jy/beam steps)."""
    data = sample_data()
    bscale = 2.0e-5
    scaled = np.round(data / bscale).clip(-32768, 32767).astype(">i2")
    header = sample_header() + [
        {"name": "BSCALE", "value": bscale, "comment": ""},
        {"name": "BZERO", "value": 0.0, "comment": ""},
    ]
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
        f.write(scaled, header=header)
    tmp.replace(path)


if __name__ == "__main__":
    write_sample(Path(sys.argv[1]))
