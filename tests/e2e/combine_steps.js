// Steps for images built from other images, driven through the file browser of
// carta-frontend 4.1.0 (names read from its build): the filter box's drop-down switches to
// "Image arithmetic" (input `.arithmetic-input input`, footer button "Load expression"), and
// several rows selected with Ctrl-click enable "Load as hypercube", which opens the
// "Merging polarization hypercube" dialog (`.stokes-dialog`, footer button "Load").
'use strict';

/**
 * The steps, given the driver's shared helpers: {EVENT, browseTo, footerButton, waitForImage,
 * imageSummary, activeFrameInfo, alertTexts}.
 */
function combineSteps({ EVENT, browseTo, footerButton, waitForImage, imageSummary, activeFrameInfo, alertTexts }) {
  async function enabled(page, button, timeout) {
    await page.waitForFunction(
      (el) => el && !el.classList.contains('bp3-disabled') && !el.disabled, await button.elementHandle(), { timeout });
  }

  /** A step that runs after an unrelated failure must not inherit a running animation. */
  async function quiesce(page) {
    await page.evaluate(() => {
      const animator = window.app && window.app.animatorStore;
      if (animator && animator.animationActive) animator.stopAnimation();
    });
  }

  return {
    /** Type `expression` into the file browser's image-arithmetic box and load it. */
    async open_expression(ctx, step) {
      const { page, recorder, timeout } = ctx;
      await quiesce(page);
      const dialog = await browseTo(page, recorder, step.folder || '', timeout);
      const mark = recorder.frames.length;
      // (text content includes the icons' <desc>: "searchFiltercaret-down"; the other button has "filter")
      await dialog.locator('.bp3-button', { hasText: /Filter/ }).first().click({ timeout });
      await page.locator('.bp3-menu-item', { hasText: /Image arithmetic/ }).first().click({ timeout });
      const input = dialog.locator('.arithmetic-input input');
      await input.waitFor({ state: 'visible', timeout });
      await input.fill(step.expression);
      const load = footerButton(dialog, 'Load expression');
      await enabled(page, load, timeout);
      await load.click();
      const types = [EVENT.OPEN_FILE, EVENT.OPEN_FILE_ACK, EVENT.REGION_HISTOGRAM_DATA, EVENT.ERROR_DATA];
      const ack = await recorder.waitFrames(
        (fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.OPEN_FILE_ACK), timeout, 'OPEN_FILE_ACK');
      const sent = recorder.frames.slice(mark).find((f) => f.dir === 'sent' && f.type === EVENT.OPEN_FILE);
      const result = { open_file: sent ? sent.msg : null, open_file_ack: ack.msg || null, wire: recorder.wire(mark, types) };
      if (!ack.msg || !ack.msg.success) {
        result.alerts = await alertTexts(page);
        throw Object.assign(new Error(`OPEN_FILE_ACK failed: ${JSON.stringify(ack.msg)}`), { data: result });
      }
      let stats;
      try {
        stats = await waitForImage(page, timeout);
      } catch (err) {
        throw Object.assign(err, { data: { ...result, canvas: err.canvas } });
      }
      return { ...result, ...(await imageSummary(page, recorder, stats)), wire: recorder.wire(mark, types) };
    },

    /** Select `files` (Ctrl-click), "Load as hypercube", accept the guessed Stokes types. */
    async concat_stokes(ctx, step) {
      const { page, recorder, timeout } = ctx;
      await quiesce(page);
      const dialog = await browseTo(page, recorder, step.folder || '', timeout);
      const filter = dialog.locator('input[placeholder^="Filter by filename"]');
      if (step.filter && (await filter.count())) {
        await filter.first().fill(step.filter);
        // The filter is debounced: wait until only matching rows are listed, then let the table
        // settle, so a click does not land on a row that moves under it.
        await page.waitForFunction(([sel, text, n]) => {
          const rows = [...document.querySelectorAll(sel)].map((e) => e.textContent.trim());
          return rows.length === n && rows.every((r) => r.includes(text));
        }, ['.file-browser-dialog .filename-cell .cell-text', step.filter, step.files.length], { timeout });
        await page.waitForTimeout(500);
      }
      const mark = recorder.frames.length;
      for (const [index, file] of step.files.entries()) {
        const before = recorder.binary('recv', EVENT.FILE_INFO_RESPONSE).length;
        const row = dialog.locator('.filename-cell .cell-text', { hasText: file }).first();
        await row.click({ timeout, modifiers: index ? ['Control'] : [] });
        if (index === 0) {  // Ctrl-clicked rows join the selection without a FILE_INFO_REQUEST
          await recorder.waitFrames(
            (fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.FILE_INFO_RESPONSE)[before],
            timeout, `FILE_INFO_RESPONSE for ${file}`);
        }
      }
      await page.waitForFunction(
        (n) => (window.app.fileBrowserStore.selectedFiles || []).length === n, step.files.length, { timeout });
      const hypercube = footerButton(dialog, 'Load as hypercube');
      await enabled(page, hypercube, timeout);
      await hypercube.click();
      const stokesDialog = page.locator('.stokes-dialog').first();
      await stokesDialog.waitFor({ state: 'visible', timeout });
      const load = stokesDialog.locator('.bp3-dialog-footer-actions .bp3-button', { hasText: /^Load$/ }).first();
      await enabled(page, load, timeout);
      const labels = (await stokesDialog.locator('.bp3-button-text').allInnerTexts()).map((t) => t.trim());
      await load.click();
      const types = [EVENT.CONCAT_STOKES_FILES, EVENT.CONCAT_STOKES_FILES_ACK, EVENT.REGION_HISTOGRAM_DATA,
        EVENT.ERROR_DATA];
      const ack = await recorder.waitFrames(
        (fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.CONCAT_STOKES_FILES_ACK),
        timeout, 'CONCAT_STOKES_FILES_ACK');
      const result = { labels, concat_ack: ack.msg || null, wire: recorder.wire(mark, types) };
      if (!ack.msg || !ack.msg.success) {
        result.alerts = await alertTexts(page);
        throw Object.assign(new Error(`CONCAT_STOKES_FILES_ACK failed: ${JSON.stringify(ack.msg)}`), { data: result });
      }
      let stats;
      try {
        stats = await waitForImage(page, timeout);
      } catch (err) {
        throw Object.assign(err, { data: { ...result, canvas: err.canvas } });
      }
      const slider = page.locator('.animator-slider.stokes-slider');
      let sliderShown = false;
      try {
        await slider.first().waitFor({ state: 'visible', timeout: Math.min(timeout, 10000) });
        sliderShown = true;
      } catch (_) {
        sliderShown = false;
      }
      const sliderText = sliderShown ? (await slider.first().innerText()).replace(/\s+/g, ' ').trim() : '';
      return {
        ...result, ...(await imageSummary(page, recorder, stats)), frame: await activeFrameInfo(page),
        stokes_slider: sliderShown, stokes_slider_text: sliderText, wire: recorder.wire(mark, types),
      };
    },
  };
}

module.exports = { combineSteps };
