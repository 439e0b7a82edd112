"""End to end on a cube: what each issue's "real frontend" requirement says, proven in the browser.

The released frontend (4.1.0) drives our server subprocess through the cube steps of the
shared plan (``tests/e2e_session.py``): a channel change, backend-driven animation, contours,
the cursor, a rectangle region's statistics and a moment-0 image. Every test checks three
things: what the frontend sent (decoded from the websocket log with the real schema), what
came back (numbers against numpy on the cube the fixture wrote) and what the frontend made of
it (its stores, and pixels on its canvases).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from tests.e2e_session import e2e_results  # noqa: F401  (the shared fixture, for pytest to find)
from tests.e2e_session import (ANIMATION_MIN_FRAMES, BMAJ, BMIN, CDELT, CHANNEL_STEP_TARGET, CONTOUR_LEVELS,
                               CUBE_CDELT3, CUBE_CRVAL3, CUBE_DEPTH, CUBE_HEIGHT, CUBE_NAME, CUBE_WIDTH,
                               CURSOR_PIXEL, MOMENT_CURSOR_PIXEL, REGION_CENTER, REGION_SIZE, cube_data,
                               cube_source, step)
from tests.e2e_wire import bilinear, contour_polylines, decode_wire, select, sequence, stats_by_name

pytestmark = pytest.mark.e2e

E = pb.EventType
#: The last part of the watch after STOP_ANIMATION in which no animation frame may arrive at all.
QUIET_MS = 800
SPEED_OF_LIGHT_KMS = 299792.458


@pytest.fixture(scope="module")
def cube() -> np.ndarray:
    """The cube's float32 pixels [channel, y, x], as written into the data folder."""
    return cube_data()


def source_fraction(channel: int) -> tuple[float, float]:
    """Where the cube's Gaussian sits on a drawn raster, as fractions from the left and the top."""
    x, y, _ = cube_source(channel)
    return (x + 0.5) / CUBE_WIDTH, 1 - (y + 0.5) / CUBE_HEIGHT


def assert_peak_at(canvas: dict[str, Any], fx: float, fy: float, tolerance: float = 0.03) -> None:
    assert canvas["peak"]["fx"] == pytest.approx(fx, abs=tolerance), canvas
    assert canvas["peak"]["fy"] == pytest.approx(fy, abs=tolerance), canvas


def test_cube_opens_at_channel_zero(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "open_cube")
    assert data["open_file_ack"]["success"] is True
    frame = data["frame"]
    assert (frame["fileName"], frame["width"], frame["height"], frame["depth"]) == (
        CUBE_NAME, CUBE_WIDTH, CUBE_HEIGHT, CUBE_DEPTH)
    assert_peak_at(data["canvas"], *source_fraction(0))


def test_channel_change_brings_histogram_and_tiles_of_the_new_channel(
    e2e_results: dict[str, Any], cube: np.ndarray
) -> None:
    data = step(e2e_results, "change_channel")
    messages, file_id, target = decode_wire(data["wire"]), data["file_id"], CHANNEL_STEP_TARGET
    sent = select(messages, E.SET_IMAGE_CHANNELS, "sent")
    assert [(m.message.file_id, m.message.channel) for m in sent] == [(file_id, target)], sequence(messages)
    required = sent[0].message.required_tiles
    assert required.tiles and required.compression_type == pb.CompressionType.ZFP, required

    histograms = [m.message for m in select(messages, E.REGION_HISTOGRAM_DATA, "recv")
                  if m.message.region_id == -1 and m.message.channel == target and m.message.file_id == file_id]
    assert histograms, sequence(messages)
    histogram, plane = histograms[-1].histograms, cube[target].astype(np.float64)
    low, high = plane.min(), plane.max()
    assert histogram.num_bins == len(histogram.bins) == int(math.sqrt(plane.size))
    assert sum(histogram.bins) == plane.size
    assert histogram.first_bin_center - histogram.bin_width / 2 == pytest.approx(low, rel=1e-6, abs=1e-7)
    assert histogram.bin_width * histogram.num_bins == pytest.approx(high - low, rel=1e-5)
    expected, _ = np.histogram(plane, bins=histogram.num_bins, range=(low, high))
    assert np.abs(np.asarray(histogram.bins) - expected).max() <= 1  # ties at bin edges only
    assert histogram.mean == pytest.approx(plane.mean(), rel=1e-6)
    assert histogram.std_dev == pytest.approx(plane.std(), rel=1e-4)

    tiles = [t for t in data["new_tiles"] if t["file_id"] == file_id and t["channel"] == target]
    assert tiles and all(t["tiles"] >= 1 and t["animation_id"] == 0 for t in tiles), data["new_tiles"]
    ends = [m.message for m in select(messages, E.RASTER_TILE_SYNC, "recv") if m.message.end_sync]
    assert [(s.channel, s.animation_id) for s in ends if s.file_id == file_id][-1:] == [(target, 0)], ends

    # The frontend moved to the channel and drew it: the Gaussian moved right on the canvas.
    assert data["frontend_channel"] == target
    assert data["canvas"]["hash"] != data["before_canvas"]["hash"]
    assert_peak_at(data["before_canvas"], *source_fraction(0))
    assert_peak_at(data["canvas"], *source_fraction(target))


