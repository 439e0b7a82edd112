"""Vector-overlay values: polarized intensity and angle per block (WIRE.md 7, ANALYTICS.md 9).

The inputs are block-mean downsampled planes of the current image and of Stokes
I, Q and U (``codecs.downsample.block_mean``); the outputs are the float32 arrays
sent as the intensity and angle tiles. Arithmetic follows the reference's
``VectorField`` functors (``src/DataStream/VectorField.h``):

* PI = ``float32(sqrt(Q^2 + U^2 - (qe^2 + ue^2) / 2))`` in float64 (``std::pow``
  of a float promotes), NaN if Q or U is NaN or the radicand is negative; ``qe`` and
  ``ue`` are 0 unless debiasing;
* fractional PI = ``100 * (PI / I)`` in float32, a percentage;
* PA = ``float32(180 / pi) * atan2f(U, Q) / 2`` in float32, degrees in (-90, 90];
* with I loaded (fractional or a threshold set) computed PI and PA become NaN where
  I is NaN or below the threshold (threshold compared as float32);
* the current image, used directly, becomes NaN where it is below the threshold.

Which Stokes plane holds I, Q or U follows the reference's ``GetStokesTypeIndex``
(ANALYTICS.md 0.5): the index whose header value names it, else the "assumed" index
``(code - 1) % 4`` if the image has that many Stokes planes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "STOKES_CODES",
    "VectorSettings",
    "VectorSources",
    "stokes_index",
    "vector_sources",
    "polarized_intensity",
    "fractional_intensity",
    "polarization_angle",
    "threshold_cut",
    "threshold_cut_by",
    "vector_field",
]

#: FITS Stokes codes of the planes the overlay can use.
STOKES_CODES = {"I": 1, "Q": 2, "U": 3, "V": 4}
_RAD_TO_DEG = np.float32(180.0 / math.pi)


@dataclass(frozen=True, slots=True)
class VectorSettings:
    """The stored SET_VECTOR_OVERLAY_PARAMETERS of a frame.

    ``threshold`` NaN means no threshold. Errors are 0 unless ``debiasing`` (as the
    reference stores them). Equality follows the reference's ``IsEqual``: a NaN
    threshold never equals another (:meth:`same_as`), so a repeated request without
    threshold is recomputed.
    """

    smoothing_factor: int = 0
    fractional: bool = False
    threshold: float = math.nan
    debiasing: bool = False
    q_error: float = 0.0
    u_error: float = 0.0
    stokes_intensity: int = -1
    stokes_angle: int = -1
    compression_type: int = 0
    compression_quality: float = 0.0

    def same_as(self, other: VectorSettings | None) -> bool:
        """The reference's ``IsEqual``: every field equal, NaN thresholds never are."""
        return other is not None and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__
        )

    @property
    def has_threshold(self) -> bool:
        return not math.isnan(self.threshold)

    @property
    def cleared(self) -> bool:
        """Both sources off: the overlay is cleared."""
        return self.stokes_intensity < 0 and self.stokes_angle < 0


@dataclass(frozen=True, slots=True)
class VectorSources:
    """What a computation needs (``VectorField::RenewParameters`` plus the indices)."""

    current_as_intensity: bool
    current_as_angle: bool
    compute_intensity: bool
    compute_angle: bool
    #: Stokes index of each of I, Q, U that must be read (None when not needed).
    i_index: int | None
    q_index: int | None
    u_index: int | None


def stokes_index(name: str, stokes_values: list[int] | tuple[int, ...], num_stokes: int) -> int | None:
    """Index of Stokes ``name`` ("I", "Q", "U", "V"), or None if the image has none."""
    code = STOKES_CODES[name]
    if code in stokes_values:
        return list(stokes_values).index(code)
    assumed = (code - 1) % 4
    return assumed if assumed < num_stokes else None


def vector_sources(
    settings: VectorSettings, has_stokes_axis: bool, stokes_values: list[int] | tuple[int, ...], num_stokes: int
) -> VectorSources:
    """Decide which planes to use; raises ValueError naming a missing Stokes plane.

    Source 1 computes PI/PA from Q and U, 0 uses the current image, < 0 sends
    nothing. On an image without a Stokes axis the reference uses the current image
    for both, whatever the sources; a request to *compute* PI or PA there is refused
    here instead, because there is no Q or U to compute it from.
    """
    compute_intensity = settings.stokes_intensity == 1
    compute_angle = settings.stokes_angle == 1
    if compute_intensity or compute_angle:
        missing = [s for s in ("Q", "U") if not has_stokes_axis or stokes_index(s, stokes_values, num_stokes) is None]
        if missing:
            raise ValueError(f"image has no Stokes {' or '.join(missing)} to compute polarization vectors from")
    if not has_stokes_axis:
        return VectorSources(True, True, False, False, None, None, None)
    need_i = (compute_intensity or compute_angle) and (settings.fractional or settings.has_threshold)
    i_index = stokes_index("I", stokes_values, num_stokes) if need_i else None
    if need_i and i_index is None:
        raise ValueError("image has no Stokes I for the fractional intensity or threshold")
    computing = compute_intensity or compute_angle
    return VectorSources(
        current_as_intensity=settings.stokes_intensity == 0,
        current_as_angle=settings.stokes_angle == 0,
        compute_intensity=compute_intensity,
        compute_angle=compute_angle,
        i_index=i_index,
        q_index=stokes_index("Q", stokes_values, num_stokes) if computing else None,
        u_index=stokes_index("U", stokes_values, num_stokes) if computing else None,
    )


