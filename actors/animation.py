"""The Animation actor: steps an image through channels and Stokes at a frame rate.

One animation runs per session. START_ANIMATION replaces a running one;
STOP_ANIMATION and CLOSE_FILE cancel its scope at once. Each step is handed to
the Frame actors (active and matched images), which run it as a unit, so a stop
never leaves a frame half sent. Flow control follows the reference
(``Session::CalculateAnimationFlowWindow``): the actor waits while the frame it
just sent is more than ``frame_rate // 3`` frames ahead of the last one the
frontend acknowledged with ANIMATION_FLOW_CONTROL, but not for ever
(:data:`FLOW_STALL_SECONDS`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING

import trio

from carta_trio import limits
from carta_trio.actors.dispatch import handles
from carta_trio.actors.tile_queue import check_compression, drop_invalid_tiles
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

#: ``InitialAnimationWaitsPerSecond`` and ``InitialWindowScale`` of the reference.
WAITS_PER_SECOND = 3
WINDOW_SCALE = 1
DEFAULT_STOKES_INDICES = (0, 1, 2, 3)
#: Seconds without ANIMATION_FLOW_CONTROL after which the animation carries on as if
#: its last frame had been acknowledged. The reference waits for ever; the 4.1.0
#: frontend drops a frame now and then (it completes a tile set only if the end
#: RASTER_TILE_SYNC is handled before the last tile is decompressed) and never
#: acknowledges it, which froze the animation until Stop.
FLOW_STALL_SECONDS = 2.0


@dataclasses.dataclass
class Stepper:
    """The reference's frame stepping: delta, bounds, looping and bouncing."""

    first: tuple[int, int]
    last: tuple[int, int]
    delta: tuple[int, int]
    looping: bool
    reverse_at_end: bool
    forward: bool = True

    @classmethod
    def from_message(cls, message: pb.StartAnimation) -> Stepper:
        delta = (message.delta_frame.channel, message.delta_frame.stokes)
        forward = not (delta[0] < 0 or delta[1] < 0)
        return cls(
            first=(message.first_frame.channel, message.first_frame.stokes),
            last=(message.last_frame.channel, message.last_frame.stokes),
            delta=(abs(delta[0]), abs(delta[1])),
            looping=message.looping,
            reverse_at_end=message.reverse,
            forward=forward,
        )

    def next(self, current: tuple[int, int]) -> tuple[int, int] | None:
        """The frame after ``current``; None when a non-looping animation ends.

        At an end with ``reverse_at_end`` only the direction flips and the end frame
        comes again, as in the reference; it then sends nothing (its plane is current).
        """
        sign = 1 if self.forward else -1
        candidate = (current[0] + sign * self.delta[0], current[1] + sign * self.delta[1])
        if self.forward:
            beyond = candidate[0] > self.last[0] or candidate[1] > self.last[1]
            restart = self.first
        else:
            beyond = candidate[0] < self.first[0] or candidate[1] < self.first[1]
            restart = self.last
        if not beyond:
            return candidate
        if self.reverse_at_end:
            self.forward = not self.forward
            return current
        if self.looping:
            return restart
        return None

    def gap(self, current: tuple[int, int], acknowledged: tuple[int, int]) -> int:
        """Frames sent but not yet acknowledged, along the stepping axis."""
        axis = 0 if self.delta[0] else 1
        ahead = current[axis] - acknowledged[axis]
        return ahead if self.forward else -ahead