def test_animation_plays_channels_until_stopped(e2e_results: dict[str, Any]) -> None:
    data = step(e2e_results, "animation")
    messages, start = decode_wire(data["wire"]), data["start"]
    starts = select(messages, E.START_ANIMATION, "sent")
    assert len(starts) == 1, sequence(messages)
    request = starts[0].message
    assert request.file_id == start["file_id"] and request.looping
    assert request.start_frame.channel == start["channel"]
    assert (request.first_frame.channel, request.last_frame.channel) == (0, CUBE_DEPTH - 1)
    assert request.delta_frame.channel == 1 and request.frame_rate == start["frame_rate"]
    acks = select(messages, E.START_ANIMATION_ACK, "recv")
    assert len(acks) == 1 and acks[0].req == starts[0].req, sequence(messages)
    assert acks[0].message.success and acks[0].message.animation_id > 0, acks[0].message
    animation_id = acks[0].message.animation_id

    # Backend-driven frames: end syncs of this animation, one channel after another.
    frames = [m for m in select(messages, E.RASTER_TILE_SYNC, "recv")
              if m.message.end_sync and m.message.animation_id == animation_id]
    channels = [m.message.channel for m in frames]
    assert len(frames) >= ANIMATION_MIN_FRAMES, sequence(messages)
    assert all(b == (a + 1) % CUBE_DEPTH for a, b in zip(channels, channels[1:])), channels
    # The start channel is already shown, so (as the reference) the first frame sent is the next one.
    assert channels and channels[0] == (start["channel"] + 1) % CUBE_DEPTH, channels
    for frame in frames:
        earlier = messages[: messages.index(frame)]
        assert any(m.message.region_id == -1 and m.message.channel == frame.message.channel
                   for m in select(earlier, E.REGION_HISTOGRAM_DATA, "recv")), (frame.message, sequence(earlier))
    flow = select(messages, E.ANIMATION_FLOW_CONTROL, "sent")
    assert flow and {m.message.received_frame.channel for m in flow} <= set(channels), flow

    # The frontend followed: its current channel advanced through the animated channels.
    sampled = [s["channel"] for s in data["samples"] if s["active"]]
    assert len(set(sampled)) >= 3 and set(sampled) <= set(channels) | {start["channel"]}, (sampled, channels)

    stops = select(messages, E.STOP_ANIMATION, "sent")
    assert len(stops) == 1 and stops[0].message.file_id == start["file_id"], sequence(messages)
    stop = stops[0]
    after = data["after"]
    assert after["active"] is False and after["server_active"] is False, after
    # With STOP_ANIMATION the frontend asks for the channel it shows (SET_IMAGE_CHANNELS) and
    # gets plain (animation_id 0) tiles for it.
    later = messages[messages.index(stop):]
    settle = [m.message for m in select(later, E.SET_IMAGE_CHANNELS, "sent")]
    assert settle and settle[-1].channel == after["channel"], (settle, after)
    replies = [m for m in select(later, E.RASTER_TILE_SYNC, "recv")
               if m.message.end_sync and m.message.animation_id == 0 and m.message.channel == settle[0].channel]
    assert replies, sequence(later)
    # The socket keeps order: a frame that arrives after that reply was sent after the backend
    # had handled STOP_ANIMATION (frames sent before it may still be on their way; on a loaded
    # machine the browser reports them late, so arrival times alone cannot tell).
    frames_after = [m for m in select(later, E.RASTER_TILE_SYNC, "recv") if m.message.animation_id == animation_id]
    stale = [(m.t - stop.t, m.message.channel) for m in frames_after if messages.index(m) > messages.index(replies[0])]
    assert stale == [], f"animation frames (ms after STOP_ANIMATION, channel) after the stop reply: {stale}"
    assert data["end_t"] - stop.t >= 1000, "watched too briefly after STOP_ANIMATION"
    quiet = [(m.t - stop.t, m.message.channel) for m in frames_after if m.t > data["end_t"] - QUIET_MS]
    assert quiet == [], f"animation frames kept coming until the end of the watch: {quiet}"


