"""The e2e harness: one real server, one browser, one plan of steps, shared by the e2e modules.

The server is started as a real subprocess (``python3 -m carta_trio --no_browser --port P
--frontend_folder BUILD --top_level_folder DATA --host 127.0.0.1`` with ``CARTA_AUTH_TOKEN``
set), the URL it prints is handed to ``tests/e2e/carta_e2e.js`` (playwright-core driving
Debian's ``/usr/bin/chromium``), which runs the plan below and writes one JSON result per
step. The server is stopped as soon as the driver exits: every test only reads results.

The run happens once per pytest process (``run_once``), however many e2e modules ask for the
``e2e_results`` fixture, because booting the frontend costs most of the e2e time on a small
machine. A run that could not happen (missing tools: skip, or fail under ``CI=true``) fails
or skips every asking module the same way.

Needs node/npm and ``/usr/bin/chromium``; the frontend build (``npm pack``) and
playwright-core (``npm ci`` in ``tests/e2e``) are fetched on first run and cached under
``<repo>/.e2e`` and ``tests/e2e/node_modules``. Screenshots, the plan, the results file
and the server and driver logs land in ``tests/artifacts/e2e/``.

Environment knobs: ``CARTA_E2E_FRONTEND`` (an unpacked build to use instead of
installing one), ``CARTA_E2E_SERVER_CMD`` (a different backend command to test instead
of ``python3 -m carta_trio``, e.g. the reference ``carta_backend``), ``CARTA_E2E_CHROMIUM``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from carta_trio.io.frontend_install import install_frontend, is_frontend_build
from tests.catalog_factory import write_sky_catalog

REPO = Path(__file__).resolve().parents[1]
E2E_DIR = REPO / "tests" / "e2e"
DRIVER = E2E_DIR / "carta_e2e.js"
CACHE = REPO / ".e2e"
ARTIFACTS = REPO / "tests" / "artifacts" / "e2e"
CHROMIUM = os.environ.get("CARTA_E2E_CHROMIUM", "/usr/bin/chromium")

SERVER_START_TIMEOUT = 60.0
DRIVER_TIMEOUT = 240.0
STEP_TIMEOUT_MS = 30000
URL_LINE = re.compile(r"CARTA is accessible at (\S+)")

# The generated 2D test image (see write_test_image and make_data_folder).
IMAGE_FOLDER = "e2e"
IMAGE_NAME = "gradient.fits"
IMAGE_WIDTH, IMAGE_HEIGHT = 300, 200
#: Pixel (x, y) of the Gaussian's peak, 0-based, y upwards as in FITS.
PEAK = (180, 90)

# The generated cube (see write_test_cube): a Gaussian that moves right and brightens per channel.
CUBE_NAME = "cube.fits"
CUBE_WIDTH, CUBE_HEIGHT, CUBE_DEPTH = 160, 120, 8
CUBE_SIGMA = 6.0
CUBE_RAMP = 0.05
#: Frequency axis: channel c is at CUBE_CRVAL3 + c * CUBE_CDELT3 Hz; the rest frequency is CUBE_CRVAL3.
CUBE_CRVAL3, CUBE_CDELT3 = 1.0e11, 1.0e6
#: Beam (degrees) and pixel size (degrees) of both images.
BMAJ, BMIN, CDELT = 1.0e-3, 8.0e-4, 2.777777777778e-4

# The generated source catalog (tests/catalog_factory.write_sky_catalog) around the images' centre.
CATALOG_NAME = "sources.xml"
CATALOG_ROWS = 120
CATALOG_FLUX_CUT = 5

# The shipped sample cube (carta_trio.io.sample_cube), copied into the data folder.
SAMPLE_NAME = "sample_cube.fits"

# What the cube steps do (the tests read them back from here).
CHANNEL_STEP_TARGET = 3
ANIMATION_MIN_FRAMES = 5
CONTOUR_LEVELS = [0.3, 0.6, 0.9]
CURSOR_PIXEL = (75, 64)
REGION_CENTER, REGION_SIZE = (60, 60), (21, 21)
MOMENT_CURSOR_PIXEL = (80, 60)

# Images built from other images: the expression opened from the browser's arithmetic box
# (gradient.fits turned upside down in value, so its Gaussian becomes a dip) and four
# single-Stokes planes pol.<S>.fits joined as a hypercube (Stokes types guessed from the names).
EXPRESSION = '3 - "gradient.fits"'
POL_STOKES = ("I", "Q", "U", "V")
POL_WIDTH, POL_HEIGHT = 96, 64

# Region files (issue 14): a DS9 file next to the cube, imported through the region dialog
# onto the cube, then exported (DS9, world coordinates) under another name.
REGION_FILE, REGION_EXPORT_FILE = "cube_regions.reg", "exported_regions.reg"
REGION_FILE_TEXT = """# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1
fk5
circle(275.0875,-16.2027777778,10") # color=red text={e2e-circle}
box(275.0860,-16.1990,20",12",30) # text={e2e-box}
image
polygon(20,20,40,20,30,35) # text={e2e-polygon}
point(100,80) # color=#2EE6D6 text={e2e-point}
"""


def cube_source(channel: int) -> tuple[float, float, float]:
    """(x, y, amplitude) of the cube's Gaussian in `channel` (0-based pixels, y upwards)."""
    return 40.0 + 10.0 * channel, 60.0, 1.0 + 0.5 * channel


def plan_steps() -> list[dict[str, Any]]:
    """The driver's steps, in order (``name`` tells apart two runs of one step kind)."""
    return [
        {"step": "boot"},
        {"step": "connect"},
        {"step": "list_folder", "folder": IMAGE_FOLDER},
        {"step": "file_header", "folder": IMAGE_FOLDER, "file": IMAGE_NAME},
        {"step": "open_image", "folder": IMAGE_FOLDER, "file": IMAGE_NAME},
        # The cube: tiles per channel, animation, contours, cursor/regions, moments.
        {"step": "open_image", "name": "open_cube", "via": "api", "folder": IMAGE_FOLDER, "file": CUBE_NAME},
        {"step": "change_channel", "channel": CHANNEL_STEP_TARGET},
        {"step": "animation", "min_frames": ANIMATION_MIN_FRAMES, "settle_ms": 1500},
        {"step": "contours", "levels": CONTOUR_LEVELS, "smoothing_mode": 0, "smoothing_factor": 1},
        {"step": "cursor", "pixel": list(CURSOR_PIXEL)},
        {"step": "region_stats", "center": list(REGION_CENTER), "size": list(REGION_SIZE)},
        {"step": "moment", "region_id": -1},
        {"step": "close_floating_widgets"},
        {"step": "cursor", "name": "moment_cursor", "pixel": list(MOMENT_CURSOR_PIXEL)},
        # Region files: import through the region dialog onto the cube, export through the export dialog.
        {"step": "import_regions", "image": CUBE_NAME, "folder": IMAGE_FOLDER, "file": REGION_FILE},
        {"step": "export_regions", "folder": IMAGE_FOLDER, "file": REGION_EXPORT_FILE, "file_type": 2,
         "coord_type": 1},
        # The shipped sample cube: its first plane and its moment 0 show sky structure.
        {"step": "open_image", "name": "open_sample", "via": "api", "folder": IMAGE_FOLDER, "file": SAMPLE_NAME},
        {"step": "moment", "name": "sample_moment", "region_id": -1},
        # Images built from other images: an expression typed in the browser, a Stokes hypercube.
        # They open their own images from the browser, so they also run after an unrelated failure.
        {"step": "open_expression", "folder": IMAGE_FOLDER, "expression": EXPRESSION, "always": True},
        {"step": "concat_stokes", "folder": IMAGE_FOLDER, "filter": "pol.",
         "files": [f"pol.{s}.fits" for s in POL_STOKES], "always": True},
        # Catalogs: import from the file browser's catalog mode, filter, overlay on the image.
        {"step": "open_catalog", "folder": IMAGE_FOLDER, "file": CATALOG_NAME},
        {"step": "catalog_filter", "column": "flux", "filter": f"> {CATALOG_FLUX_CUT}"},
        {"step": "catalog_overlay", "x": "RA_d", "y": "DEC_d"},
        {"step": "console", "always": True},
    ]


def _unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a CI run must never pass by skipping the e2e test."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"e2e prerequisites missing in CI: {reason}")
    pytest.skip(reason)


def _run(cmd: list[str], cwd: Path, timeout: float) -> None:
    result = subprocess.run(
        cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}")


def node_driver() -> Path:
    """The node driver with playwright-core installed next to it (``npm ci`` once)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not on PATH")
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not (E2E_DIR / "node_modules" / "playwright-core" / "package.json").exists():
        _run(["npm", "ci", "--no-audit", "--no-fund"], E2E_DIR, timeout=600)
    return DRIVER


def frontend_build() -> Path:
    """The carta-frontend 4.1.0 build: ``CARTA_E2E_FRONTEND`` or installed under ``.e2e/``."""
    given = os.environ.get("CARTA_E2E_FRONTEND")
    if given:
        if not is_frontend_build(Path(given)):
            pytest.fail(f"CARTA_E2E_FRONTEND={given} has no index.html")
        return Path(given).resolve()
    if shutil.which("npm") is None:
        _unavailable("npm is not on PATH (needed to fetch carta-frontend)")
    return install_frontend(CACHE)


def _sky_header(crpix1: float, crpix2: float) -> dict[str, Any]:
    return {
        "CTYPE1": "RA---SIN", "CRVAL1": 275.0875, "CDELT1": -CDELT, "CRPIX1": crpix1, "CUNIT1": "deg",
        "CTYPE2": "DEC--SIN", "CRVAL2": -16.2027777778, "CDELT2": CDELT, "CRPIX2": crpix2, "CUNIT2": "deg",
    }


def write_test_image(path: Path) -> np.ndarray:
    """A 300x200 float32 SIN-projected image: a ramp plus a Gaussian, so pixels vary."""
    from astropy.io import fits

    y, x = np.mgrid[0:IMAGE_HEIGHT, 0:IMAGE_WIDTH].astype(np.float64)
    peak_x, peak_y = PEAK
    gaussian = np.exp(-((x - peak_x) ** 2 + (y - peak_y) ** 2) / (2 * 25.0**2))
    data = (x / IMAGE_WIDTH + 2.0 * gaussian).astype(np.float32)
    header = fits.Header()
    header["OBJECT"] = ("E2E-TEST", "generated by tests/e2e_session.py")
    header["BUNIT"] = "Jy/beam"
    for key, value in {
        **_sky_header(151.0, 101.0), "BMAJ": BMAJ, "BMIN": BMIN, "BPA": 30.0, "EQUINOX": 2000.0, "RADESYS": "FK5",
    }.items():
        header[key] = value
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return data


def cube_data() -> np.ndarray:
    """The cube's pixels, float32 [channel, y, x]: ramp + a Gaussian at ``cube_source(channel)``."""
    y, x = np.mgrid[0:CUBE_HEIGHT, 0:CUBE_WIDTH].astype(np.float64)
    planes = []
    for channel in range(CUBE_DEPTH):
        sx, sy, amplitude = cube_source(channel)
        gaussian = amplitude * np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * CUBE_SIGMA**2))
        planes.append(CUBE_RAMP * x / CUBE_WIDTH + gaussian)
    return np.asarray(planes).astype(np.float32)


