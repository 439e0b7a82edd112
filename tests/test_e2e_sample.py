"""End to end: the shipped sample cube is worth looking at in the released frontend (issue 19).

Its first plane is drawn with visible sources, and the moment 0 the frontend asks for (the
spectral profiler's moment generator, whole channel range) is an image with structure: the
render histogram the server sends for the new frame is strongly skewed (a disc and sources
over noise), not the symmetric histogram of noise, and the frontend draws it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from tests.e2e_session import SAMPLE_NAME, e2e_results, step  # noqa: F401  (the shared fixture)
from tests.e2e_wire import decode_wire, select, sequence

pytestmark = pytest.mark.e2e

E = pb.EventType


def _histogram_shape(histogram: Any) -> tuple[float, float]:
    """(skewness, fraction of pixels above mean + 3 sigma) of a RegionHistogramData histogram."""
    bins = np.asarray(histogram.bins, dtype=np.float64)
    centres = histogram.first_bin_center + histogram.bin_width * np.arange(len(bins))
    total = bins.sum()
    mean = (bins * centres).sum() / total
    std = np.sqrt((bins * (centres - mean) ** 2).sum() / total)
    skew = (bins * (centres - mean) ** 3).sum() / total / std**3
    return skew, bins[centres > mean + 3 * std].sum() / total


def test_sample_first_plane_is_drawn_with_sources(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "open_sample")
    assert data["open_file_ack"]["success"] is True
    canvas = data["canvas"]
    assert canvas["found"] and canvas["variance"] > 0 and canvas["distinct_colours"] > 16, canvas


def test_sample_moment_zero_has_structure(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "sample_moment")
    messages = decode_wire(data["wire"])
    (response,) = [m.message for m in select(messages, E.MOMENT_RESPONSE, "recv")]
    assert response.success and len(response.open_file_acks) == 1, response
    ack = response.open_file_acks[0]
    assert ack.success and ack.file_info.name == f"{SAMPLE_NAME}.moment.integrated", ack.file_info
    histograms = [m.message for m in select(messages, E.REGION_HISTOGRAM_DATA, "recv")
                  if m.message.file_id == ack.file_id and m.message.region_id == -1]
    assert histograms, sequence(messages)
    skew, bright = _histogram_shape(histograms[-1].histograms)
    # noise alone: skewness ~0 and ~0.1 % above 3 sigma; the sample: ~8 and ~1.7 %
    assert skew > 3 and bright > 0.005, (skew, bright)
    assert data["canvas"]["hash"] != data["before_canvas"]["hash"] and data["alerts"] == []
    assert data["canvas"]["distinct_colours"] > 16, data["canvas"]
