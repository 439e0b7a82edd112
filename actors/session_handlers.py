"""Session-level messages: registration (BEHAVIOUR.md §3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carta_trio.actors.dispatch import handles
from carta_trio.io.platform_info import platform_strings
from carta_trio.messages import framing
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

READ_ONLY_FLAG = pb.ServerFeatureFlags.READ_ONLY
SCRIPTING_FLAG = pb.ServerFeatureFlags.SCRIPTING


def server_feature_flags(session: Session) -> int:
    flags = 0
    if session.settings.read_only:
        flags |= READ_ONLY_FLAG
    if session.settings.enable_scripting:
        flags |= SCRIPTING_FLAG
    return flags


@handles(pb.EventType.REGISTER_VIEWER, response=pb.RegisterViewerAck)
async def on_register_viewer(session: Session, request_id: int, message: pb.RegisterViewer) -> None:
    """Answer REGISTER_VIEWER_ACK: NEW with our id for 0, RESUMED for a client id.

    A session re-attached by its own id (a reconnect within the grace period, see
    session_manager.py) already has that id: "Network reconnected". A new session adopts
    the client's id as the reference does ("Start a new backend"), unless another session
    holds it: then it keeps its own id and says so in the ack.
    """
    icd_version = session.request_icd_version
    ack = pb.RegisterViewerAck(
        server_feature_flags=server_feature_flags(session),
        platform_strings=platform_strings(controller_deployment=session.settings.controller_deployment),
    )
    if icd_version != framing.ICD_VERSION:
        ack.success = False
        ack.session_id = message.session_id
        ack.session_type = pb.SessionType.NEW
        ack.message = f"Invalid ICD version number. Expected {framing.ICD_VERSION}, got {icd_version}"
    elif message.session_id == 0:
        ack.success = True
        ack.session_id = session.id
        ack.session_type = pb.SessionType.NEW
        ack.message = f"Start a new frontend and assign it with session id {session.id}"
    else:
        ack.success = True
        ack.session_type = pb.SessionType.RESUMED
        if message.session_id != session.id:
            session.claim_id(message.session_id)
            ack.message = f"Start a new backend and assign it with session id {session.id}"
        else:
            ack.message = f"Network reconnected with session id {session.id}"
        ack.session_id = session.id
    session.registered = session.registered or ack.success
    await session.reply(request_id, ack)