def test_contours_are_traced_on_the_levels_and_drawn(e2e_results: dict[str, Any], cube: np.ndarray) -> None:
    data = step(e2e_results, "contours")
    messages, file_id, channel = decode_wire(data["wire"]), data["file_id"], data["channel"]
    params = select(messages, E.SET_CONTOUR_PARAMETERS, "sent")
    assert len(params) == 1, sequence(messages)
    request = params[0].message
    assert list(request.levels) == CONTOUR_LEVELS and request.smoothing_mode == pb.SmoothingMode.NoSmoothing
    assert request.file_id == request.reference_file_id == file_id

    replies = [m.message for m in select(messages, E.CONTOUR_IMAGE_DATA, "recv")]
    assert replies and all(r.file_id == file_id and r.channel == channel for r in replies), sequence(messages)
    polylines: dict[float, list[np.ndarray]] = {}
    final: dict[float, float] = {}
    for reply in replies:
        for contour_set in reply.contour_sets:
            polylines.setdefault(contour_set.level, []).extend(contour_polylines(contour_set))
            final[contour_set.level] = reply.progress
    assert sorted(polylines) == CONTOUR_LEVELS and set(final.values()) == {1.0}, final

    plane = cube[channel].astype(np.float64)
    source_x, source_y, _ = cube_source(channel)
    stores = {s["level"]: s for s in data["stores"]}
    decimation = request.decimation_factor or 1
    for level in CONTOUR_LEVELS:
        # One closed ring around the source; every vertex lies on the level (pixel centres are
        # at wire coordinate +0.5) up to the 1/decimation rounding of the vertex: somewhere in
        # the +-0.5/decimation box around it the interpolated image crosses the level.
        rings = polylines[level]
        assert len(rings) == 1 and np.allclose(rings[0][0], rings[0][-1], atol=1e-6), rings
        x, y = rings[0][:, 0] - 0.5, rings[0][:, 1] - 0.5
        assert np.hypot(x.mean() - source_x, y.mean() - source_y) < 0.5
        offsets = np.linspace(-0.5, 0.5, 5) / decimation
        box = np.array([bilinear(plane, x + dx, y + dy) for dx in offsets for dy in offsets])
        misses = (box.min(axis=0) > level * (1 + 1e-6)) | (box.max(axis=0) < level * (1 - 1e-6))
        assert not misses.any(), (level, rings[0][misses], box[:, misses].min(axis=0), box[:, misses].max(axis=0))
        # The frontend decoded the same number of vertices and holds the complete level.
        assert stores[level]["isComplete"] and stores[level]["vertexCount"] == len(rings[0]), stores[level]

    # Drawn: the contour layer was empty before and now shows the outermost ring where it is.
    assert data["before_canvas"]["opaque"] == 0, data["before_canvas"]
    canvas, raster = data["canvas"], data["raster"]["bbox"]
    assert canvas["opaque"] > 0, canvas
    scale = (raster["x1"] - raster["x0"] + 1) / CUBE_WIDTH
    outer = polylines[min(CONTOUR_LEVELS)][0]
    left, right = raster["x0"] + outer[:, 0].min() * scale, raster["x0"] + outer[:, 0].max() * scale
    top = raster["y1"] + 1 - outer[:, 1].max() * scale
    assert canvas["bbox"]["x0"] == pytest.approx(left, abs=3), (canvas, left)
    assert canvas["bbox"]["x1"] == pytest.approx(right, abs=3), (canvas, right)
    assert canvas["bbox"]["y0"] == pytest.approx(top, abs=3), (canvas, top)


def test_cursor_sends_set_cursor_and_gets_profiles_and_value(e2e_results: dict[str, Any], cube: np.ndarray) -> None:
    data = step(e2e_results, "cursor")
    check_cursor(data, cube[data["channel"]], CURSOR_PIXEL)


