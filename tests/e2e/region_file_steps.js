// Region-file steps for carta_e2e.js (issue 14): import a DS9 file through the frontend's
// region import dialog (File > Import Regions, the region file browser, "Load region") and see
// the regions in the region list and on the image; export them through File > Export Regions
// (file name typed, "Export regions" clicked) and find the file in the file browser.
//
// UI names measured on carta-frontend 4.1.0: menu items "Import Regions" / "Export Regions",
// footer buttons "Load region" / "Export regions", the "Enter file name" input, the store
// fileBrowserStore {exportCoordinateType, exportFileType, exportRegionIndexes, setExport*}.
'use strict';

function regionFileSteps({ EVENT, alertTexts, openPathBox }) {
  function stepError(message, data) {
    return Object.assign(new Error(message), { data });
  }

  async function openFileMenuItem(page, label, timeout) {
    await page.locator('.root-menu .root-menu-entry', { hasText: /^File$/ }).first().click({ timeout });
    await page.locator('.bp3-menu-item', { hasText: new RegExp(`^${label}`) }).first().click({ timeout });
    const dialog = page.locator('.file-browser-dialog');
    await dialog.waitFor({ state: 'visible', timeout });
    return dialog;
  }

  /** Type "/folder" into the dialog's path box and wait for the listing of that folder. */
  async function browseRegions(page, recorder, dialog, folder, responseType, timeout) {
    await openPathBox(dialog, timeout);
    const input = dialog.locator('.directory-path-input input');
    const relative = String(folder || '').replace(/^\/+|\/+$/g, '');
    const before = recorder.binary('recv', responseType).length;
    await input.fill('/' + relative);
    await input.press('Enter');
    const sameDir = (d) => String(d || '').replace(/^\.?\/+|\/+$/g, '').replace(/^\.$/, '') === relative;
    await recorder.waitFrames(
      (fr) => fr.filter((f) => f.dir === 'recv' && f.type === responseType).slice(before)
        .find((f) => f.msg && (sameDir(f.msg.directory) || !f.msg.success)),
      timeout, `listing of /${relative}`);
    await page.waitForFunction(() => !window.app.fileBrowserStore.loadingList, null, { timeout });
  }

  function footerButton(dialog, label) {
    return dialog.locator('.bp3-dialog-footer-actions .bp3-button', { hasText: new RegExp(`^${label}$`) }).first();
  }

  async function regionsOfActiveFrame(page) {
    return page.evaluate(() => {
      const f = window.app.activeFrame;
      return {
        file_id: f.frameInfo.fileId,
        regions: f.regionSet.regions.filter((r) => r.regionId > 0).map((r) => ({
          regionId: r.regionId, regionType: r.regionType, name: r.name, color: r.color,
          rotation: r.rotation, controlPoints: r.controlPoints.map((p) => ({ x: p.x, y: p.y })),
        })),
      };
    });
  }

  /** Opaque pixel count of the region layer's canvas (Konva) over the image. */
  async function regionLayerPixels(page) {
    return page.evaluate(() => {
      let opaque = 0, found = 0;
      for (const canvas of document.querySelectorAll('.region-stage canvas')) {
        found += 1;
        const { width, height } = canvas;
        if (!width || !height) continue;
        const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
        for (let i = 3; i < data.length; i += 4) if (data[i]) opaque += 1;
      }
      return { canvases: found, opaque };
    });
  }

  return {
    /**
     * File > Import Regions, browse to `folder`, select `file` (REGION_FILE_INFO), "Load region":
     * IMPORT_REGION -> IMPORT_REGION_ACK, then the regions in the store, the region list widget
     * and the region layer.
     */
    async import_regions(ctx, step) {
      const { page, recorder, timeout } = ctx;
      if (step.image) {  // make the named image the active one (later steps may have opened others)
        await page.evaluate((name) => {
          const index = window.app.frames.findIndex((f) => f.filename === name);
          if (index >= 0) window.app.setActiveFrameByIndex(index);
        }, step.image);
        await page.waitForFunction((name) => window.app.activeFrame.filename === name, step.image, { timeout });
      }
      const mark = recorder.frames.length;
      const types = [EVENT.REGION_LIST_REQUEST, EVENT.REGION_LIST_RESPONSE, EVENT.REGION_FILE_INFO_REQUEST,
        EVENT.REGION_FILE_INFO_RESPONSE, EVENT.IMPORT_REGION, EVENT.IMPORT_REGION_ACK, EVENT.ERROR_DATA];
      const before = await regionsOfActiveFrame(page);
      const pixelsBefore = await regionLayerPixels(page);
      const data = async () => ({ wire: recorder.wire(mark, types), before, pixels_before: pixelsBefore,
        alerts: await alertTexts(page) });
      try {
        const dialog = await openFileMenuItem(page, 'Import Regions', timeout);
        await browseRegions(page, recorder, dialog, step.folder, EVENT.REGION_LIST_RESPONSE, timeout);
        const filter = dialog.locator('input[placeholder^="Filter by filename"]');
        if (await filter.count()) await filter.first().fill(step.file);
        const infoBefore = recorder.binary('recv', EVENT.REGION_FILE_INFO_RESPONSE).length;
        await dialog.locator('.filename-cell .cell-text', { hasText: step.file }).first().click({ timeout });
        await recorder.waitFrames((fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.REGION_FILE_INFO_RESPONSE)[infoBefore],
          timeout, 'REGION_FILE_INFO_RESPONSE');
        const load = footerButton(dialog, 'Load region');
        await page.waitForFunction((el) => el && !el.classList.contains('bp3-disabled'), await load.elementHandle(), { timeout });
        await load.click();
        const ack = await recorder.waitFrames((fr) => fr.slice(mark).find(
          (f) => f.dir === 'recv' && f.type === EVENT.IMPORT_REGION_ACK), timeout, 'IMPORT_REGION_ACK');
        await dialog.waitFor({ state: 'hidden', timeout });
        if (!ack.msg.success) throw stepError(`IMPORT_REGION_ACK failed: ${ack.msg.message}`, await data());
        const expected = before.regions.length + ack.msg.regions;
        await page.waitForFunction((n) => window.app.activeFrame.regionSet.regions.filter((r) => r.regionId > 0).length === n,
          expected, { timeout });
        await page.waitForTimeout(500);
        const after = await regionsOfActiveFrame(page);
        // The region list widget, opened floating, lists every region by name.
        await page.evaluate(() => window.app.widgetsStore.createFloatingRegionListWidget());
        const list = page.locator('.region-list-widget').last();
        await list.waitFor({ state: 'visible', timeout });
        await page.waitForTimeout(500);
        const listText = (await list.innerText()).replace(/\s+/g, ' ');
        const shot = `${ctx.plan.artifacts}/import-regions.png`;
        await page.screenshot({ path: shot });
        await page.evaluate(() => {
          try {
            const w = window.app.widgetsStore;
            for (const widget of [...w.floatingWidgets]) if (widget.type === 'region-list') w.removeFloatingWidget(widget.id);
          } catch (_) { /* leaving the widget open is harmless */ }
        });
        return { ...(await data()), ack: ack.msg, after, region_list_text: listText,
          pixels_after: await regionLayerPixels(page), screenshot: shot };
      } catch (err) {
        if (!err.data) err.data = await data();
        throw err;
      }
    },

    /**
     * File > Export Regions: every region selected, DS9 + world coordinates chosen in the store
     * (the dialog's own menus), the file name typed and "Export regions" clicked:
     * EXPORT_REGION -> EXPORT_REGION_ACK; then the file shows up in the region file browser.
     */
    async export_regions(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const mark = recorder.frames.length;
      const types = [EVENT.EXPORT_REGION, EVENT.EXPORT_REGION_ACK, EVENT.REGION_LIST_RESPONSE, EVENT.ERROR_DATA];
      const data = async () => ({ wire: recorder.wire(mark, types), alerts: await alertTexts(page) });
      try {
        const dialog = await openFileMenuItem(page, 'Export Regions', timeout);
        await browseRegions(page, recorder, dialog, step.folder, EVENT.REGION_LIST_RESPONSE, timeout);
        const chosen = await page.evaluate(([fileType, coordType]) => {
          const s = window.app.fileBrowserStore;
          const regions = window.app.activeFrame.regionSet.regions;
          for (let i = 1; i < regions.length; i += 1) {
            if (!s.exportRegionIndexes.includes(i)) s.addExportRegionIndex(i);
          }
          s.setExportFileType(fileType);
          s.setExportCoordinateType(coordType);
          return { indexes: [...s.exportRegionIndexes], file_type: s.exportFileType, coord_type: s.exportCoordinateType };
        }, [step.file_type, step.coord_type]);
        const input = dialog.locator('input[placeholder="Enter file name"]').first();
        await input.fill(step.file);
        const button = footerButton(dialog, 'Export regions');
        await page.waitForFunction((el) => el && !el.classList.contains('bp3-disabled'), await button.elementHandle(), { timeout });
        await button.click();
        const ack = await recorder.waitFrames((fr) => fr.slice(mark).find(
          (f) => f.dir === 'recv' && f.type === EVENT.EXPORT_REGION_ACK), timeout, 'EXPORT_REGION_ACK');
        if (!ack.msg.success) throw stepError(`EXPORT_REGION_ACK failed: ${ack.msg.message}`, await data());
        // Find the file: the region import browser lists the folder again, once the export
        // dialog has closed (else the next locator may find the closing one).
        await dialog.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
        await page.waitForTimeout(300);
        const browser = await openFileMenuItem(page, 'Import Regions', timeout);
        await browseRegions(page, recorder, browser, step.folder, EVENT.REGION_LIST_RESPONSE, timeout);
        const filter = browser.locator('input[placeholder^="Filter by filename"]');
        if (await filter.count()) await filter.first().fill(step.file);
        await page.waitForTimeout(300);
        const listed = (await browser.locator('.filename-cell .cell-text').allInnerTexts()).map((t) => t.trim());
        // Leave the browser closed (later steps open it in their own mode).
        await footerButton(browser, 'Close').click({ timeout });
        await browser.waitFor({ state: 'hidden', timeout });
        return { ...(await data()), chosen, ack: ack.msg, listed };
      } catch (err) {
        if (!err.data) err.data = await data();
        throw err;
      }
    },
  };
}

module.exports = { regionFileSteps };
