"""Catalogs in the real frontend (issue 15): import from the file browser's catalog mode, the table
widget fills, a column filter goes through CATALOG_FILTER_REQUEST, and "Plot" draws the overlay.

Expected values come from astropy reading the same generated file, not from our reader."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from carta_trio.messages import registry
from carta_trio.messages import schema as pb
from tests.catalog_factory import astropy_read, write_sky_catalog
from tests.e2e_session import CATALOG_FLUX_CUT, CATALOG_NAME, CATALOG_ROWS, step
from tests.e2e_session import e2e_results  # noqa: F401  (the shared fixture, for pytest to find)

pytestmark = pytest.mark.e2e


def decoded(data: dict[str, Any], event: int) -> list[Any]:
    return [registry.decode_frame(base64.b64decode(f["b64"])).message for f in data["wire"]
            if f["type"] == event and f.get("b64")]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    path = write_sky_catalog(tmp_path_factory.mktemp("cat") / CATALOG_NAME, 275.0875, -16.2027777778, CATALOG_ROWS)
    return astropy_read(path)


def test_catalog_opens_from_the_file_browser_and_fills_the_table(e2e_results: dict[str, Any], catalog) -> None:
    data = step(e2e_results, "open_catalog")
    (ack,) = decoded(data, pb.EventType.OPEN_CATALOG_FILE_ACK)
    assert ack.success and ack.data_size == len(catalog) == CATALOG_ROWS
    assert [h.name for h in ack.headers] == catalog.colnames
    assert decoded(data, pb.EventType.CATALOG_LIST_RESPONSE)[-1].success
    assert decoded(data, pb.EventType.CATALOG_FILE_INFO_RESPONSE)[-1].success
    state = data["state"]
    assert state["dataSize"] == CATALOG_ROWS and state["rows"] >= 50
    assert "src000" in data["cells"]  # the table widget shows the first rows
    assert not data["alerts"]


def test_catalog_filter_through_the_widget(e2e_results: dict[str, Any], catalog) -> None:
    data = step(e2e_results, "catalog_filter")
    kept = int((np.asarray(catalog["flux"]) > CATALOG_FLUX_CUT).sum())
    requests = decoded(data, pb.EventType.CATALOG_FILTER_REQUEST)
    assert any(r.filter_configs and r.filter_configs[0].column_name == "flux" for r in requests)
    responses = decoded(data, pb.EventType.CATALOG_FILTER_RESPONSE)
    assert responses and responses[-1].filter_data_size == kept and responses[-1].progress == 1.0
    flux = np.frombuffer(responses[-1].columns[3].binary_data, "<f8")
    assert (flux > CATALOG_FLUX_CUT).all()
    assert data["state"]["filterDataSize"] == kept


def test_catalog_overlay_drawn_on_the_image(e2e_results: dict[str, Any], catalog) -> None:
    data = step(e2e_results, "catalog_overlay")
    kept = int((np.asarray(catalog["flux"]) > CATALOG_FLUX_CUT).sum())
    assert data["state"]["count"] == kept
    assert data["overlay"]["opaque"] > 0 and not data["before"].get("opaque")
