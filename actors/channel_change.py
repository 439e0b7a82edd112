"""What follows a channel or Stokes change, in one explicit order (BEHAVIOUR.md §4.4).

The frame loads the new plane, then, in the reference's order:

1. :func:`overlays`: contours, then the vector overlay (computed in the frame's task);
2. :func:`render_and_streams`: the render histogram (region -1), then the region
   streams are started as jobs (cursor and region spectral profiles on a Stokes change,
   image and region histograms and statistics, spatial profiles);

and then its tiles. An animation step runs the same two parts, split across its two
phases (every file's switch, then every file's send): ``render_and_streams`` in the
switch, ``overlays`` before the tiles in the send.

This is the only place the order is written down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carta_trio.actors import contours, region_streams, vector_overlay

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame

#: Job kinds that belong to one channel: cancelled as soon as a change is queued,
#: so work for the outgoing channel stops at once.
FOLLOW_CHANNEL_JOBS = (contours.JOB_KIND, vector_overlay.JOB_KIND)


async def overlays(frame: Frame) -> None:
    """Contours, then the vector overlay, of the frame's current plane (when set up)."""
    await contours.follow_channel(frame)
    await vector_overlay.follow_channel(frame)


async def render_and_streams(frame: Frame, channel_changed: bool, stokes_changed: bool) -> None:
    """The render histogram, then start the region streams that follow the plane."""
    await frame.send_image_histogram()
    region_streams.follow_channel(frame, channel_changed, stokes_changed)


async def after_channel_change(frame: Frame, channel_changed: bool, stokes_changed: bool) -> None:
    """SET_IMAGE_CHANNELS: everything that follows a new plane, in §4.4 order."""
    await overlays(frame)
    await render_and_streams(frame, channel_changed, stokes_changed)