def write_test_cube(path: Path) -> np.ndarray:
    """The cube as FITS (RA/DEC SIN, FREQ with a rest frequency, a beam, BUNIT Jy/beam)."""
    from astropy.io import fits

    data = cube_data()
    header = fits.Header()
    header["OBJECT"] = ("E2E-CUBE", "generated by tests/e2e_session.py")
    header["BUNIT"] = "Jy/beam"
    for key, value in {
        **_sky_header(81.0, 61.0),
        "CTYPE3": "FREQ", "CRVAL3": CUBE_CRVAL3, "CDELT3": CUBE_CDELT3, "CRPIX3": 1.0, "CUNIT3": "Hz",
        "SPECSYS": "LSRK", "RESTFRQ": CUBE_CRVAL3,
        "BMAJ": BMAJ, "BMIN": BMIN, "BPA": 30.0, "EQUINOX": 2000.0, "RADESYS": "FK5",
    }.items():
        header[key] = value
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return data


def pol_plane(index: int) -> np.ndarray:
    """Stokes plane ``index`` of the hypercube: a Gaussian whose position depends on the index."""
    y, x = np.mgrid[0:POL_HEIGHT, 0:POL_WIDTH].astype(np.float64)
    sx, sy = 20.0 + 18.0 * index, 32.0
    return (0.1 * x / POL_WIDTH + np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * 5.0**2))).astype(np.float32)


