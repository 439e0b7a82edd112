"""The small sample cube shipped with the package, so a fresh install shows a real-looking sky.

An HI-like spectral cube (``program/sample/sample_cube.fits``, 1.6 MB) that gives every
view something to show from the first plane on:

* a rotating, inclined disc galaxy (exponential disc, flat rotation curve, thermal line
  width): its channel maps move across the disc, moment 0 is the disc, moment 1 the
  velocity gradient, a PV cut along the major axis the rotation curve;
* a companion dwarf with a narrow line at another velocity;
* three continuum sources (one of them slightly resolved) with sloped spectra, seen in
  every channel, so channel 0 already has structure and contours;
* everything convolved with an elliptical beam (also written as BMAJ/BMIN/BPA), plus
  noise convolved with the same beam and scaled to 1.5 mJy/beam;
* a real-looking WCS: SIN projection near a real sky position, a barycentric frequency
  axis around the redshifted HI line with RESTFRQ, SPECSYS and velocity of the source.

Everything is generated from a fixed seed with numpy only, so the file is byte for byte
reproducible: ``python3 -m carta_trio.io.sample_cube program/sample/sample_cube.fits``.
Values are stored as BITPIX 16 with BSCALE (3 µJy/beam steps) to keep the file small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import fitsio
import numpy as np

SHAPE = (48, 128, 128)  # channels, y, x
REST_FREQUENCY = 1.420405752e9  # HI, Hz
SPEED_OF_LIGHT = 299792.458  # km/s
SYSTEMIC_VELOCITY = 1210.0  # km/s (optical convention), barycentric
CHANNEL_WIDTH_KMS = 10.0
PIXEL_ARCSEC = 2.0
BEAM_ARCSEC = (9.0, 7.0, 25.0)  # major, minor FWHM, position angle (deg, east of north)
NOISE = 1.5e-3  # Jy/beam
BSCALE = 3.0e-6
SEED = 20261207


def _gaussian_kernel_ft(shape: tuple[int, int], major_px: float, minor_px: float, pa_deg: float) -> np.ndarray:
    """Fourier transform of a unit-peak elliptical Gaussian (FWHM in pixels, PA from +y towards -x)."""
    ny, nx = shape
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.rfftfreq(nx)[None, :]
    to_sigma = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    smaj, smin = major_px * to_sigma, minor_px * to_sigma
    pa = np.radians(pa_deg)
    # major axis direction on the pixel grid: north (+y) rotated towards east (-x)
    u = fy * np.cos(pa) - fx * np.sin(pa)
    v = fy * np.sin(pa) + fx * np.cos(pa)
    kernel: np.ndarray = np.exp(-2.0 * np.pi**2 * ((smaj * u) ** 2 + (smin * v) ** 2))
    return kernel


def _convolve(planes: np.ndarray, kernel_ft: np.ndarray) -> np.ndarray:
    ny, nx = planes.shape[-2:]
    return np.fft.irfft2(np.fft.rfft2(planes) * kernel_ft, s=(ny, nx))


def _channel_velocities() -> np.ndarray:
    """Velocity (km/s) of each channel; the cube's centre channel is the systemic velocity."""
    depth = SHAPE[0]
    return SYSTEMIC_VELOCITY + (np.arange(depth) - depth / 2) * CHANNEL_WIDTH_KMS


