// Catalog steps for carta_e2e.js (issue 15's "real frontend" requirement), on carta-frontend 4.1.0:
//   open_catalog    File > Import Catalog, browse to the folder (CATALOG_LIST), select the file
//                   (CATALOG_FILE_INFO), "Load catalog" -> OPEN_CATALOG_FILE_ACK; the catalog
//                   widget's table fills with the preview rows.
//   catalog_filter  a column filter typed into the profile store (setColumnFilter, as the header
//                   table's filter cell does), then the widget's "Apply filter" button ->
//                   CATALOG_FILTER_REQUEST -> CATALOG_FILTER_RESPONSE; the table shows the kept rows.
//   catalog_overlay x/y columns chosen (the widget's axis selects set widgetStore.xAxis/yAxis),
//                   then "Plot" -> the overlay is drawn on canvas.catalog-canvas (a 2D copy of
//                   the catalog WebGL layer, readable with getImageData).
// Each step returns `wire` (recorder.wire) so the pytest side decodes the frames with the schema.
'use strict';

function catalogSteps({ EVENT, waitForImage, alertTexts, openPathBox }) {
  const TYPES = [EVENT.CATALOG_LIST_REQUEST, EVENT.CATALOG_LIST_RESPONSE, EVENT.CATALOG_FILE_INFO_REQUEST,
    EVENT.CATALOG_FILE_INFO_RESPONSE, EVENT.OPEN_CATALOG_FILE, EVENT.OPEN_CATALOG_FILE_ACK,
    EVENT.CATALOG_FILTER_REQUEST, EVENT.CATALOG_FILTER_RESPONSE, EVENT.ERROR_DATA];

  function stepError(message, data) {
    return Object.assign(new Error(message), { data });
  }

  /** The newest catalog's profile state: ids, sizes, and the rows the table widget holds. */
  async function catalogState(page) {
    return page.evaluate(() => {
      const store = window.app.catalogStore;
      const ids = [...store.catalogProfileStores.keys()];
      if (!ids.length) return { ids };
      const fileId = ids[ids.length - 1];
      const profile = store.catalogProfileStores.get(fileId);
      const columns = [...profile.catalogData.values()];
      const rows = columns.length ? (columns[0].data ? columns[0].data.length : 0) : 0;
      const widgetId = store.catalogWidgets.get(fileId);
      const widget = widgetId ? window.app.widgetsStore.catalogWidgets.get(widgetId) : null;
      return {
        ids, fileId, rows, numVisibleRows: profile.numVisibleRows, filterDataSize: profile.filterDataSize ?? null,
        dataSize: profile.catalogInfo.dataSize, loading: Boolean(profile.loadingData),
        updatingDataStream: Boolean(profile.updatingDataStream), count: store.catalogCounts.get(fileId) ?? null,
        xAxis: widget ? widget.xAxis : null, yAxis: widget ? widget.yAxis : null,
        headers: profile.catalogHeader.map((h) => h.name),
      };
    });
  }

  /** Texts of the catalog widget's data table cells (the visible, virtualised part). */
  async function tableCells(page) {
    return (await page.locator('.catalog-overlay-data-container .bp3-table-cell').allInnerTexts())
      .map((t) => t.trim()).filter(Boolean);
  }

  /** Opaque pixels of canvas.catalog-canvas, their bounding box and a hash. */
  async function overlayStats(page) {
    return page.evaluate(() => {
      const canvas = document.querySelector('.image-panel-div.active canvas.catalog-canvas')
        || document.querySelector('canvas.catalog-canvas');
      if (!canvas) return { found: false };
      const { width, height } = canvas;
      const out = { found: true, width, height, opaque: 0 };
      if (!width || !height) return out;
      const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
      let x0 = width, x1 = -1, y0 = height, y1 = -1;
      for (let p = 0, i = 3; i < data.length; p += 1, i += 4) {
        if (!data[i]) continue;
        out.opaque += 1;
        const px = p % width, py = (p - px) / width;
        if (px < x0) x0 = px;
        if (px > x1) x1 = px;
        if (py < y0) y0 = py;
        if (py > y1) y1 = py;
      }
      if (out.opaque) out.bbox = { x0, y0, x1, y1 };
      return out;
    });
  }

  function footerButton(scope, label) {
    return scope.locator('.bp3-button', { hasText: new RegExp(`^${label}$`) }).first();
  }

  async function waitEnabled(page, locator, timeout) {
    await page.waitForFunction(
      (el) => el && !el.classList.contains('bp3-disabled') && !el.disabled, await locator.elementHandle({ timeout }),
      { timeout });
  }

  return {
    async open_catalog(ctx, step) {
      const { page, recorder, timeout } = ctx;
      await waitForImage(page, timeout);
      const mark = recorder.frames.length;
      const data = async () => ({ state: await catalogState(page), alerts: await alertTexts(page), wire: recorder.wire(mark, TYPES) });
      try {
        await page.locator('.root-menu .root-menu-entry', { hasText: /^File$/ }).first().click();
        await page.locator('.bp3-menu-item', { hasText: /^Import Catalog/ }).first().click();
        const dialog = page.locator('.file-browser-dialog');
        await dialog.waitFor({ state: 'visible', timeout });
        await openPathBox(dialog, timeout);
        const input = dialog.locator('.directory-path-input input');
        const before = recorder.binary('recv', EVENT.CATALOG_LIST_RESPONSE).length;
        await input.fill('/' + step.folder);
        await input.press('Enter');
        await recorder.waitFrames((fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.CATALOG_LIST_RESPONSE)
          .slice(before).find((f) => f.msg && String(f.msg.directory).replace(/^\/+|\/+$/g, '') === step.folder),
        timeout, `CATALOG_LIST_RESPONSE for ${step.folder}`);
        const filter = dialog.locator('input[placeholder^="Filter by filename"]');
        if (await filter.count()) await filter.first().fill(step.file);
        const infoBefore = recorder.binary('recv', EVENT.CATALOG_FILE_INFO_RESPONSE).length;
        await dialog.locator('.filename-cell .cell-text', { hasText: step.file }).first().click({ timeout });
        await recorder.waitFrames((fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.CATALOG_FILE_INFO_RESPONSE)[infoBefore],
          timeout, `CATALOG_FILE_INFO_RESPONSE for ${step.file}`);
        const load = footerButton(dialog.locator('.bp3-dialog-footer-actions'), 'Load catalog');
        await waitEnabled(page, load, timeout);
        await load.click();
        const ack = await recorder.waitFrames((fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.OPEN_CATALOG_FILE_ACK),
          timeout, 'OPEN_CATALOG_FILE_ACK');
        if (!ack.msg || !ack.msg.success) throw new Error(`OPEN_CATALOG_FILE_ACK failed: ${JSON.stringify(ack.msg)}`);
        await page.waitForFunction(() => window.app.catalogStore.catalogProfileStores.size > 0, null, { timeout });
        await page.locator('.catalog-overlay-data-container .bp3-table-cell').first().waitFor({ state: 'visible', timeout });
        await page.waitForFunction(() => document.querySelectorAll('.catalog-overlay-data-container .bp3-table-cell').length > 10,
          null, { timeout });
        return { ...(await data()), cells: await tableCells(page), dialog_closed: !(await dialog.isVisible()) };
      } catch (err) {
        throw stepError(String(err.message || err), await data());
      }
    },

    async catalog_filter(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const mark = recorder.frames.length;
      const data = async () => ({ state: await catalogState(page), alerts: await alertTexts(page), wire: recorder.wire(mark, TYPES) });
      try {
        await page.evaluate(([column, text]) => {
          const store = window.app.catalogStore;
          const ids = [...store.catalogProfileStores.keys()];
          store.catalogProfileStores.get(ids[ids.length - 1]).setColumnFilter(text, column);
        }, [step.column, step.filter]);
        const apply = footerButton(page.locator('.catalog-overlay'), 'Apply filter');
        await waitEnabled(page, apply, timeout);
        await apply.click();
        await recorder.waitFrames((fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.CATALOG_FILTER_RESPONSE
          && f.msg && f.msg.progress >= 1), timeout, 'CATALOG_FILTER_RESPONSE');
        await page.waitForFunction(() => {
          const store = window.app.catalogStore;
          const ids = [...store.catalogProfileStores.keys()];
          const p = store.catalogProfileStores.get(ids[ids.length - 1]);
          return p.filterDataSize !== undefined && !p.loadingData;
        }, null, { timeout });
        await page.waitForTimeout(300);
        return { ...(await data()), cells: await tableCells(page) };
      } catch (err) {
        throw stepError(String(err.message || err), await data());
      }
    },

    async catalog_overlay(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const mark = recorder.frames.length;
      const before = await overlayStats(page);
      const data = async () => ({
        state: await catalogState(page), alerts: await alertTexts(page), before, overlay: await overlayStats(page),
        wire: recorder.wire(mark, TYPES),
      });
      try {
        await page.evaluate(([x, y]) => {
          const store = window.app.catalogStore;
          const ids = [...store.catalogProfileStores.keys()];
          const widget = window.app.widgetsStore.catalogWidgets.get(store.catalogWidgets.get(ids[ids.length - 1]));
          widget.setxAxis(x);
          widget.setyAxis(y);
        }, [step.x, step.y]);
        const plot = footerButton(page.locator('.catalog-overlay'), 'Plot');
        await waitEnabled(page, plot, timeout);
        await plot.click();
        await page.waitForFunction(() => {
          const store = window.app.catalogStore;
          const ids = [...store.catalogProfileStores.keys()];
          const p = store.catalogProfileStores.get(ids[ids.length - 1]);
          return !p.updatingDataStream && (store.catalogCounts.get(ids[ids.length - 1]) || 0) > 0;
        }, null, { timeout });
        const end = Date.now() + timeout;
        let stats = await overlayStats(page);
        while (!(stats.opaque > 0) && Date.now() < end) {
          await page.waitForTimeout(250);
          stats = await overlayStats(page);
        }
        if (!(stats.opaque > 0)) throw new Error(`catalog overlay canvas stayed empty: ${JSON.stringify(stats)}`);
        return await data();
      } catch (err) {
        throw stepError(String(err.message || err), await data());
      }
    },
  };
}

module.exports = { catalogSteps };
