"""OPEN_FILE with ``lel_expr=true`` through the real server: image arithmetic evaluated by
casacore per plane, the reference's ack and message order, refusals (syntax, unknown
and outside files, HDF5, shapes), SAVE_FILE and RESUME_SESSION of an expression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from carta_trio.io.image_expression import (
    ExpressionError,
    find_names,
    resolve_expression,
)
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

from tests.image_factory import (
    make_cube,
    wcs_header,
    write_casa,
    write_fits,
    write_hdf5_idia,
)
from tests.region_client import final_spectral
from tests.test_protocol_tiles import NONE, check_tiles, code, collect_tiles

CUBE = ("RA---SIN", "DEC--SIN", "FREQ")
ST = pb.StatsType


@pytest.fixture
def inputs(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    a = make_cube((4, 30, 40), seed=21)
    b = make_cube((4, 30, 40), seed=22, nans=False)
    write_fits(data_dir / "a.fits", a, wcs_header(CUBE))
    write_fits(data_dir / "b.fits", b, wcs_header(CUBE))
    return a, b


async def open_expression(client: CartaClient, expression: str, file_id: int = 0,
                          directory: str = "") -> pb.OpenFileAck:
    return await client.request(pb.OpenFile(directory=directory, file=expression, hdu="", file_id=file_id,
                                            lel_expr=True))


async def plane_tiles(client: CartaClient, channel: int, file_id: int = 0) -> list[pb.RasterTileData]:
    tiles = pb.AddRequiredTiles(file_id=file_id, tiles=[code(0, 0, 0)], compression_type=NONE)
    await client.send(pb.SetImageChannels(file_id=file_id, channel=channel, stokes=0, required_tiles=tiles))
    _, received, _ = await collect_tiles(client, file_id)
    return received


def test_names_found_and_rewritten(data_dir: Path) -> None:
    (data_dir / "sub").mkdir()
    write_fits(data_dir / "sub" / "c.fits", make_cube((4, 5), seed=1), wcs_header(CUBE[:2]))
    write_fits(data_dir / "x.fits", make_cube((4, 5), seed=1), wcs_header(CUBE[:2]))
    refs = find_names("sqrt(abs('a b.fits')) + x.fits*2.5e-3 - T + max(\"c.fits\", 1)")
    assert [(r.name, r.quoted) for r in refs] == [("a b.fits", True), ("x.fits", False), ("c.fits", True)]
    resolved = resolve_expression(data_dir, "sub", "'../x.fits' - c.fits")
    assert resolved.rewritten == f'"{data_dir / "x.fits"}" - "{data_dir / "sub" / "c.fits"}"'
    assert resolved.readable(f"Scanned so far: \"{data_dir / 'x.fits'}\" -") == "Scanned so far: '../x.fits' -"
    with pytest.raises(ExpressionError, match=r"Variables \(\$\)"):
        find_names("$x + 1")


async def test_expression_planes_profiles_and_order(carta_url: str, inputs: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = inputs
    expression = '"a.fits" - "b.fits"'
    async with open_client(carta_url) as client:
        await client.register()
        ack = await open_expression(client, expression, file_id=2)
        order = [e.event_type for e in client.buffered]
        assert ack.success, ack.message
        second = (await client.expect(pb.RegionHistogramData)).message
        received = await plane_tiles(client, 2, file_id=2)
        await client.send(pb.SetSpectralRequirements(file_id=2, region_id=0, spectral_profiles=[
            pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[ST.Sum])]))
        await client.send(pb.SetCursor(file_id=2, point=pb.Point(x=9, y=13)))
        profile = await final_spectral(client)
        ratio = await open_expression(client, 'sqrt(abs(a.fits)) / b.fits', file_id=3)
        assert ratio.success, ratio.message
        ratio_tiles = await plane_tiles(client, 1, file_id=3)
    assert ack.file_id == 2
    assert (ack.file_info.name, ack.file_info.type, ack.file_info.size) == (expression, pb.FileType.CASA, 0)
    assert list(ack.file_info.HDU_list) == [""]
    computed = {e.name: e.value for e in ack.file_info_extended.computed_entries}
    assert computed["Name"] == expression
    assert (ack.file_info_extended.width, ack.file_info_extended.height, ack.file_info_extended.depth) == (40, 30, 4)
    # the reference sends the image histogram before the ack and again after it
    assert order[0] == pb.EventType.REGION_HISTOGRAM_DATA and second.file_id == 2
    check_tiles(a[2] - b[2], received, NONE, 1e-6)
    got = np.frombuffer(profile.profiles[0].raw_values_fp32, "<f4")
    assert np.allclose(got, (a - b)[:, 13, 9], equal_nan=True, rtol=1e-6)
    check_tiles((np.sqrt(np.abs(a[1])) / b[1]).astype(np.float32), ratio_tiles, NONE, 1e-6)


async def test_expression_refusals(carta_url: str, inputs: tuple[np.ndarray, np.ndarray], data_dir: Path,
                                   tmp_path: Path) -> None:
    write_fits(data_dir / "small.fits", make_cube((4, 20, 40), seed=3), wcs_header(CUBE))
    write_hdf5_idia(data_dir / "h.hdf5", make_cube((4, 30, 40), seed=3), wcs_header(CUBE))
    write_fits(data_dir / "stokes.fits", make_cube((4, 30, 40), seed=4), wcs_header(CUBE[:2] + ("STOKES",)))
    shifted = [(k, (v + 0.01 if k == "CRVAL1" else v), c) for k, v, c in wcs_header(CUBE)]
    write_fits(data_dir / "moved.fits", make_cube((4, 30, 40), seed=5), shifted)
    outside = tmp_path.parent / "outside.fits"
    write_fits(outside, make_cube((4, 30, 40), seed=3), wcs_header(CUBE))
    async with open_client(carta_url) as client:
        await client.register()
        syntax = await open_expression(client, '"a.fits" +', file_id=4)
        unknown = await open_expression(client, 'nope.fits + 1', file_id=4)
        forbidden = await open_expression(client, '"a.fits" - "../outside.fits"', file_id=4)
        absolute = await open_expression(client, f'"{outside}" * 2', file_id=4)
        hdf5 = await open_expression(client, '"h.hdf5" - mean("h.hdf5")', file_id=4)
        shapes = await open_expression(client, '"a.fits" + "small.fits"', file_id=4)
        directory = await open_expression(client, '"a.fits"', directory="gone", file_id=4)
        kinds = await open_expression(client, '"a.fits" + "stokes.fits"', file_id=4)
        moved = await open_expression(client, '"a.fits" + "moved.fits"', file_id=5)
        assert moved.success, moved.message  # same kinds of axes, other reference values: accepted, as LEL
        variable = await open_expression(client, '"a.fits" + $x', file_id=4)
        deep = await open_expression(client, "(" * 2000 + "a.fits" + ")" * 2000, file_id=4)
        long = await open_expression(client, " + ".join(["a.fits"] * 3000), file_id=4)
        minus = await open_expression(client, "-" * 5000 + "a.fits", file_id=4)
        zero = await open_expression(client, '"a.fits" / 0', file_id=4)
        assert zero.success, zero.message
        received = await plane_tiles(client, 0, file_id=4)
    for ack in (syntax, unknown, forbidden, absolute, hdf5, shapes, directory, variable, kinds, deep, long, minus):
        assert not ack.success and ack.file_id == 0 and ack.message
        assert str(data_dir) not in ack.message
    assert syntax.message.startswith("Image Expression: Parse error") and "Scanned so far: \"a.fits\" +" in syntax.message
    assert unknown.message == "ImageExprParse: 'nope.fits' is an unknown lattice or image or it is an unqualified region"
    assert forbidden.message == "Forbidden path in image expression: '../outside.fits'"
    # an absolute name means "below the top folder", as every client path: not found there
    assert absolute.message.startswith(("Forbidden path in image expression", "ImageExprParse: '/"))
    assert hdf5.message.startswith("Image expressions over HDF5 files support element-wise arithmetic only")
    assert shapes.message == "LatticeExprNode - shapes of operands mismatch"
    assert directory.message == "Directory gone does not exist."
    assert kinds.message == "LatticeExprNode - coordinates of operands mismatch"
    assert variable.message.startswith("Variables ($)")
    assert deep.message.startswith("Image expression nested too deeply")
    assert minus.message.startswith("Image expression nested too deeply")
    assert long.message.startswith("Image expression too long")
    a = inputs[0][0]
    tile = np.frombuffer(received[0].tiles[0].image_data, "<f4").reshape(a.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = a / np.float32(0)
    assert np.array_equal(tile, want, equal_nan=True)  # +-inf, and NaN for 0/0 and blanks


async def test_expression_casa_save_and_resume(carta_url: str, inputs: tuple[np.ndarray, np.ndarray],
                                               data_dir: Path) -> None:
    a, b = inputs
    write_casa(data_dir / "c.image", b * 2, wcs_header(CUBE))
    expression = "'c.image' - \"a.fits\""
    async with open_client(carta_url) as client:
        first = await client.register()
        ack = await open_expression(client, expression)
        assert ack.success, ack.message
        saved = await client.request(pb.SaveFile(file_id=0, output_file_name="diff.fits",
                                                 output_file_type=pb.FileType.FITS, keep_degenerate=True,
                                                 rest_freq=float("nan")))
        assert saved.success, saved.message
        clobber = await client.request(pb.SaveFile(file_id=0, output_file_name="a.fits",
                                                   output_file_type=pb.FileType.FITS, rest_freq=float("nan")))
        assert not clobber.success and "overwritten" in clobber.message
        casa = await client.request(pb.SaveFile(file_id=0, output_file_name="c.image",
                                                output_file_type=pb.FileType.CASA, rest_freq=float("nan")))
        assert not casa.success
    assert (data_dir / "c.image" / "table.dat").is_file()
    with fits.open(data_dir / "diff.fits") as hdul:
        assert np.allclose(hdul[0].data, b * 2 - a, equal_nan=True, rtol=1e-6)
        assert hdul[0].header["CTYPE3"] == "FREQ"
    async with open_client(carta_url) as client:
        await client.register(first.session_id)
        image = pb.ImageProperties(directory="", file=expression, hdu="", file_id=0, lel_expr=True, channel=3)
        resumed = await client.request(pb.ResumeSession(images=[image]))
        assert resumed.success, resumed.message
        assert not [e for e in client.buffered if e.event_type == pb.EventType.OPEN_FILE_ACK]
        received = await plane_tiles(client, 3)
        bad = pb.ImageProperties(directory="", file="nope + 1", file_id=1, lel_expr=True)
        failed = await client.request(pb.ResumeSession(images=[bad]))
    check_tiles((b[3] * 2 - a[3]).astype(np.float32), received, NONE, 1e-6)
    assert not failed.success and failed.message == "Problem loading files: 1 "


EQUIVALENT = [
    '"a.fits" + "b.fits"', "a.fits - b.fits * 2.5e-1", "-2^2 * a.fits", "a.fits ^ 2 / (b.fits + 3)",
    "sqrt(abs(a.fits)) + log10(abs(b.fits) + 1) - exp(-abs(a.fits))", "a.fits[b.fits > 0.5]",
    "iif(a.fits > b.fits, a.fits, b.fits - 1)", "max(a.fits, b.fits) - min(a.fits, 0.2)",
    "a.fits[a.fits > 0 && b.fits < 1 || !(a.fits == b.fits)]", "atan2(a.fits, b.fits) + pi() * e()",
    "a.fits % 0.3 + pow(abs(b.fits), 1.5) + floor(a.fits) + sign(b.fits)", "a.fits / 0",
]


@pytest.mark.parametrize("expression", EQUIVALENT)
def test_numpy_subset_matches_casacore(inputs: tuple[np.ndarray, np.ndarray], data_dir: Path,
                                       expression: str) -> None:
    from carta_trio.io.image_expression import ExpressionReader, NumpyExpressionReader, open_expression

    ours = open_expression(data_dir, "", expression)
    theirs = ExpressionReader(resolve_expression(data_dir, "", expression))
    try:
        assert isinstance(ours, NumpyExpressionReader)
        for channel in (0, 3):
            got, want = ours.read_plane(channel, 0), theirs.read_plane(channel, 0)
            assert np.array_equal(np.isnan(got), np.isnan(want)), expression
            finite = np.isfinite(want)
            np.testing.assert_allclose(got[finite], want[finite], rtol=2e-6, atol=1e-6)
            assert np.array_equal(got[np.isinf(want)], want[np.isinf(want)])
        np.testing.assert_allclose(ours.read_spectrum(5, 7, 0), theirs.read_spectrum(5, 7, 0), rtol=2e-6, atol=1e-6)
        assert ours.shape == theirs.shape and ours.axes == theirs.axes
    finally:
        ours.close()
        theirs.close()


async def test_expression_over_hdf5_and_casacore_fallback(carta_url: str, inputs: tuple[np.ndarray, np.ndarray],
                                                          data_dir: Path) -> None:
    a, b = inputs
    h = make_cube((4, 30, 40), seed=31)
    write_hdf5_idia(data_dir / "h.hdf5", h, wcs_header(CUBE))
    async with open_client(carta_url) as client:
        await client.register()
        mixed = await open_expression(client, '"h.hdf5" * 2 - a.fits', file_id=0)
        assert mixed.success, mixed.message
        assert mixed.file_info_extended.depth == 4
        mixed_tiles = await plane_tiles(client, 1, file_id=0)
        centred = await open_expression(client, '"b.fits" - mean("b.fits")', file_id=1)
        assert centred.success, centred.message
        centred_tiles = await plane_tiles(client, 2, file_id=1)
    check_tiles(h[1] * 2 - a[1], mixed_tiles, NONE, 1e-6)
    check_tiles((b[2] - np.mean(b, dtype=np.float64)).astype(np.float32), centred_tiles, NONE, 1e-5)


def test_numpy_evaluation_never_writes_into_shared_inputs() -> None:
    from carta_trio.io import lel_numpy

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    frozen = a.copy()
    frozen.setflags(write=False)  # as the shared plane cache hands out
    node, names = lel_numpy.parse("(x.fits + x.fits * 2) - -y.fits")
    reads = {0: a, 1: frozen}
    out = lel_numpy.evaluate(node, lambda i: reads[i])
    assert np.array_equal(out, a + a * 2 + frozen)
    assert np.array_equal(a, np.arange(12, dtype=np.float32).reshape(3, 4))  # named twice: kept
    once = np.arange(12, dtype=np.float32).reshape(3, 4)
    node, _ = lel_numpy.parse("sqrt(z.fits) + 1")
    result = lel_numpy.evaluate(node, lambda i: once)
    assert result is once  # named once and writeable: reused, no new plane allocated
