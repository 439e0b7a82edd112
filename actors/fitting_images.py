"""Model and residual images of a fit, opened as new frames (ANALYTICS.md §8.4, WIRE.md §8.3).

Each is an in-memory image (:class:`~carta_trio.io.generated_image.GeneratedImage`)
on the fitted box of the current plane: the source header with CRPIX shifted so world
coordinates stay those of the source pixels (the reference's SubImage), every other
axis kept with length 1, the source's unit and the plane's beam. Names
``<stem>_model<ext>`` / ``<stem>_residual<ext>`` (for a moment image
``<stem>_model<ext>.moment.<suffix>``); ids ``(file_id + 1)·(-1000) + 1`` and the next
one, with multiplier -10 for moment images (file id > 999). Generated images
themselves (negative ids) cannot be fitted into images:
"generating images from generated PV and model/residual images is not supported".

They are opened with :func:`~carta_trio.actors.generated_frames.open_generated_frame`
(replacing a frame with the same id); each image's histogram goes out before the
FITTING_RESPONSE (BEHAVIOUR.md §7.2).
"""

from __future__ import annotations

import logging
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors.generated_frames import open_generated_frame
from carta_trio.io.generated_headers import card_value, copy_cards, set_card, subimage_cards
from carta_trio.io.generated_image import GeneratedImage
from carta_trio.io.image_reader import HeaderCard
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session
    from carta_trio.analysis.gaussian_fit import FitResult

log = logging.getLogger(__name__)

FITTING_ID_MULTIPLIER = -1000
FITTING_WITH_MOMENT_ID_MULTIPLIER = -10
UNSUPPORTED = "generating images from generated PV and model/residual images is not supported"
#: Beam cards of the source; the plane's own beam replaces them (one beam per sub-image).
_BEAM_CARDS = frozenset({"BMAJ", "BMIN", "BPA", "CASAMBM"})


def fit_image_ids(file_id: int) -> tuple[int, int]:
    """(model id, residual id) for a fit of ``file_id`` (``ImageFitter::GetGeneratedImages``)."""
    multiplier = FITTING_WITH_MOMENT_ID_MULTIPLIER if file_id > 999 else FITTING_ID_MULTIPLIER
    model = (file_id + 1) * multiplier + 1
    return model, model + 1


def fit_image_name(name: str, suffix: str, file_id: int) -> str:
    """``<stem>_<suffix><ext>`` of the source's file name; moment images keep their
    ``.moment.<kind>`` ending after it."""
    if file_id > 999 and ".moment." in name:
        cut = name.rfind(".moment.")
        return fit_image_name(name[:cut], suffix, 0) + name[cut:]
    path = PurePath(name)
    return f"{path.stem}_{suffix}{path.suffix}"


def _box_cards(frame: Frame, plane: tuple[int, int],
               origin: tuple[int, int]) -> tuple[list[HeaderCard], list[tuple[float, float, float]]]:
    """Header cards and beam of the sub-image at ``origin`` on ``plane`` = (channel, stokes)."""
    channel, stokes = plane
    reader = frame.reader
    axes = reader.axes
    cards = [c for c in copy_cards(reader.header_cards()) if c.key not in _BEAM_CARDS]
    cards = subimage_cards(cards, axes, origin[0], origin[1], channel)
    if axes.stokes is not None:
        n = axes.stokes + 1
        set_card(cards, f"CRPIX{n}", float(card_value(cards, f"CRPIX{n}", 1.0)) - stokes)
    beams = reader.beams()
    beam = beams[0] if beams else None
    if len(beams) > 1:
        index = stokes * reader.depth + channel
        beam = beams[index] if 0 <= index < len(beams) else beams[0]
    if beam is None or not (beam[0] and beam[1]):
        return cards, []
    cards += [HeaderCard("BMAJ", beam[0] / 3600.0, ""), HeaderCard("BMIN", beam[1] / 3600.0, ""),
              HeaderCard("BPA", float(beam[2]), "")]
    return cards, [(float(beam[0]), float(beam[1]), float(beam[2]))]


def box_image(frame: Frame, plane: tuple[int, int], name: str, box: np.ndarray,
              origin: tuple[int, int]) -> GeneratedImage:
    """A generated image holding ``box`` ([height, width] at ``origin``) of ``plane`` =
    (channel, stokes) with the source's axes, every non-render axis of length 1
    (blocking: reads the header)."""
    reader = frame.reader
    axes = reader.axes
    shape = [1] * reader.ndim
    height, width = box.shape
    shape[axes.x], shape[axes.y] = width, height
    pixels = box if axes.x < axes.y else box.T
    data = np.ascontiguousarray(pixels, dtype=np.float32).reshape(tuple(reversed(shape)))
    cards, beams = _box_cards(frame, plane, origin)
    return GeneratedImage(name, data, cards, unit=reader.unit, beams=beams)


async def open_fit_images(session: Session, frame: Frame, plane: tuple[int, int], message: pb.FittingRequest,
                          result: FitResult, origin: tuple[int, int], response: pb.FittingResponse) -> None:
    """Open the requested model/residual images and put their acks into ``response``;
    for a generated source image, set ``success=false`` with the reference's message."""
    file_id = message.file_id
    if file_id < 0:
        response.success = False
        response.message = UNSUPPORTED
        return
    model_id, residual_id = fit_image_ids(file_id)
    wanted = [
        (message.create_model_image, model_id, "model", result.model, response.model_image),
        (message.create_residual_image, residual_id, "residual", result.residual, response.residual_image),
    ]
    for want, image_id, suffix, box, ack in wanted:
        if not want or box is None:
            continue
        name = fit_image_name(frame.name, suffix, file_id)
        image = await session.run_sync(box_image, frame, plane, name, box, origin)
        ack.CopyFrom(await open_generated_frame(session, image_id, image))