class Animation:
    """State of one running animation; :meth:`run` is its actor loop."""

    def __init__(self, session: Session, animation_id: int, message: pb.StartAnimation) -> None:
        self.session = session
        self.id = animation_id
        self.file_id = message.file_id
        #: The reference's rate, capped (limits.MAX_ANIMATION_FRAME_RATE) so that a huge
        #: rate cannot open the flow-control window without end. 0 means "no wait".
        self.frame_rate = min(max(message.frame_rate, 0), limits.MAX_ANIMATION_FRAME_RATE)
        self.stepper = Stepper.from_message(message)
        self.stokes_indices = list(message.stokes_indices) or list(DEFAULT_STOKES_INDICES)
        self.matched = {fid: list(frames.frame_numbers) for fid, frames in message.matched_frames.items()}
        self.current = (message.start_frame.channel, message.start_frame.stokes)
        self.acknowledged = self.current
        self.views: dict[int, pb.AddRequiredTiles] = {message.file_id: message.required_tiles}
        self.scope = trio.CancelScope()
        self._flow = trio.Event()
        #: Frames whose tiles went out since the last ANIMATION_FLOW_CONTROL. The
        #: reference paces only by channel distance, which a looping animation over a
        #: few channels never exceeds; this bounds what a client that never
        #: acknowledges can be sent (limits.MAX_ANIMATION_FRAMES_AHEAD).
        self.unacknowledged = 0

    @property
    def window(self) -> int:
        return (self.frame_rate // WAITS_PER_SECOND) * WINDOW_SCALE

    @property
    def interval(self) -> float:
        """Seconds between frames; 0 for frame rate 0 (only flow control paces it)."""
        return 1.0 / self.frame_rate if self.frame_rate > 0 else 0.0

    def acknowledge(self, frame: pb.AnimationFrame) -> None:
        """ANIMATION_FLOW_CONTROL: the frontend has received ``frame``."""
        self.acknowledged = (frame.channel, frame.stokes)
        self.unacknowledged = 0
        self._flow.set()

    async def run(self) -> None:
        """Send frames until the animation ends or its scope is cancelled.

        As ``Session::ExecuteAnimationFrame``: the first frame is the start frame, at
        once; each later one ``interval`` after the previous one finished; a frame whose
        plane is already current (the start frame, the repeated end frame of a bounce)
        sends nothing but still takes its turn.
        """
        frame_id: tuple[int, int] | None = self.current
        with self.scope:
            next_time = trio.current_time()
            while frame_id is not None:
                await trio.sleep_until(next_time)
                self.current = frame_id
                await self._show(frame_id)
                next_time = trio.current_time() + self.interval
                frame_id = self.stepper.next(frame_id)
                if frame_id is None or self.stepper.delta == (0, 0):
                    # A zero delta never changes the frame: the reference spins on it
                    # forever sending nothing; here the animation ends.
                    break
                while (
                    self.stepper.gap(self.current, self.acknowledged) > self.window
                    or self.unacknowledged >= limits.MAX_ANIMATION_FRAMES_AHEAD
                ):
                    self._flow = trio.Event()
                    with trio.move_on_after(FLOW_STALL_SECONDS) as stall:
                        await self._flow.wait()
                    if stall.cancelled_caught:
                        log.debug("Animation %d: no flow control for frame %s; going on", self.id, self.current)
                        self.acknowledged, self.unacknowledged = self.current, 0
                if self.interval == 0:
                    await trio.sleep(0)

    async def _show(self, frame_id: tuple[int, int]) -> None:
        """One frame in the reference's order (``ExecuteAnimationFrameInner``).

        Plain: the active file's plane, histogram and derived streams, then its
        contours, vectors and tiles. With matched frames and a channel change: every
        file's plane and histogram first (active file, then matched files by id),
        then each changed file's contours, vectors and tiles in the same order.
        """
        channel, stokes_counter = frame_id
        frames = self.session.frames
        active = frames.get(self.file_id)
        if active is None:
            await self.session.send_error(f"File id {self.file_id} not found", pb.ErrorSeverity.DEBUG, ["animation"])
            self.scope.cancel()
            return
        if not 0 <= stokes_counter < len(self.stokes_indices):
            await self.session.send_error(
                f"Stokes frame {stokes_counter} is outside the animation's Stokes list",
                pb.ErrorSeverity.ERROR, ["animation"],
            )
            self.scope.cancel()
            return
        stokes = self.stokes_indices[stokes_counter]
        if not active.valid_channel(channel, stokes):
            # The reference logs this error for every frame, forever when looping; one
            # ERROR_DATA and the animation ends (limits.MAX_ERRORS_PER_MESSAGE).
            await self.session.send_error(
                f"Channel {channel} or Stokes {stokes} is invalid in image", pb.ErrorSeverity.ERROR, ["animation"]
            )
            self.scope.cancel()
            return
        offset = channel - self.stepper.first[0]
        if channel != active.channel and offset >= 0 and self.matched:
            targets: list[tuple[Frame, int]] = [(active, channel)]
            for file_id in sorted(self.matched):
                other = frames.get(file_id)
                numbers = self.matched[file_id]
                if file_id == self.file_id or other is None or offset >= len(numbers):
                    continue
                if not math.isfinite(numbers[offset]):
                    continue
                targets.append((other, round(min(max(numbers[offset], 0.0), other.depth - 1))))
            changed: list[tuple[Frame, tuple[bool, bool]]] = []
            for frame, z in targets:
                if z == frame.channel:
                    continue
                flags = await frame.animation_switch(z, frame.stokes)
                if flags is not None:
                    changed.append((frame, flags))
            for frame, flags in changed:
                await self._send(frame, flags)
            return
        flags = await active.animation_switch(channel, stokes)
        if flags is not None:
            await self._send(active, flags)

    async def _send(self, frame: Frame, flags: tuple[bool, bool]) -> None:
        view = self.views.get(frame.file_id)
        await frame.animation_send(flags, view, self.id)
        if frame.file_id == self.file_id and view is not None and view.tiles:
            self.unacknowledged += 1

    def store_view(self, frame: Frame, message: pb.AddRequiredTiles) -> bool:
        """ADD_REQUIRED_TILES while playing updates the next frame's tiles."""
        if frame.file_id == self.file_id or frame.file_id in self.matched:
            self.views[frame.file_id] = message
            return True
        return False


def _running(session: Session) -> Animation | None:
    return session.state.animation


@handles(pb.EventType.START_ANIMATION, response=pb.StartAnimationAck)
async def on_start_animation(session: Session, request_id: int, message: pb.StartAnimation) -> None:
    """START_ANIMATION_ACK with a new id, then frames from a new Animation actor."""
    previous = _running(session)
    if previous is not None:
        previous.scope.cancel()
    animation_id = session.state.animation_id = session.state.animation_id + 1
    if message.file_id not in session.frames:
        await session.reply(
            request_id, pb.StartAnimationAck(success=False, animation_id=animation_id, message="Incorrect file ID")
        )
        return
    if message.required_tiles.tiles and not await check_compression(session, message.required_tiles):
        message.ClearField("required_tiles")
    active = session.frames.get(message.file_id)
    if active is not None and message.required_tiles.tiles:
        await drop_invalid_tiles(session, message.required_tiles, active.width, active.height)
    animation = Animation(session, animation_id, message)
    session.state.animation = animation
    session.state.animation_tiles_hook = _tiles_hook
    await session.reply(
        request_id, pb.StartAnimationAck(success=True, animation_id=animation_id, message="Starting animation")
    )
    session.spawn(f"animation {animation_id}", _run_and_forget, session, animation)


async def _run_and_forget(session: Session, animation: Animation) -> None:
    try:
        await animation.run()
    finally:
        if _running(session) is animation:
            session.state.animation = None


def _tiles_hook(frame: Frame, message: pb.AddRequiredTiles) -> bool:
    animation = _running(frame.session)
    return animation is not None and animation.store_view(frame, message)


@handles(pb.EventType.ANIMATION_FLOW_CONTROL)
async def on_animation_flow_control(session: Session, request_id: int, message: pb.AnimationFlowControl) -> None:
    animation = _running(session)
    if animation is not None and message.file_id == animation.file_id:
        animation.acknowledge(message.received_frame)


@handles(pb.EventType.STOP_ANIMATION)
async def on_stop_animation(session: Session, request_id: int, message: pb.StopAnimation) -> None:
    """Cancel the animation now; settle on the frontend's end frame if it differs."""
    animation = _running(session)
    if animation is None or animation.file_id != message.file_id:
        return
    animation.scope.cancel()
    session.state.animation = None
    frame = session.frames.get(message.file_id)
    end = message.end_frame
    if frame is not None and message.HasField("end_frame"):
        if (end.channel, end.stokes) != (frame.channel, frame.stokes):
            frame.post_channels(pb.SetImageChannels(file_id=frame.file_id, channel=end.channel, stokes=end.stokes))


def cancel_animation(session: Session) -> None:
    """Stop the running animation, if any (CLOSE_FILE of any file, as the reference)."""
    animation, session.state.animation = session.state.animation, None
    if animation is not None:
        animation.scope.cancel()
