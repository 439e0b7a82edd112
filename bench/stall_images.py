"""Test images for ``bench_loop_stall``: one writer per file format the server reads.

Each writer takes a path and a float32 array in numpy order (``[z, y, x]``) and writes
that image in its format the way real files are commonly laid out:

* FITS plain: one primary HDU (read with ``preadv``);
* FITS .gz: a plain FITS file gzip-compressed whole;
* FITS RICE / GZIP tiles: a tile-compressed extension with cfitsio's default tiles (one
  image row per tile), RICE on integers (lossless), GZIP on floats (quantised);
* HDF5 (IDIA): ``DATA`` chunked 512 x 512 per plane and a contiguous ``SwizzledData``
  copy (as ``fits2idia`` writes), without ``Statistics`` so cube histograms really read;
* CASA: a casacore ``PagedImage`` (tiled by casacore's default tile shape);
* MIRIAD: a MIRIAD image directory (``tests/image_factory.write_miriad``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import fitsio
import numpy as np

_CTYPES = ("RA---SIN", "DEC--SIN", "FREQ")


def _header(ndim: int) -> list[tuple[str, object]]:
    cards: list[tuple[str, object]] = []
    for i, ctype in enumerate(_CTYPES[:ndim], start=1):
        cards += [(f"CTYPE{i}", ctype), (f"CRPIX{i}", 1.0), (f"CRVAL{i}", 1.4e9 if ctype == "FREQ" else 10.0),
                  (f"CDELT{i}", 1e6 if ctype == "FREQ" else 1e-4), (f"CUNIT{i}", "Hz" if ctype == "FREQ" else "deg")]
    return cards + [("BUNIT", "Jy/beam")]


def write_fits(path: Path, data: np.ndarray, compress: str | None = None) -> None:
    header = [{"name": k, "value": v} for k, v in _header(data.ndim)]
    values = data.astype(np.int32) if compress == "RICE" else data
    fitsio.write(str(path), values, header=header, compress=compress, clobber=True)


def write_fits_gz(path: Path, data: np.ndarray) -> None:
    """A plain FITS file gzip-compressed whole (``.fits.gz``), as archives ship them."""
    import gzip
    import shutil

    plain = path.with_name(path.name.removesuffix(".gz"))
    write_fits(plain, data)
    with open(plain, "rb") as source, gzip.open(path, "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    plain.unlink()


def write_hdf5(path: Path, data: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        group = f.create_group("0", track_order=True)
        group.attrs["SIMPLE"] = np.uint8(1)
        group.attrs["BITPIX"] = np.int64(-32)
        group.attrs["NAXIS"] = np.int64(data.ndim)
        for i, n in enumerate(reversed(data.shape), start=1):
            group.attrs[f"NAXIS{i}"] = np.int64(n)
        for key, value in _header(data.ndim):
            group.attrs[key] = np.bytes_(value) if isinstance(value, str) else np.float64(value)
        chunks = (1,) * (data.ndim - 2) + (min(512, data.shape[-2]), min(512, data.shape[-1]))
        group.create_dataset("DATA", data=data, chunks=chunks)
        if data.ndim == 3:
            group.create_dataset("SwizzledData/ZYX", data=np.ascontiguousarray(data.transpose(2, 1, 0)))


def write_casa(path: Path, data: np.ndarray) -> None:
    from casacore import images

    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        fits_path = Path(tmp) / "image.fits"
        write_fits(fits_path, data)
        image = images.image(str(fits_path))
        image.saveas(str(path), overwrite=True)
        del image


def write_miriad(path: Path, data: np.ndarray) -> None:
    from tests.image_factory import write_miriad as write

    write(path, data, [(k, v) for k, v in _header(data.ndim)])


#: name -> (file name, writer)
FORMATS: dict[str, tuple[str, Callable[[Path, np.ndarray], None]]] = {
    "FITS plain": ("plain.fits", lambda p, d: write_fits(p, d)),
    "FITS RICE": ("rice.fits", lambda p, d: write_fits(p, d, "RICE")),
    "FITS GZIP tiles": ("gzip.fits", lambda p, d: write_fits(p, d, "GZIP")),
    "FITS .gz": ("image.fits.gz", write_fits_gz),
    "HDF5 (IDIA)": ("image.hdf5", write_hdf5),
    "CASA": ("image.im", write_casa),
    "MIRIAD": ("image.mir", write_miriad),
}


def noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Gaussian noise around 100 (float32), so integer and quantised codecs work for real."""
    rng = np.random.default_rng(seed)
    out = np.empty(shape, dtype=np.float32)
    for z in range(shape[0]):
        out[z] = rng.normal(100.0, 10.0, size=shape[1:])
    return out