def check_cursor(data: dict[str, Any], plane: np.ndarray, pixel: tuple[int, int]) -> float:
    """SET_CURSOR at `pixel`, the SPATIAL_PROFILE_DATA there against `plane`; returns the value."""
    messages, file_id = decode_wire(data["wire"]), data["file_id"]
    x, y = pixel
    cursors = [m.message for m in select(messages, E.SET_CURSOR, "sent") if m.message.file_id == file_id]
    assert cursors and (round(cursors[-1].point.x), round(cursors[-1].point.y)) == (x, y), sequence(messages)
    replies = [m.message for m in select(messages, E.SPATIAL_PROFILE_DATA, "recv")
               if m.message.file_id == file_id and (m.message.x, m.message.y) == (x, y) and m.message.profiles]
    assert replies, sequence(messages)
    reply = replies[-1]
    assert (reply.region_id, reply.channel, reply.stokes) == (0, data["channel"], 0), reply
    assert reply.value == plane[y, x]  # float32 on both sides: exact
    for profile in reply.profiles:
        values = np.frombuffer(profile.raw_values_fp32, dtype="<f4")
        assert profile.mip == 1 and profile.coordinate in ("x", "y"), profile
        line = plane[y, :] if profile.coordinate == "x" else plane[:, x]
        np.testing.assert_array_equal(values, line[profile.start:profile.end])
    # The frontend shows the value under the cursor: not NaN, the backend's number.
    shown = data["cursor_value"]
    assert shown["position"] == {"x": x, "y": y} and shown["value"] is not None, shown
    assert np.float32(shown["value"]) == plane[y, x], shown
    return float(reply.value)


