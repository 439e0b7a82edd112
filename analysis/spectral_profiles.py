"""Spectral profiles: coordinates, region statistics per channel, streaming helpers (ANALYTICS.md §4).

* :func:`parse_coordinate` / :func:`resolve_stokes_index` — requirement coordinates
  (``"z"``, ``"Iz"``, ``"Qx"``, ``"Ptotalz"``, ``"I"``, …) to a Stokes index, with the
  reference's header → computed (13–17) → assumed ``(value − 1) % 4`` fallback.
* :func:`region_spectral_profiles` — per-channel statistics of a region for a chunk of
  channels: pass the ``[z, y, x]`` bounding-box block of those channels and the 2-D
  mask; the actor streams partial results by calling it chunk after chunk (sizes from
  :func:`next_region_delta`) into a :class:`ProfileAccumulator`.
* :func:`computed_region_profiles` — Ptotal, Plinear, PFtotal, PFlinear, Pangle region
  profiles, combined statistic by statistic from the I/Q/U/V profiles (§4.6).

Cursor profiles (region 0) are the raw float32 pixel values along the spectral axis
(``ImageReader.read_spectrum``); for computed Stokes combine the component spectra with
:func:`carta_trio.analysis.polarization.computed_stokes`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .polarization import COMPUTED_STOKES, PolarizationType, combine_profiles, required_components
from .reductions import PlaneMoments, plane_moments
from .statistics import SPECTRAL_STATS, StatsType, needs_for, stats_from_moments

__all__ = [
    "STOKES_NAMES",
    "INIT_DELTA_Z",
    "TARGET_DELTA_TIME_MS",
    "TARGET_PARTIAL_CURSOR_TIME_MS",
    "TARGET_PARTIAL_REGION_TIME_MS",
    "parse_coordinate",
    "resolve_stokes_index",
    "region_spectral_profiles",
    "SUM_STATS",
    "profiles_from_sums",
    "computed_region_profiles",
    "ProfileAccumulator",
    "next_region_delta",
    "next_cursor_delta",
]

INIT_DELTA_Z = 10
TARGET_DELTA_TIME_MS = 50
TARGET_PARTIAL_CURSOR_TIME_MS = 500
TARGET_PARTIAL_REGION_TIME_MS = 1000

#: Polarization names recognised in coordinates (BE ``StokesStringTypes``).
STOKES_NAMES: dict[str, PolarizationType] = {
    name: PolarizationType[name]
    for name in ("I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX",
                 "Ptotal", "Plinear", "PFtotal", "PFlinear", "Pangle")
}


def parse_coordinate(coordinate: str) -> tuple[PolarizationType | None, str]:
    """Split a requirement coordinate into ``(polarization or None for current, axis)``.

    ``""``, ``"x"``, ``"y"``, ``"z"`` → current Stokes; ``"Iz"``, ``"Qx"``,
    ``"Ptotalz"`` → that polarization and axis; a bare ``"I"`` → axis ``""``.
    Raises ValueError for an unknown polarization name (``"Wz"``) and for any other
    string. (The reference silently treats strings of neither shape, e.g. ``"abc"``,
    as the current Stokes; here they are refused.)
    """
    if coordinate in STOKES_NAMES:
        return STOKES_NAMES[coordinate], ""
    if len(coordinate) > 1 and coordinate[-1] in "xyz":
        name = coordinate[:-1]
        if name not in STOKES_NAMES:
            raise ValueError(f"unknown Stokes {name!r} in coordinate {coordinate!r}")
        return STOKES_NAMES[name], coordinate[-1]
    if coordinate in ("", "x", "y", "z"):
        return None, coordinate
    raise ValueError(f"unknown coordinate {coordinate!r}")


def resolve_stokes_index(
    coordinate: str, *, stokes_types: Sequence[int], num_stokes: int, current_stokes: int
) -> int:
    """The Stokes index a coordinate refers to (BE ``GetStokesTypeIndex``).

    ``stokes_types`` lists the PolarizationType of each index of the image's Stokes
    axis (empty when the header has none). Order: (1) the index whose header type
    matches; (2) for a computed type its index 13–17; (3) the assumed index
    ``(value − 1) % 4`` (I/RR/XX → 0, Q/LL/YY → 1, U/RL/XY → 2, V/LR/YX → 3) if the image
    has that many Stokes planes. Raises ValueError otherwise ("invalid stokes axis").
    """
    ptype, _axis = parse_coordinate(coordinate)
    if ptype is None:
        return int(current_stokes)
    types = [int(t) for t in stokes_types]
    if int(ptype) in types:
        return types.index(int(ptype))
    if ptype in COMPUTED_STOKES:
        return int(ptype)
    assumed = (int(ptype) - 1) % 4
    if num_stokes > assumed:
        return assumed
    raise ValueError(f"Spectral or spatial requirement {coordinate} failed: invalid stokes axis for image.")


def region_spectral_profiles(
    block: np.ndarray,
    mask: np.ndarray | None,
    stats: Iterable[int] | None = None,
    flux: float | np.ndarray = math.nan,
    *,
    workers: int = 1,
) -> dict[int, np.ndarray]:
    """Per-channel statistics (float64 arrays) of a region over a chunk of channels.

    ``block`` is the region's bounding box ``[z, y, x]`` (a view into the cube is fine;
    it is read once), ``mask`` its 2-D mask (None: every box pixel). ``stats`` defaults
    to the ten the reference computes; others (NanCount, Blc, …) come back all-NaN.
    ``flux`` is the FluxDensity factor (scalar, or one per channel of the chunk).
    Channels with no valid pixel are NaN in every statistic, NumPixels included.
    ``workers`` > 1 splits the channels over that many threads.
    """
    wanted = list(SPECTRAL_STATS) if stats is None else [StatsType(int(s)) for s in stats]
    squares, extrema = needs_for(wanted)
    moments = plane_moments(block, mask, squares=squares, extrema=extrema, workers=workers)
    return stats_from_moments(moments, flux, wanted)


#: Statistics a region's per-channel count, sum and sum of squares determine.
SUM_STATS = frozenset({StatsType.NumPixels, StatsType.Sum, StatsType.FluxDensity, StatsType.Mean,
                       StatsType.RMS, StatsType.Sigma, StatsType.SumSq})


def profiles_from_sums(sums: np.ndarray, stats: Iterable[int], flux: float | np.ndarray = math.nan) -> dict[int, np.ndarray]:
    """Like :func:`region_spectral_profiles` for :data:`SUM_STATS` only, from per-channel
    ``[z, 3]`` count, sum and sum of squares (a spectral cache's region sums). Sigma's
    squared deviations are ``sumsq - sum**2 / n`` (clipped at 0)."""
    count, total, sumsq = (np.asarray(sums[:, i], dtype=np.float64) for i in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        m2 = np.maximum(sumsq - total * total / np.maximum(count, 1), 0.0)
    nan = np.full(len(count), np.nan)
    moments = PlaneMoments(count=count, sum=total, sumsq=sumsq, m2=m2, min=nan, max=nan.copy())
    return stats_from_moments(moments, flux, [StatsType(int(s)) for s in stats])


def computed_region_profiles(
    kind: int, components: Mapping[str, Mapping[int, np.ndarray]], stats: Iterable[int] | None = None
) -> dict[int, np.ndarray]:
    """Region profiles of a computed Stokes type from the component profiles.

    ``components`` maps "I", "Q", "U", "V" (those :func:`required_components` names) to
    ``{StatsType: profile}``; each statistic is combined separately (§4.6).
    """
    names = required_components(kind)
    wanted = list(SPECTRAL_STATS) if stats is None else [StatsType(int(s)) for s in stats]
    out: dict[int, np.ndarray] = {}
    for st in wanted:
        arrays = {name.lower(): components[name][st] for name in names}
        out[st] = combine_profiles(kind, **arrays)
    return out


class ProfileAccumulator:
    """Full-length profiles (NaN for channels not computed yet) filled chunk by chunk."""

    def __init__(self, num_channels: int, stats: Iterable[int]):
        self.num_channels = int(num_channels)
        self.stats = [StatsType(int(s)) for s in stats]
        self.profiles: dict[int, np.ndarray] = {st: np.full(self.num_channels, np.nan) for st in self.stats}
        self.done = 0

    def add(self, z0: int, values: Mapping[int, np.ndarray]) -> None:
        """Store a chunk starting at channel ``z0``; chunks are expected in order."""
        length = 0
        for st in self.stats:
            chunk = np.asarray(values[st], dtype=np.float64)
            self.profiles[st][z0 : z0 + chunk.size] = chunk
            length = chunk.size
        self.done = max(self.done, z0 + length)

    @property
    def progress(self) -> float:
        return self.done / self.num_channels if self.num_channels else 1.0

    @property
    def complete(self) -> bool:
        return self.done >= self.num_channels


def next_region_delta(delta: int, elapsed_ms: float, num_channels: int) -> int:
    """Next channel-block size for a region profile: aim at 50 ms per block.

    ``int(delta · 50 / elapsed_ms)`` clamped to ``[1, num_channels]`` after every block.
    """
    if elapsed_ms <= 0:
        return max(1, num_channels)
    return int(min(max(int(delta * TARGET_DELTA_TIME_MS / elapsed_ms), 1), max(num_channels, 1)))


def next_cursor_delta(delta: int, block_size: int, elapsed_ms: float, depth: int) -> int:
    """Next channel-block size for a cursor profile.

    Only a block of exactly ``INIT_DELTA_Z`` channels (normally the first) rescales the
    size to ``trunc(10 · 50 / elapsed_ms)`` clamped to ``[1, depth]``; otherwise it stays.
    """
    if block_size != INIT_DELTA_Z:
        return delta
    if elapsed_ms <= 0:
        return max(1, depth)
    return int(min(max(math.trunc(INIT_DELTA_Z * TARGET_DELTA_TIME_MS / elapsed_ms), 1), max(depth, 1)))
