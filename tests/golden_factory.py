"""Writers for the example files of GOLDEN.md §1 (headers exactly as the recipes say).

Each ``write_*`` function writes one file into a folder and returns its path; the
pixel data is float32 Gaussian noise (only the headers matter for file info).
``write_all`` makes the whole GOLDEN folder. Used by the file-browser and file-info
tests and by ``bench/bench_file_browser.py``.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["write_all", "FITS_WRITERS"]


def _noise(shape: tuple[int, ...], seed: int = 42) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, size=shape).astype(np.float32)


def _axis(h: fits.Header, i: int, ctype: str, crval: float, crpix: float, cdelt: float, cunit: str) -> None:
    h[f"CTYPE{i}"], h[f"CRVAL{i}"], h[f"CRPIX{i}"], h[f"CDELT{i}"], h[f"CUNIT{i}"] = ctype, crval, crpix, cdelt, cunit


def cube_freq_header() -> fits.Header:
    h = fits.Header()
    _axis(h, 1, "RA---SIN", 201.365, 17.0, -0.0005, "deg")
    _axis(h, 2, "DEC--SIN", -43.019, 13.0, 0.0005, "deg")
    _axis(h, 3, "FREQ", 230.538e9, 1.0, 1.0e6, "Hz")
    h["RESTFRQ"], h["SPECSYS"], h["VELREF"], h["EQUINOX"], h["RADESYS"] = 230.538e9, "LSRK", 257, 2000.0, "FK5"
    h["BUNIT"], h["BMAJ"], h["BMIN"], h["BPA"] = "Jy/beam", 0.0025, 0.0015, -20.0
    return h


def write_cube_freq(folder: Path) -> Path:
    path = folder / "cube_freq.fits"
    fits.PrimaryHDU(_noise((10, 24, 32)), cube_freq_header()).writeto(path, overwrite=True)
    return path


def eq_pos_header() -> fits.Header:
    h = fits.Header()
    _axis(h, 1, "RA---SIN", 83.8220833333, 32.0, -0.0002777777778, "deg")
    _axis(h, 2, "DEC--SIN", 22.0144722222, 24.5, 0.0002777777778, "deg")
    h["EQUINOX"], h["RADESYS"], h["BUNIT"] = 2000.0, "FK5", "JY/BEAM"
    h["BMAJ"], h["BMIN"], h["BPA"] = 0.001388888889, 0.0008333333333, 35.0
    h["OBJECT"] = ("CRAB", "source name")
    h["TELESCOP"] = "ALMA"
    h["NITER"] = (1000, "an integer card")
    h["GAIN"] = (0.1, "a float card")
    h["DOCLEAN"] = (True, "a logical card")
    h["OBSRA"] = 83.8220833333
    h["DATE-OBS"] = "2020-01-01T00:00:00.000"
    h.add_history("first history line")
    h.add_comment("a comment card")
    return h


def write_eq_pos(folder: Path) -> Path:
    path = folder / "eq_pos.fits"
    fits.PrimaryHDU(_noise((48, 64)), eq_pos_header()).writeto(path, overwrite=True)
    return path


def write_eq_neg(folder: Path) -> Path:
    h = fits.Header()
    _axis(h, 1, "RA---SIN", 275.0875, 321.0, -0.0001111111111, "deg")
    _axis(h, 2, "DEC--SIN", -16.20277777778, 401.0, 0.0001111111111, "deg")
    h["RADESYS"], h["BUNIT"] = "ICRS", "Jy/beam"
    path = folder / "eq_neg.fits"
    fits.PrimaryHDU(_noise((48, 64)), h).writeto(path, overwrite=True)
    return path


def write_stokes4d(folder: Path) -> Path:
    h = fits.Header()
    _axis(h, 1, "RA---TAN", 10.6847083, 16.0, -0.001, "deg")
    _axis(h, 2, "DEC--TAN", 41.26875, 12.0, 0.001, "deg")
    _axis(h, 3, "FREQ", 1.4e9, 1.0, 2.0e6, "Hz")
    _axis(h, 4, "STOKES", 1.0, 1.0, 1.0, "")
    h["RESTFRQ"], h["SPECSYS"], h["EQUINOX"], h["RADESYS"] = 1.420405752e9, "BARYCENT", 2000.0, "FK5"
    h["BUNIT"], h["BMAJ"], h["BMIN"], h["BPA"] = "JY/BEAM", 0.004, 0.003, 10.0
    path = folder / "stokes4d.fits"
    fits.PrimaryHDU(_noise((4, 5, 24, 32)), h).writeto(path, overwrite=True)
    return path


def write_galactic(folder: Path) -> Path:
    h = fits.Header()
    _axis(h, 1, "GLON-CAR", 120.5, 32.0, -0.01, "deg")
    _axis(h, 2, "GLAT-CAR", -2.25, 24.0, 0.01, "deg")
    h["BUNIT"] = "K"
    path = folder / "galactic.fits"
    fits.PrimaryHDU(_noise((48, 64)), h).writeto(path, overwrite=True)
    return path


def write_ecliptic(folder: Path) -> Path:
    h = fits.Header()
    _axis(h, 1, "ELON-CAR", 200.0, 32.0, -0.01, "deg")
    _axis(h, 2, "ELAT-CAR", 10.5, 24.0, 0.01, "deg")
    path = folder / "ecliptic.fits"
    fits.PrimaryHDU(_noise((48, 64)), h).writeto(path, overwrite=True)
    return path


def write_swapped(folder: Path) -> Path:
    h = fits.Header()
    _axis(h, 1, "FREQ", 1.0e11, 1.0, 5.0e7, "Hz")
    _axis(h, 2, "RA---SIN", 150.0, 16.0, -0.001, "deg")
    _axis(h, 3, "DEC--SIN", 2.5, 12.0, 0.001, "deg")
    h["RESTFRQ"], h["SPECSYS"], h["EQUINOX"], h["BUNIT"] = 1.0e11, "LSRK", 2000.0, "Jy/beam"
    path = folder / "swapped.fits"
    fits.PrimaryHDU(_noise((24, 32, 8)), h).writeto(path, overwrite=True)
    return path


def write_int16_scaled(folder: Path) -> Path:
    h = fits.Header()
    _axis(h, 1, "RA---SIN", 83.8220833333, 32.0, -0.0002777777778, "deg")
    _axis(h, 2, "DEC--SIN", 22.0144722222, 24.0, 0.0002777777778, "deg")
    h["EQUINOX"] = 2000.0
    rng = np.random.default_rng(42)
    hdu = fits.PrimaryHDU(rng.integers(-1000, 1000, size=(48, 64)).astype(np.int16), h)
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 0.0
    path = folder / "int16_scaled.fits"
    hdu.writeto(path, overwrite=True)
    return path


def write_multihdu(folder: Path) -> Path:
    h1 = fits.Header()
    _axis(h1, 1, "RA---TAN", 150.1, 20.0, -0.0002, "deg")
    _axis(h1, 2, "DEC--TAN", 2.2, 15.0, 0.0002, "deg")
    h1["EQUINOX"], h1["BUNIT"] = 2000.0, "MJy/sr"
    h2 = fits.Header()
    _axis(h2, 1, "RA---TAN", 150.1, 10.0, -0.0004, "deg")
    _axis(h2, 2, "DEC--TAN", 2.2, 8.0, 0.0004, "deg")
    h2["EQUINOX"] = 2000.0
    primary = fits.PrimaryHDU()
    primary.header["ORIGIN"] = "golden"
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name="FLUX", format="E", array=np.array([1.0, 2.0, 3.0], dtype=np.float32))], name="TAB"
    )
    hdul = fits.HDUList(
        [primary, fits.ImageHDU(_noise((30, 40)), h1, name="SCI"), fits.ImageHDU(_noise((16, 20)), h2, name="ERR"), table]
    )
    path = folder / "multihdu.fits"
    hdul.writeto(path, overwrite=True)
    return path


def gzip_copy(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with open(path, "rb") as fi, gzip.open(target, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    return target


def _hdf5_value(card: fits.Card):
    value = card.value
    if isinstance(value, bool):
        return np.uint8(1 if value else 0)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    return np.bytes_(str(value))


def write_idia_hdf5(folder: Path, name: str = "cube_idia.hdf5", simple: bool = True) -> Path:
    import h5py

    path = folder / name
    cube = _noise((10, 24, 32))
    header = fits.PrimaryHDU(cube, cube_freq_header()).header
    with h5py.File(path, "w") as f:
        g = f.create_group("0", track_order=True)
        if simple:
            g.attrs["SIMPLE"] = np.uint8(1)
        g.attrs["SCHEMA_VERSION"] = np.bytes_("0.3")
        g.attrs["HDF5_CONVERTER"] = np.bytes_("hdf_convert")
        g.attrs["HDF5_CONVERTER_VERSION"] = np.bytes_("0.1.10")
        g.attrs["HDF5_DATE"] = np.bytes_("2024-01-01T00:00:00")
        for card in header.cards:
            if card.keyword in ("SIMPLE", "EXTEND", ""):
                continue
            g.attrs[card.keyword] = _hdf5_value(card)
        g.create_dataset("DATA", data=cube)
    return path


def write_casa(folder: Path, fits_path: Path) -> Path:
    from casacore import images

    target = folder / fits_path.name.replace(".fits", ".image")
    images.image(str(fits_path)).saveas(str(target), overwrite=True)
    return target


FITS_WRITERS = {
    "eq_pos.fits": write_eq_pos,
    "eq_neg.fits": write_eq_neg,
    "cube_freq.fits": write_cube_freq,
    "stokes4d.fits": write_stokes4d,
    "galactic.fits": write_galactic,
    "ecliptic.fits": write_ecliptic,
    "swapped.fits": write_swapped,
    "int16_scaled.fits": write_int16_scaled,
    "multihdu.fits": write_multihdu,
}


def write_all(folder: Path, casa: bool = True) -> dict[str, Path]:
    """Write every GOLDEN example file into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: writer(folder) for name, writer in FITS_WRITERS.items()}
    for name in ("cube_freq.fits", "multihdu.fits"):
        gz = gzip_copy(paths[name])
        paths[gz.name] = gz
    paths["cube_idia.hdf5"] = write_idia_hdf5(folder)
    paths["cube_nosimple.hdf5"] = write_idia_hdf5(folder, "cube_nosimple.hdf5", simple=False)
    if casa:
        for name in ("cube_freq.fits", "eq_pos.fits"):
            image = write_casa(folder, paths[name])
            paths[image.name] = image
    return paths