def test_rectangle_region_statistics(e2e_results: dict[str, Any], cube: np.ndarray) -> None:
    data = step(e2e_results, "region_stats")
    messages, file_id = decode_wire(data["wire"]), data["file_id"]
    set_region = select(messages, E.SET_REGION, "sent")
    assert len(set_region) == 1, sequence(messages)
    region = set_region[0].message
    assert region.file_id == file_id and region.region_id <= 0
    assert region.region_info.region_type == pb.RegionType.RECTANGLE and region.region_info.rotation == 0
    assert [(p.x, p.y) for p in region.region_info.control_points] == [REGION_CENTER, REGION_SIZE]
    acks = select(messages, E.SET_REGION_ACK, "recv")
    assert len(acks) == 1 and acks[0].req == set_region[0].req and acks[0].message.success, sequence(messages)
    region_id = acks[0].message.region_id
    assert region_id == data["region_id"] > 0 and data["region"]["regionId"] == region_id

    requirements = [m.message for m in select(messages, E.SET_STATS_REQUIREMENTS, "sent")
                    if m.message.region_id == region_id and m.message.stats_configs]
    assert requirements and requirements[-1].file_id == file_id, sequence(messages)
    requested = {pb.StatsType.Name(t) for t in requirements[-1].stats_configs[0].stats_types}
    replies = [m.message for m in select(messages, E.REGION_STATS_DATA, "recv") if m.message.region_id == region_id]
    assert replies, sequence(messages)
    reply = replies[-1]
    assert reply.file_id == file_id and reply.stokes == 0
    got = stats_by_name(reply)
    assert set(got) == requested, (got, requested)

    # Pixels whose centres lie inside the rectangle: 21 x 21, no edge ambiguity.
    (cx, cy), (w, h) = REGION_CENTER, REGION_SIZE
    pixels = cube[reply.channel, cy - h // 2: cy + h // 2 + 1, cx - w // 2: cx + w // 2 + 1].astype(np.float64)
    beam_area_pixels = math.pi / (4 * math.log(2)) * BMAJ * BMIN / CDELT**2
    maximum, minimum = pixels.max(), pixels.min()
    expected = {
        "NumPixels": pixels.size, "NanCount": 0, "Sum": pixels.sum(), "FluxDensity": pixels.sum() / beam_area_pixels,
        "Mean": pixels.mean(), "RMS": math.sqrt((pixels**2).mean()), "Sigma": pixels.std(ddof=1),
        "SumSq": (pixels**2).sum(), "Min": minimum, "Max": maximum,
        "Extrema": maximum if abs(maximum) >= abs(minimum) else minimum,
    }
    for name, value in got.items():
        assert value == pytest.approx(expected[name], rel=1e-6, abs=1e-12), (name, value, expected[name])

    # The frontend holds the same numbers (its JSON names the types; NumPixels = 0 is left out).
    [shown] = data["frontend_stats"]
    assert {s.get("statsType", "NumPixels"): s["value"] for s in shown["statistics"]} == pytest.approx(got)
    assert any(row.startswith("NumPixels") and "4.41" in row for row in data["widget_rows"]), data["widget_rows"]


def moment_file(e2e_results: dict[str, Any]) -> Any:
    """The OpenFileAck of the moment image, from the moment step's MOMENT_RESPONSE."""
    messages = decode_wire(step(e2e_results, "moment")["wire"])
    [response] = select(messages, E.MOMENT_RESPONSE, "recv")
    [ack] = response.message.open_file_acks
    return ack


def test_moment_zero_request_opens_a_new_image(e2e_results: dict[str, Any], cube: np.ndarray) -> None:
    data = step(e2e_results, "moment")
    messages, start = decode_wire(data["wire"]), data["start"]
    requests = select(messages, E.MOMENT_REQUEST, "sent")
    assert len(requests) == 1, sequence(messages)
    request = requests[0].message
    assert list(request.moments) == [pb.Moment.INTEGRATED_OF_THE_SPECTRUM] and request.axis == pb.MomentAxis.SPECTRAL
    assert request.file_id == start["active_file_id"] and request.region_id == -1
    assert (request.spectral_range.min, request.spectral_range.max) == (0, CUBE_DEPTH - 1)
    assert request.mask == pb.MomentMask.Value("None")
    responses = select(messages, E.MOMENT_RESPONSE, "recv")
    assert len(responses) == 1 and responses[0].req == requests[0].req, sequence(messages)
    response = responses[0].message
    assert response.success and not response.cancel and len(response.open_file_acks) == 1, response
    ack = response.open_file_acks[0]
    info = ack.file_info_extended
    assert ack.success and ack.file_info.name == f"{CUBE_NAME}.moment.integrated", ack.file_info
    assert (info.width, info.height, info.depth) == (CUBE_WIDTH, CUBE_HEIGHT, 1)
    header = {entry.name: entry.value for entry in info.header_entries}
    assert header.get("BUNIT") == "Jy/beam.km/s", header.get("BUNIT")
    assert any(m.message.file_id == ack.file_id and m.message.region_id == -1
               for m in select(messages, E.REGION_HISTOGRAM_DATA, "recv")), sequence(messages)

    # The frontend opened it as a new frame, made it active and drew it: the brightest part
    # of the integrated streak is on the source's row, where the sum over channels peaks.
    assert len(data["frames"]) == start["frames"] + 1
    frame = data["frame"]
    assert (frame["fileId"], frame["width"], frame["height"], frame["depth"]) == (
        ack.file_id, CUBE_WIDTH, CUBE_HEIGHT, 1)
    assert data["canvas"]["hash"] != data["before_canvas"]["hash"] and data["alerts"] == []
    summed = cube.astype(np.float64).sum(axis=0)
    peak_y, peak_x = np.unravel_index(np.argmax(summed), summed.shape)
    assert data["canvas"]["peak"]["fy"] == pytest.approx(1 - (peak_y + 0.5) / CUBE_HEIGHT, abs=0.03), data["canvas"]
    assert data["canvas"]["peak"]["fx"] == pytest.approx((peak_x + 0.5) / CUBE_WIDTH, abs=0.03), data["canvas"]


def test_moment_zero_values_under_the_cursor(e2e_results: dict[str, Any], cube: np.ndarray) -> None:
    data = step(e2e_results, "moment_cursor")
    assert data["file_id"] == moment_file(e2e_results).file_id and data["channel"] == 0
    # Moment 0 integrates over radio velocity: each channel is c * dnu / nu_rest km/s wide.
    channel_width_kms = SPEED_OF_LIGHT_KMS * CUBE_CDELT3 / CUBE_CRVAL3
    expected = (cube.astype(np.float64).sum(axis=0) * channel_width_kms).astype(np.float32)
    messages = decode_wire(data["wire"])
    x, y = MOMENT_CURSOR_PIXEL
    replies = [m.message for m in select(messages, E.SPATIAL_PROFILE_DATA, "recv")
               if m.message.file_id == data["file_id"] and (m.message.x, m.message.y) == (x, y) and m.message.profiles]
    assert replies, sequence(messages)
    reply = replies[-1]
    assert reply.value == pytest.approx(expected[y, x], rel=1e-5)
    for profile in reply.profiles:
        values = np.frombuffer(profile.raw_values_fp32, dtype="<f4")
        line = expected[y, :] if profile.coordinate == "x" else expected[:, x]
        np.testing.assert_allclose(values, line[profile.start:profile.end], rtol=1e-5)
    assert data["cursor_value"]["value"] == pytest.approx(float(expected[y, x]), rel=1e-5)