def write_pol_plane(path: Path, index: int) -> None:
    """One single-Stokes 2D FITS image (no Stokes axis: the type comes from the file name)."""
    from astropy.io import fits

    header = fits.Header()
    header["BUNIT"] = "Jy/beam"
    for key, value in {**_sky_header(48.0, 32.0), "EQUINOX": 2000.0, "RADESYS": "FK5"}.items():
        header[key] = value
    fits.PrimaryHDU(data=pol_plane(index), header=header).writeto(path)


def make_data_folder(top: Path) -> Path:
    """Top-level folder: ``e2e/gradient.fits``, ``e2e/cube.fits``, ``e2e/pol.{I,Q,U,V}.fits``, an empty
    ``e2e/nested``, a text file, a catalog and a DS9 region file."""
    folder = top / IMAGE_FOLDER
    (folder / "nested").mkdir(parents=True)
    write_test_image(folder / IMAGE_NAME)
    write_test_cube(folder / CUBE_NAME)
    for index, stokes in enumerate(POL_STOKES):
        write_pol_plane(folder / f"pol.{stokes}.fits", index)
    write_sky_catalog(folder / CATALOG_NAME, 275.0875, -16.2027777778, CATALOG_ROWS)
    (folder / "notes.txt").write_text("not an image\n")
    (folder / REGION_FILE).write_text(REGION_FILE_TEXT)
    from carta_trio.cli import SAMPLE_FOLDER

    shutil.copy(SAMPLE_FOLDER / SAMPLE_NAME, folder / SAMPLE_NAME)
    return top.resolve()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """The backend as a subprocess; its merged stdout/stderr is copied to a log file."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.cmd = cmd
        self.log_path = log_path
        self.token = ""
        self.lines: queue.Queue[str] = queue.Queue()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log_path, "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                self.lines.put(line)

    def wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            match = URL_LINE.search(line)
            if match:
                return match.group(1)
        code = self.proc.poll()
        when = f"exited with code {code}" if code is not None else f"was still silent after {timeout:.0f} s"
        raise AssertionError(
            f"server {when} without printing 'CARTA is accessible at ...'; "
            f"command {shlex.join(self.cmd)}; log:\n{self.log_text()[-4000:]}"
        )

    def log_text(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGINT (graceful, as Ctrl-C), then SIGKILL after 10 s; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._pump.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


def _start_server(build: Path, data: Path, home: Path, log_path: Path | None = None) -> ServerProcess:
    # Preferences come from the backend (/config names /api): turn off the frontend's
    # GitHub release check, which would otherwise log an error with no internet.
    config = home / ".carta" / "config"
    config.mkdir(parents=True)
    (config / "preferences.json").write_text(json.dumps({"version": 2, "checkNewRelease": False}))
    token = secrets.token_hex(16)
    env = dict(os.environ, CARTA_AUTH_TOKEN=token, HOME=str(home), PYTHONUNBUFFERED="1")
    base = shlex.split(os.environ.get("CARTA_E2E_SERVER_CMD", "")) or [sys.executable, "-m", "carta_trio"]
    cmd = [
        *base, "--no_browser", "--port", str(_free_port()), "--frontend_folder", str(build),
        "--top_level_folder", str(data), "--host", "127.0.0.1",
    ]
    # Not the repo root as cwd: its carta_trio/ folder would shadow the installed package.
    server = ServerProcess(cmd, env, log_path or ARTIFACTS / "server.log", cwd=home)
    server.token = token
    return server


def _run_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Start the server, run the whole plan in one browser, stop the server; ``{step name: result}``."""
    driver = node_driver()
    build = frontend_build()
    data = make_data_folder(tmp_path_factory.mktemp("e2e-data"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results_path = ARTIFACTS / "results.json"
    results_path.unlink(missing_ok=True)
    for old in ARTIFACTS.glob("*.png"):  # screenshots of an earlier plan would mislead
        old.unlink()
    server = _start_server(build, data, tmp_path_factory.mktemp("e2e-home"))
    try:
        url = server.wait_for_url(SERVER_START_TIMEOUT)
        assert url.startswith("http://127.0.0.1:"), url
        assert f"token={server.token}" in url, url
        plan = {
            "url": url, "results": str(results_path), "artifacts": str(ARTIFACTS),
            "step_timeout_ms": STEP_TIMEOUT_MS, "steps": plan_steps(),
        }
        plan_path = ARTIFACTS / "plan.json"
        plan_path.write_text(json.dumps(plan, indent=2))
        try:
            proc = subprocess.run(
                ["node", str(driver), str(plan_path)], cwd=E2E_DIR, stdin=subprocess.DEVNULL,
                capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"e2e driver did not finish within {DRIVER_TIMEOUT:.0f} s: {exc}")
    finally:
        server.stop()
    (ARTIFACTS / "driver.log").write_text(proc.stdout + proc.stderr)
    if not results_path.exists():
        pytest.fail(f"e2e driver wrote no results (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    results = json.loads(results_path.read_text())
    if results.get("fatal"):
        pytest.fail(f"e2e driver could not run: {results['fatal']}")
    return {entry["step"]: entry for entry in results["steps"]} | {"_all": results, "_data": data}


_OUTCOME: list[tuple[bool, Any]] = []


def run_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The plan's results, run on the first call; later calls get the same results (or error)."""
    if not _OUTCOME:
        try:
            _OUTCOME.append((True, _run_plan(tmp_path_factory)))
        except (Exception, pytest.skip.Exception, pytest.fail.Exception) as exc:
            _OUTCOME.append((False, exc))
    ok, value = _OUTCOME[0]
    if not ok:
        raise value
    return value


@pytest.fixture(scope="module")
def e2e_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``{step name: step result}`` of the one e2e run (import this fixture into e2e modules)."""
    return run_once(tmp_path_factory)


def step(results: dict[str, Any], name: str) -> dict[str, Any]:
    """The data of a step that passed, or a failure naming the step's own error."""
    entry = results[name]
    if entry.get("skipped"):
        pytest.fail(f"step {name} was skipped because an earlier step failed")
    if not entry["ok"]:
        pytest.fail(
            f"step {name} failed: {entry.get('error')}\nERROR_DATA from the backend: {entry.get('error_data')}"
            f"\ndata: {json.dumps(entry.get('data'))[:3000]}\nscreenshot: {entry.get('screenshot')}"
            f"\nserver log tail:\n{_server_log_tail()}"
        )
    return entry["data"]


def _server_log_tail(lines: int = 12) -> str:
    try:
        return "\n".join((ARTIFACTS / "server.log").read_text().splitlines()[-lines:])
    except OSError:
        return "(no server log)"