def _disc(velocities: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The rotating disc galaxy in Jy/pixel-ish units before beam convolution."""
    cx, cy = 60.0, 66.0
    inclination, pa = np.radians(58.0), np.radians(35.0)
    dx, dy = x - cx, y - cy
    # rotate into the disc frame (major axis along the PA, measured from north through east)
    major = -dx * np.sin(pa) + dy * np.cos(pa)
    minor = (dx * np.cos(pa) + dy * np.sin(pa)) / np.cos(inclination)
    radius = np.hypot(major, minor)
    surface = np.exp(-radius / 16.0) * (1.0 - 0.4 * np.exp(-radius / 4.0)) * np.clip((46 - radius) / 6, 0, 1)
    rotation = 165.0 * np.tanh(radius / 7.0)
    cos_theta = np.divide(major, radius, out=np.zeros_like(radius), where=radius > 0)
    v_los = SYSTEMIC_VELOCITY + rotation * cos_theta * np.sin(inclination)
    dispersion = 11.0
    line = np.exp(-0.5 * ((velocities[:, None, None] - v_los) / dispersion) ** 2)
    emission: np.ndarray = 0.0075 * surface * line
    return emission


def _companion(velocities: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    r2 = ((x - 101.0) / 3.5) ** 2 + ((y - 98.0) / 2.5) ** 2
    line = np.exp(-0.5 * ((velocities[:, None, None] - (SYSTEMIC_VELOCITY + 140.0)) / 9.0) ** 2)
    return 0.006 * np.exp(-0.5 * r2) * line


def _continuum(velocities: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Three continuum sources (Jy/pixel before convolution) with sloped spectra."""
    sources = [  # x, y, flux (Jy), spectral slope per 100 km/s, size (px, 0 = point)
        (24.0, 22.0, 0.030, -0.02, 0.0),
        (108.0, 30.0, 0.012, 0.03, 0.0),
        (92.0, 112.0, 0.018, -0.01, 2.2),
    ]
    out = np.zeros((len(velocities),) + y.shape)
    for sx, sy, flux, slope, size in sources:
        spectrum = flux * (1.0 + slope * (velocities - SYSTEMIC_VELOCITY) / 100.0)
        if size > 0:
            shape = np.exp(-0.5 * ((x - sx) ** 2 + (y - sy) ** 2) / size**2)
            shape /= shape.sum()
        else:
            shape = np.zeros(y.shape)
            shape[int(sy), int(sx)] = 1.0
        out += spectrum[:, None, None] * shape
    return out


def sample_data(seed: int = SEED) -> np.ndarray:
    """Brightness in Jy/beam, float32 [channel, y, x]."""
    depth, height, width = SHAPE
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    velocities = _channel_velocities()
    major_px, minor_px, pa = BEAM_ARCSEC[0] / PIXEL_ARCSEC, BEAM_ARCSEC[1] / PIXEL_ARCSEC, BEAM_ARCSEC[2]
    kernel = _gaussian_kernel_ft((height, width), major_px, minor_px, pa)
    beam_area = 2.0 * np.pi * (major_px * minor_px) / (8.0 * np.log(2.0))  # pixels per beam
    sky = _disc(velocities, y, x) + _companion(velocities, y, x) + _continuum(velocities, y, x)
    # Jy/pixel convolved with the (unit-area) beam, times its area in pixels: Jy/beam
    cube = _convolve(sky, kernel) * beam_area
    rng = np.random.default_rng(seed)
    noise = _convolve(rng.normal(size=SHAPE), kernel)
    noise *= NOISE / noise.std()
    data: np.ndarray = (cube + noise).astype(np.float32)
    return data


def _frequency(velocity_kms: float) -> float:
    """Observed frequency of the HI line for an optical-convention velocity."""
    return REST_FREQUENCY / (1.0 + velocity_kms / SPEED_OF_LIGHT)


def sample_header() -> list[dict[str, object]]:
    depth = SHAPE[0]
    centre = depth / 2
    f0 = _frequency(SYSTEMIC_VELOCITY)
    df = _frequency(SYSTEMIC_VELOCITY + CHANNEL_WIDTH_KMS) - f0
    cards = [
        ("BUNIT", "Jy/beam", "Brightness unit"),
        ("BTYPE", "Intensity", ""),
        ("BMAJ", BEAM_ARCSEC[0] / 3600, "Beam major axis FWHM (deg)"),
        ("BMIN", BEAM_ARCSEC[1] / 3600, "Beam minor axis FWHM (deg)"),
        ("BPA", BEAM_ARCSEC[2], "Beam position angle (deg)"),
        ("OBJECT", "SAMPLE-GALAXY", "Synthetic HI disc, companion and continuum"),
        ("TELESCOP", "SYNTHETIC", "Generated by carta_trio.io.sample_cube"),
        ("DATE-OBS", "2024-03-21T04:00:00.0", ""),
        ("EQUINOX", 2000.0, ""),
        ("RADESYS", "FK5", ""),
        ("CTYPE1", "RA---SIN", ""),
        ("CRVAL1", 186.7366250, "deg"),
        ("CDELT1", -PIXEL_ARCSEC / 3600, "deg"),
        ("CRPIX1", SHAPE[2] / 2 + 1, ""),
        ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--SIN", ""),
        ("CRVAL2", 12.6587222, "deg"),
        ("CDELT2", PIXEL_ARCSEC / 3600, "deg"),
        ("CRPIX2", SHAPE[1] / 2 + 1, ""),
        ("CUNIT2", "deg", ""),
        ("CTYPE3", "FREQ", ""),
        ("CRVAL3", f0, "Hz"),
        ("CDELT3", df, "Hz"),
        ("CRPIX3", centre + 1, ""),
        ("CUNIT3", "Hz", ""),
        ("SPECSYS", "BARYCENT", ""),
        ("RESTFRQ", REST_FREQUENCY, "Rest frequency (Hz)"),
        ("VELREF", 259, "Barycentric, optical (AIPS convention)"),
    ]
    return [{"name": n, "value": v, "comment": c} for n, v, c in cards]


def write_sample(path: Path) -> None:
    """Write the sample cube (BITPIX 16, BSCALE steps of 3 µJy/beam)."""
    data = sample_data()
    scaled = np.round(data / BSCALE).clip(-32768, 32767).astype(">i2")
    header = sample_header() + [
        {"name": "BSCALE", "value": BSCALE, "comment": ""},
        {"name": "BZERO", "value": 0.0, "comment": ""},
    ]
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
        f.write(scaled, header=header)
    tmp.replace(path)


if __name__ == "__main__":
    write_sample(Path(sys.argv[1]))
