"""Work that runs on dask.distributed workers (``--dask_scheduler``).

A task names the image by path and opens it itself (the usual HPC set-up: workers see
the same file system as the server), so only a few numbers go over the network and
only results come back. Readers are kept per worker process, keyed by the file's
version, so a job's many tasks open the image once per worker. Everything here is
plain numpy and file reading: no trio, no server state.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from carta_trio.analysis import histograms
from carta_trio.analysis.moments import Moment, MomentCoordinates, PixelRange, moment_block
from carta_trio.analysis.pv import box_spectra
from carta_trio.analysis.region_geometry import RegionMask
from carta_trio.analysis.spectral_profiles import region_spectral_profiles

#: Open readers kept per worker process.
READERS_KEPT = 4

_readers: OrderedDict[tuple[str, str, int, int], Any] = OrderedDict()
_lock = threading.Lock()


class SourceChanged(Exception):
    """The image on the worker's file system is not the one the server opened."""


def _reader(path: str, hdu: str, shape: tuple[int, ...]) -> Any:
    from carta_trio.io import images

    st = os.stat(path)
    key = (path, hdu, st.st_mtime_ns, st.st_size)
    with _lock:
        reader = _readers.get(key)
        if reader is not None:
            _readers.move_to_end(key)
            return reader
    reader = images.open_image(path, hdu)
    if tuple(reader.shape) != tuple(shape):
        reader.close()
        raise SourceChanged(f"{os.path.basename(path)} has shape {tuple(reader.shape)} on the worker, "
                            f"{tuple(shape)} on the server")
    with _lock:
        _readers[key] = reader
        while len(_readers) > READERS_KEPT:
            _, old = _readers.popitem(last=False)
            old.close()
    return reader


def moment_task(path: str, hdu: str, shape: tuple[int, ...], stokes: int,
                box: tuple[int, int, int, int, int, int], coordinates: MomentCoordinates,
                moments: list[Moment], prange: PixelRange,
                mask: np.ndarray | None) -> tuple[dict[Moment, np.ndarray], int]:
    """The moment planes of one box ``(x0, x1, y0, y1, z0, z1)`` of Stokes ``stokes``."""
    x0, x1, y0, y1, z0, z1 = box
    block = _reader(path, hdu, shape).read_cube(x0, x1, y0, y1, z0, z1, stokes)
    result = moment_block(block, coordinates, moments, prange, mask)
    return result.planes, result.selected


def moment_group_task(path: str, hdu: str, shape: tuple[int, ...], stokes: int,
                      boxes: list[tuple[int, int, int, int, int, int]], coordinates: MomentCoordinates,
                      moments: list[Moment], prange: PixelRange,
                      masks: list[np.ndarray | None]) -> list[tuple[dict[Moment, np.ndarray], int]]:
    """:func:`moment_task` for several boxes in one task: a task costs ~10 ms of scheduling
    and transfer, so a job runs as a few large tasks rather than many small ones."""
    return [moment_task(path, hdu, shape, stokes, box, coordinates, moments, prange, mask)
            for box, mask in zip(boxes, masks)]


def _planes(path: str, hdu: str, shape: tuple[int, ...], stokes: int, z0: int, z1: int) -> np.ndarray:
    reader = _reader(path, hdu, shape)
    block: np.ndarray = reader.read_cube(0, reader.width, 0, reader.height, z0, z1, stokes)
    return block


def plane_stats_task(path: str, hdu: str, shape: tuple[int, ...], stokes: int, z0: int,
                     z1: int) -> list[histograms.BasicStats]:
    """Cube histogram, first pass: per-plane basic statistics of channels ``z0:z1``."""
    return histograms.basic_stats_planes(_planes(path, hdu, shape, stokes, z0, z1))


def bin_counts_task(path: str, hdu: str, shape: tuple[int, ...], stokes: int, z0: int, z1: int,
                    bins: histograms.HistogramBins, within: bool) -> np.ndarray:
    """Cube histogram, second pass: bin counts of channels ``z0:z1``."""
    return histograms.bin_counts(_planes(path, hdu, shape, stokes, z0, z1), bins, within_bounds=within)


def pv_spectra_task(path: str, hdu: str, shape: tuple[int, ...], stokes: int, masks: list[RegionMask | None],
                    z0: int, z1: int) -> np.ndarray:
    """PV image: ``[len(masks), z1 - z0]`` mean spectra of a group of the cut's boxes."""
    reader = _reader(path, hdu, shape)

    def read(mask: RegionMask) -> np.ndarray:
        block: np.ndarray = reader.read_cube(mask.x0, mask.x1, mask.y0, mask.y1, z0, z1, stokes)
        return block

    return box_spectra(read, masks, z1 - z0)


def region_profile_task(path: str, hdu: str, shape: tuple[int, ...], stokes: int, mask: RegionMask,
                        z0: int, z1: int, stats: list[int], flux: float | np.ndarray) -> dict[int, np.ndarray]:
    """Region spectral profile: statistics ``stats`` of channels ``z0:z1`` over ``mask``."""
    block = _reader(path, hdu, shape).read_cube(mask.x0, mask.x1, mask.y0, mask.y1, z0, z1, stokes)
    return region_spectral_profiles(block, None if mask.is_full else mask.mask, stats, flux)