def polarized_intensity(q: np.ndarray, u: np.ndarray, q_error: float = 0.0, u_error: float = 0.0) -> np.ndarray:
    """float32 PI from float32 Q and U (NaN for NaN input or a negative radicand)."""
    q64 = np.asarray(q, dtype=np.float32).astype(np.float64)
    u64 = np.asarray(u, dtype=np.float32).astype(np.float64)
    bias = (float(q_error) ** 2 + float(u_error) ** 2) / 2.0
    with np.errstate(invalid="ignore"):
        return np.sqrt(q64 * q64 + u64 * u64 - bias).astype(np.float32)


def fractional_intensity(pi: np.ndarray, i: np.ndarray) -> np.ndarray:
    """float32 ``100 * (PI / I)`` (a percentage), float32 arithmetic."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.float32(100.0) * (np.asarray(pi, np.float32) / np.asarray(i, np.float32))).astype(np.float32)


def polarization_angle(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """float32 PA in degrees: ``float32(180/pi) * atan2(U, Q) / 2``."""
    angle = np.arctan2(np.asarray(u, np.float32), np.asarray(q, np.float32))
    return (_RAD_TO_DEG * angle / np.float32(2.0)).astype(np.float32)


def threshold_cut(values: np.ndarray, threshold: float) -> np.ndarray:
    """Copy of ``values`` with entries below the (float32) threshold set to NaN."""
    out = np.array(values, dtype=np.float32, copy=True)
    if not math.isnan(threshold):
        with np.errstate(invalid="ignore"):
            out[out < np.float32(threshold)] = np.nan
    return out


def threshold_cut_by(values: np.ndarray, stokes_i: np.ndarray, threshold: float) -> np.ndarray:
    """Copy of ``values`` set to NaN where I is NaN or below the (float32) threshold."""
    out = np.array(values, dtype=np.float32, copy=True)
    i = np.asarray(stokes_i, dtype=np.float32)
    cut = np.isnan(i)
    if not math.isnan(threshold):
        with np.errstate(invalid="ignore"):
            cut |= i < np.float32(threshold)
    out[cut] = np.nan
    return out


def vector_field(
    settings: VectorSettings,
    sources: VectorSources,
    current: np.ndarray | None = None,
    stokes_i: np.ndarray | None = None,
    stokes_q: np.ndarray | None = None,
    stokes_u: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(intensity, angle)`` arrays from downsampled planes (None where not sent).

    NaN in Q or U makes both PI and PA NaN (``Valid`` in the reference); ``I`` is
    needed when ``sources.i_index`` is set.
    """
    intensity: np.ndarray | None = None
    angle: np.ndarray | None = None
    if sources.current_as_intensity or sources.current_as_angle:
        assert current is not None, "the current image is needed"
        cut = threshold_cut(current, settings.threshold)
        intensity = cut if sources.current_as_intensity else None
        angle = cut if sources.current_as_angle else None
    if sources.compute_intensity or sources.compute_angle:
        assert stokes_q is not None and stokes_u is not None, "Stokes Q and U are needed"
        q, u = np.asarray(stokes_q, np.float32), np.asarray(stokes_u, np.float32)
        invalid = np.isnan(q) | np.isnan(u)
        if sources.compute_intensity:
            pi = polarized_intensity(q, u, settings.q_error, settings.u_error)
            pi[invalid] = np.nan
            if settings.fractional:
                assert stokes_i is not None, "Stokes I is needed for fractional intensity"
                pi = fractional_intensity(pi, stokes_i)
            if sources.i_index is not None:
                assert stokes_i is not None
                pi = threshold_cut_by(pi, stokes_i, settings.threshold)
            intensity = pi
        if sources.compute_angle:
            pa = polarization_angle(q, u)
            pa[invalid] = np.nan
            if sources.i_index is not None:
                assert stokes_i is not None
                pa = threshold_cut_by(pa, stokes_i, settings.threshold)
            angle = pa
    return intensity, angle
