"""What a session keeps besides its frames, typed (instead of a dict of string keys).

Each field belongs to one handler module, named beside it; the module creates what it
needs on first use (``regions.registry``, ``catalogs.catalog_store``...). Per-image state
lives on the frame (``frame.analytics``, ``frame.contours``..., see ``frame.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from carta_trio.actors.animation import Animation
    from carta_trio.io.catalog_view import CatalogStore
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.pv_preview import Preview
    from carta_trio.actors.regions import RegionRegistry
    from carta_trio.actors.session_keep import KeptImage
    from carta_trio.messages import schema as pb


@dataclass
class SessionState:
    """The session-wide state of the handler modules."""

    #: regions.py: the session's regions by id (created on first use).
    regions: RegionRegistry | None = None
    #: catalogs.py: the open catalogs (created on first use).
    catalogs: CatalogStore | None = None
    #: animation.py: the running animation, the last animation id, and the hook that
    #: lets ADD_REQUIRED_TILES reach the animation while one runs.
    animation: Animation | None = None
    animation_id: int = 0
    animation_tiles_hook: Callable[[Frame, pb.AddRequiredTiles], bool] | None = None
    #: pv_preview.py: live PV previews by preview id.
    pv_previews: dict[int, Preview] = field(default_factory=dict)
    #: pv.py: per file id, the cut region of the PV image being computed, and the
    #: suffix index of the last kept PV image.
    pv_cut_regions: dict[int, int] = field(default_factory=dict)
    pv_name_index: dict[int, int] = field(default_factory=dict)
    #: file_handlers.py: STOP_FILE_LIST flags per list type, and the lock that keeps
    #: FILE_INFO requests in order.
    file_list_stops: dict[int, set[Any]] = field(default_factory=dict)
    file_info_lock: trio.Lock = field(default_factory=trio.Lock)
    #: scripting.py: scripting requests waiting for the frontend's response.
    scripting_pending: dict[int, Any] = field(default_factory=dict)
    #: session_keep.py: images of closed frames kept for RESUME_SESSION, by file id.
    kept_images: dict[int, KeptImage] = field(default_factory=dict)
