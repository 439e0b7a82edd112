"""Every bound carta-trio puts on what one message or one client may cost, in one place.

The reference has few such bounds; a shared server needs them (issue 11). Each value
is what a request's answer can sensibly need, with room to spare for real use by the
CARTA 4.1.0 frontend. A request beyond a bound is refused with one ERROR_DATA or a
failed ack naming the limit (never a traceback); README.md ("Limits") lists them too.
"""

from __future__ import annotations

#: START_ANIMATION ``frame_rate`` is capped here: the flow-control window is
#: ``frame_rate // 3`` frames, so 2**31-1 would let the server run ~700 million
#: frames ahead of the client. The frontend offers 1-15 frames per second.
MAX_ANIMATION_FRAME_RATE = 240

#: Animation frames (with tiles) sent since the client's last ANIMATION_FLOW_CONTROL
#: before the animation waits, whatever the channel distance: the reference's window
#: is a channel distance, which a looping animation over few channels never exceeds.
#: The frontend acknowledges every frame, so it never meets this bound.
MAX_ANIMATION_FRAMES_AHEAD = MAX_ANIMATION_FRAME_RATE // 3

#: FITTING_REQUEST: Gaussian components per request (the frontend's dialog offers up
#: to 20) and the size of the solver's Jacobian (float64, fitted pixels x free
#: parameters). 1 GiB fits one component to a whole 4096x4096 plane, or 20 to about
#: 1050x1050 pixels; 20 components on 4096x4096 (15 GiB) is refused with the sizes.
MAX_FITTING_COMPONENTS = 20
MAX_FITTING_JACOBIAN_BYTES = 1 << 30

#: ERROR_DATA sent for one message (a RESUME_SESSION with 1,000 bad images, a
#: requirements message with 1,000 bad configs): the first is sent, the rest are
#: counted in one log line.
MAX_ERRORS_PER_MESSAGE = 1

#: SET_VECTOR_OVERLAY_PARAMETERS ``smoothing_factor`` (a uint32: the block size) is
#: clamped to the int32 range of the tiles' ``mip`` field; any block larger than the
#: image gives one block anyway, and 2**32-1 overflowed the tile message.
MAX_VECTOR_SMOOTHING_FACTOR = 2**31 - 1

#: WebSocket messages larger than this close the connection (code 1009) before they
#: are buffered (the reference: 256 MiB). The largest messages the frontend sends
#: are region files imported by contents and RESUME_SESSION; both fit easily.
MAX_WEBSOCKET_MESSAGE_BYTES = 64 * 1024 * 1024

#: HTTP request bodies (database PUTs, scripting) above this are refused with 413
#: while being read, not after buffering them.
MAX_HTTP_BODY_BYTES = 16 * 1024 * 1024

#: Concurrent connections served (WebSocket sessions plus HTTP requests in
#: progress); beyond it WebSockets are closed with 1013 ("try again later") and HTTP
#: requests answered 503. Further bounded by half the process's file-descriptor
#: limit, which the server raises to its hard limit at start.
MAX_CONNECTIONS = 1000

#: Seconds a WebSocket may stay open without sending any message (REGISTER_VIEWER
#: comes first from every frontend); then it is closed (code 1008).
REGISTER_TIMEOUT = 30.0

#: SET_REGION (and each region of RESUME_SESSION): control points of one region. The
#: check is on the message's point count, before any point is converted, so a refused
#: region costs nothing on the event loop (a 10**6-vertex region took 1.75 s inline and
#: delayed every other session). Hand-drawn polygons have tens of vertices; imported
#: region files rarely more than a few thousand.
MAX_REGION_VERTICES = 10_000

#: LINE and POLYLINE cuts (line spatial profiles, PV images and PV previews): boxes one
#: pixel apart along the line, i.e. about its length in pixels. Each box is one profile
#: value or one PV column, and the reference allocates them all up front: a line of
#: 10**9 pixels (finite control points far outside the image, sent by SET_REGION or
#: restored by RESUME_SESSION) grew the server by ~110 MB/s to an OOM kill at 23 GB in
#: the long fuzz run. The diagonal of a 65536 x 65536 image is 92,682 pixels.
MAX_LINE_BOXES = 100_000

#: Least contour vertices per CONTOUR_IMAGE_DATA message (``contour_chunk_size``; 0 still
#: means one message per level). A chunk size of 1 sent one message per vertex: 620,014
#: messages and a 638 MB peak for two levels of a 2048^2 noise plane. The frontend's
#: preference offers 25K to 1M (default 100K).
MIN_CONTOUR_CHUNK_SIZE = 1_000

#: Regions one session holds, and control points over all of them. Each point is kept as
#: a Python pair (~110 bytes): without a bound, 10,000 polygons of MAX_REGION_VERTICES
#: points would be ~11 GB (estimated: 10**8 pairs). Region files rarely hold more than a
#: few thousand regions.
MAX_REGIONS = 10_000
MAX_SESSION_REGION_POINTS = 1_000_000

#: Bytes of region pixel masks one session keeps cached for reuse (a mask is a bool per
#: pixel of the region's bounding box: 16 MB for a region covering a 4096 x 4096 image).
#: Beyond it the least recently used masks are dropped and computed again when needed,
#: so many large regions (or regions on many files) cannot grow a session without end.
MAX_REGION_MASK_BYTES = 512 * 1024 * 1024

#: RESUME_SESSION: images restored per message, and regions over all of them. The rest
#: are reported as failed in the ack (naming the limit); a 1,000-image resume took 52 s.
MAX_RESUME_IMAGES = 100
MAX_RESUME_REGIONS = 2_000

#: Seconds a session whose connection dropped (no close frame) is kept for its viewer to
#: reconnect and resume it, unless ``--reconnect_grace`` says otherwise (0: not kept).
RECONNECT_GRACE = 60.0

#: Sessions kept for a reconnect at once; beyond it the oldest kept one ends. A kept
#: session holds its images open (in-memory moment and PV images included) and nothing
#: else: no jobs run while it waits.
MAX_KEPT_SESSIONS = 32
