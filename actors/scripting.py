"""The scripting bridge: POST /api/scripting/action -> SCRIPTING_REQUEST -> SCRIPTING_RESPONSE.

carta-python drives a viewer through the backend (BEHAVIOUR.md §2.6): the HTTP
handler finds the session by id, sends it SCRIPTING_REQUEST (request id 0) and
waits for the frontend's SCRIPTING_RESPONSE with the same scripting request id.
If the session ends first the HTTP answer is 404.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from carta_trio.actors.dispatch import handles
from carta_trio.actors.http_app import ScriptingAction, ScriptingHandler, ScriptingResult
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session
    from carta_trio.actors.session_manager import SessionManager

log = logging.getLogger(__name__)



class _Pending:
    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: ScriptingResult | None = None


def _pending(session: Session) -> dict[int, _Pending]:
    pending: dict[int, _Pending] = session.state.scripting_pending
    return pending


def abandon_pending(session: Session) -> None:
    """The viewer has gone (its connection dropped): every waiting action ends without a
    response (HTTP 404, as when the session ends)."""
    for waiting in _pending(session).values():
        waiting.result = None
        waiting.done.set()


def scripting_handler(manager: SessionManager) -> ScriptingHandler:
    """The ``scripting_handler`` the HTTP app calls for each action."""

    async def handle(action: ScriptingAction) -> ScriptingResult | None:
        session = manager.sessions.get(action.session_id)
        if session is None or not session.attached:
            return None
        waiting = _Pending()
        _pending(session)[action.scripting_request_id] = waiting
        try:
            await session.send_stream(_request(action))
            while not waiting.done.is_set():
                if session.nursery is None:  # the session has ended
                    return None
                with trio.move_on_after(0.5):
                    await waiting.done.wait()
            return waiting.result
        finally:
            _pending(session).pop(action.scripting_request_id, None)

    return handle


def _request(action: ScriptingAction) -> pb.ScriptingRequest:
    message = pb.ScriptingRequest(
        scripting_request_id=action.scripting_request_id,
        target=action.path,
        action=action.action,
        parameters=action.parameters,
        return_path=action.return_path,
    )
    setattr(message, "async", action.is_async)  # a Python keyword: no constructor argument
    return message


@handles(pb.EventType.SCRIPTING_RESPONSE)
async def on_scripting_response(session: Session, request_id: int, message: pb.ScriptingResponse) -> None:
    waiting = _pending(session).get(message.scripting_request_id)
    if waiting is None:
        log.warning("Could not find callback for scripting response with request ID %d.", message.scripting_request_id)
        return
    waiting.result = ScriptingResult(success=message.success, message=message.message, response=message.response)
    waiting.done.set()
