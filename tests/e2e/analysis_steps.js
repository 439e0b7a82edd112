// Steps on a cube for carta_e2e.js: each issue's "real frontend" requirement, driven through
// the frontend's stores and UI (names measured on carta-frontend 4.1.0, see FRONTEND.md):
// FrameStore.setChannels, the Animator widget's Play/Stop, contourConfig + applyContours,
// the mouse over the raster canvas, regionSet.addRectangularRegion + a Statistics widget,
// and the spectral profiler's moment generator (requestMoment).
//
// Each step returns `wire` (recorder.wire: the frames it concerns, decoded scalar fields plus
// the whole frame as base64) for the pytest side, which decodes them with the real schema.
'use strict';

/**
 * The steps, given the driver's shared helpers: {EVENT, canvasStats, waitForImage,
 * activeFrameInfo, alertTexts}.
 */
function analysisSteps({ EVENT, canvasStats, waitForImage, activeFrameInfo, alertTexts }) {
  /**
   * Opaque pixels of `canvas.contour-canvas` (a 2D copy of the contour layer, the same size
   * as the raster canvas): count, bounding box and centroid in canvas pixels, and a hash.
   */
  async function contourCanvasStats(page) {
    return page.evaluate(() => {
      const canvas = document.querySelector('.image-panel-div.active canvas.contour-canvas')
        || document.querySelector('canvas.contour-canvas');
      if (!canvas) return { found: false };
      const { width, height } = canvas;
      const out = { found: true, width, height, opaque: 0 };
      if (!width || !height) return out;
      const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
      let hash = 0x811c9dc5, n = 0, sx = 0, sy = 0, x0 = width, x1 = -1, y0 = height, y1 = -1;
      for (let i = 0; i < data.length; i += 1) hash = Math.imul(hash ^ data[i], 0x01000193) >>> 0;
      for (let p = 0, i = 3; i < data.length; p += 1, i += 4) {
        if (!data[i]) continue;
        const px = p % width, py = (p - px) / width;
        n += 1; sx += px + 0.5; sy += py + 0.5;
        if (px < x0) x0 = px;
        if (px > x1) x1 = px;
        if (py < y0) y0 = py;
        if (py > y1) y1 = py;
      }
      Object.assign(out, { opaque: n, hash });
      if (n) Object.assign(out, { bbox: { x0, y0, x1, y1 }, centroid: { x: sx / n, y: sy / n } });
      return out;
    });
  }

  /**
   * Wait until the raster canvas differs from `before` (by hash), no tiles are outstanding,
   * and the new picture stays the same over two polls.
   */
  async function waitForCanvasChange(page, before, timeout) {
    const end = Date.now() + timeout;
    let previous = null;
    for (;;) {
      const stats = await canvasStats(page);
      const remaining = await page.evaluate(() => window.app.tileService.remainingTiles);
      const changed = stats.found && stats.variance > 0 && stats.hash !== before.hash && remaining === 0;
      if (changed && previous && stats.hash === previous.hash) return stats;
      if (Date.now() > end) {
        throw Object.assign(new Error(`raster canvas did not change and settle: ${JSON.stringify(stats)}`), { canvas: stats });
      }
      previous = changed ? stats : null;
      await page.waitForTimeout(200);
    }
  }

  /** Page coordinates of the centre of image pixel (x, y) (FITS y upwards) on the raster canvas. */
  async function pixelToPage(page, x, y) {
    const stats = await canvasStats(page);
    const frame = await activeFrameInfo(page);
    if (!stats.bbox || !frame) throw new Error(`no drawn image to point at: ${JSON.stringify(stats)}`);
    const active = page.locator('.image-panel-div.active canvas.raster-canvas');
    const canvas = (await active.count()) ? active.first() : page.locator('canvas.raster-canvas').first();
    const box = await canvas.boundingBox();
    const scale = box.width / stats.width;
    const { x0, x1, y0, y1 } = stats.bbox;
    const cx = x0 + ((x + 0.5) / frame.width) * (x1 - x0 + 1);
    const cy = y1 + 1 - ((y + 0.5) / frame.height) * (y1 - y0 + 1);
    const point = { x: box.x + cx * scale, y: box.y + cy * scale };
    // Something on top (a floating widget) would take the mouse events instead.
    point.covered_by = await page.evaluate(({ x: px, y: py }) => {
      const el = document.elementFromPoint(px, py);
      const panel = el && el.closest('.image-panel-div');
      return panel && (panel.classList.contains('active') || document.querySelectorAll('.image-panel-div').length === 1)
        ? null : (el ? `${el.tagName}.${el.className}` : 'nothing');
    }, point);
    return point;
  }

  /** An Error carrying `data` (the runner stores it in the step's result). */
  function stepError(message, data) {
    return Object.assign(new Error(message), { data });
  }

  return {
    /**
     * Change the active image's channel through the frontend (FrameStore.setChannels) and
     * wait for SET_IMAGE_CHANNELS -> REGION_HISTOGRAM_DATA and tiles for the new channel and
     * a changed, settled raster canvas.
     */
    async change_channel(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const before = await waitForImage(page, timeout);
      const mark = recorder.frames.length;
      const target = step.channel;
      const fileId = await page.evaluate((c) => {
        const f = window.app.activeFrame;
        f.setChannels(c, f.requiredStokes, true);
        return f.frameInfo.fileId;
      }, target);
      const types = [EVENT.SET_IMAGE_CHANNELS, EVENT.ADD_REQUIRED_TILES, EVENT.REGION_HISTOGRAM_DATA,
        EVENT.RASTER_TILE_SYNC, EVENT.ERROR_DATA];
      const data = () => ({ channel: target, file_id: fileId, before_canvas: before, wire: recorder.wire(mark, types) });
      try {
        await recorder.waitFrames((fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.RASTER_TILE_SYNC
          && f.msg && f.msg.end_sync && f.msg.file_id === fileId && f.msg.channel === target), timeout,
        `RASTER_TILE_SYNC end_sync for channel ${target}`);
        await page.waitForFunction((c) => window.app.activeFrame.channel === c, target, { timeout });
        const canvas = await waitForCanvasChange(page, before, timeout);
        return {
          ...data(), canvas, frame: await activeFrameInfo(page),
          frontend_channel: await page.evaluate(() => window.app.activeFrame.channel),
          new_tiles: recorder.since(mark, [EVENT.RASTER_TILE_DATA]).filter((f) => f.dir === 'recv')
            .map((f) => f.msg),
        };
      } catch (err) {
        throw Object.assign(err, { data: { ...data(), canvas: err.canvas || (await canvasStats(page)) } });
      }
    },

    /**
     * Press Play in the Animator widget, watch backend-driven frames (RASTER_TILE_SYNC with
     * the acknowledged animation_id) and the frontend's channel advance, press Stop, then
     * record what still arrives for `settle_ms`.
     */
    async animation(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const minFrames = step.min_frames || 4;
      await page.locator('.lm_tab', { hasText: /^Animator$/ }).first().click({ timeout });
      const widget = page.locator('.animator-widget').first();
      await widget.waitFor({ state: 'visible', timeout });
      const button = (icon) => widget.locator('.playback-buttons .bp3-button', { has: page.locator(`.bp3-icon-${icon}`) }).first();
      const mark = recorder.frames.length;
      const start = await page.evaluate(() => ({
        channel: window.app.activeFrame.channel, file_id: window.app.activeFrame.frameInfo.fileId,
        depth: window.app.activeFrame.frameInfo.fileInfoExtended.depth, frame_rate: window.app.animatorStore.frameRate,
      }));
      const types = [EVENT.START_ANIMATION, EVENT.START_ANIMATION_ACK, EVENT.STOP_ANIMATION, EVENT.ANIMATION_FLOW_CONTROL,
        EVENT.SET_IMAGE_CHANNELS, EVENT.REGION_HISTOGRAM_DATA, EVENT.RASTER_TILE_SYNC, EVENT.ERROR_DATA];
      const samples = [];
      const result = () => ({ start, samples, wire: recorder.wire(mark, types) });
      try {
        await button('play').click({ timeout });
        const ack = await recorder.waitFrames((fr) => fr.slice(mark).find(
          (f) => f.dir === 'recv' && f.type === EVENT.START_ANIMATION_ACK), timeout, 'START_ANIMATION_ACK');
        if (!ack.msg || !ack.msg.success) throw new Error(`START_ANIMATION_ACK failed: ${JSON.stringify(ack.msg)}`);
        const animationId = ack.msg.animation_id;
        const end = Date.now() + timeout;
        for (;;) {
          samples.push({ t: recorder.now(), ...(await page.evaluate(() => ({
            channel: window.app.activeFrame.channel, active: window.app.animatorStore.animationActive,
          }))) });
          const frames = recorder.since(mark, [EVENT.RASTER_TILE_SYNC]).filter(
            (f) => f.dir === 'recv' && f.msg.end_sync && f.msg.animation_id === animationId);
          if (frames.length >= minFrames && new Set(samples.map((x) => x.channel)).size >= 3) break;
          if (Date.now() > end) throw new Error(`animation showed ${frames.length} frames and frontend channels `
            + `${JSON.stringify(samples.map((x) => x.channel))} in ${timeout} ms`);
          await page.waitForTimeout(100);
        }
        const stopClicked = recorder.now();
        await button('stop').click({ timeout });
        await recorder.waitFrames((fr) => fr.slice(mark).find((f) => f.dir === 'sent' && f.type === EVENT.STOP_ANIMATION),
          timeout, 'STOP_ANIMATION sent');
        await page.waitForTimeout(step.settle_ms || 1500);
        await page.waitForFunction(() => window.app.tileService.remainingTiles === 0, null, { timeout });
        const after = await page.evaluate(() => ({
          channel: window.app.activeFrame.channel, active: window.app.animatorStore.animationActive,
          server_active: window.app.animatorStore.serverAnimationActive,
        }));
        return { ...result(), animation_id: animationId, stop_clicked_t: stopClicked, end_t: recorder.now(), after };
      } catch (err) {
        throw Object.assign(err, { data: result() });
      }
    },

    /**
     * Set contour levels through the frontend (contourConfig.setContourConfiguration +
     * FrameStore.applyContours) and wait for CONTOUR_IMAGE_DATA, complete contour stores
     * (the frontend's decoded vertex counts) and contour lines drawn on the contour canvas.
     */
    async contours(ctx, step) {
      const { page, recorder, timeout } = ctx;
      await waitForImage(page, timeout);
      const before = await contourCanvasStats(page);
      const mark = recorder.frames.length;
      const levels = step.levels;
      const info = await page.evaluate(([lv, mode, factor]) => {
        const f = window.app.activeFrame;
        f.contourConfig.setContourConfiguration(lv, mode, factor);
        f.applyContours();
        return { file_id: f.frameInfo.fileId, channel: f.channel };
      }, [levels, step.smoothing_mode ?? 0, step.smoothing_factor ?? 1]);
      const types = [EVENT.SET_CONTOUR_PARAMETERS, EVENT.CONTOUR_IMAGE_DATA, EVENT.ERROR_DATA];
      const storeState = () => page.evaluate(() => [...window.app.activeFrame.contourStores.entries()].map(([level, s]) => ({
        level, vertexCount: s.vertexCount, progress: s.progress, isComplete: s.isComplete,
      })));
      const result = async () => ({ levels, ...info, before_canvas: before, stores: await storeState(), wire: recorder.wire(mark, types) });
      try {
        await page.waitForFunction((lv) => {
          const stores = window.app.activeFrame.contourStores;
          return lv.every((l) => stores.has(l) && stores.get(l).isComplete);
        }, levels, { timeout });
        // Drawn: the contour layer gets opaque pixels and then stays the same.
        const end = Date.now() + timeout;
        let canvas, previous = null;
        for (;;) {
          canvas = await contourCanvasStats(page);
          if (canvas.opaque > 0 && previous && previous.hash === canvas.hash) break;
          if (Date.now() > end) throw new Error(`contour canvas never settled with drawn pixels: ${JSON.stringify(canvas)}`);
          previous = canvas.opaque > 0 ? canvas : null;
          await page.waitForTimeout(200);
        }
        return { ...(await result()), canvas, raster: await canvasStats(page), frame: await activeFrameInfo(page) };
      } catch (err) {
        throw Object.assign(err, { data: await result() });
      }
    },

    /**
     * Move the mouse over image pixel `pixel` = [x, y] of the active image and wait for the
     * frontend's cursor value there (SET_CURSOR -> SPATIAL_PROFILE_DATA).
     */
    async cursor(ctx, step) {
      const { page, recorder, timeout } = ctx;
      await waitForImage(page, timeout);
      const [x, y] = step.pixel;
      const target = await pixelToPage(page, x, y);
      if (target.covered_by) throw stepError(`pixel (${x}, ${y}) of the image is covered by ${target.covered_by}`, { target });
      const mark = recorder.frames.length;
      const fileId = await page.evaluate(() => window.app.activeFrame.frameInfo.fileId);
      // Come in from a few pixels away, so the frontend sees movement ending on the target.
      await page.mouse.move(target.x - 30, target.y + 20);
      await page.mouse.move(target.x, target.y, { steps: 6 });
      const types = [EVENT.SET_CURSOR, EVENT.SET_SPATIAL_REQUIREMENTS, EVENT.SPATIAL_PROFILE_DATA, EVENT.ERROR_DATA];
      const state = () => page.evaluate(() => {
        const f = window.app.activeFrame;
        return {
          cursor_value: f.cursorValue, cursor_image: f.cursorInfo && f.cursorInfo.posImageSpace,
          channel: f.channel, stokes: f.requiredStokes,
        };
      });
      try {
        await page.waitForFunction(([px, py]) => {
          const v = window.app.activeFrame.cursorValue;
          return v && v.position && v.position.x === px && v.position.y === py && Number.isFinite(v.value);
        }, [x, y], { timeout });
        await recorder.waitFrames((fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.SPATIAL_PROFILE_DATA
          && f.msg.file_id === fileId && f.msg.x === x && f.msg.y === y), timeout, `SPATIAL_PROFILE_DATA at (${x}, ${y})`);
        return { pixel: [x, y], file_id: fileId, target, ...(await state()), wire: recorder.wire(mark, types) };
      } catch (err) {
        throw Object.assign(err, { data: { pixel: [x, y], file_id: fileId, target, ...(await state()), wire: recorder.wire(mark, types) } });
      }
    },

    /**
     * Add a rectangle through the region store (regionSet.addRectangularRegion), open a
     * Statistics widget on it (widgetsStore.createFloatingStatsWidget + setRegionId) and wait
     * for SET_STATS_REQUIREMENTS -> REGION_STATS_DATA and the frontend's stats for it.
     */
    async region_stats(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const mark = recorder.frames.length;
      const [cx, cy] = step.center;
      const [w, h] = step.size;
      const fileId = await page.evaluate(([x, y, rw, rh]) => {
        const f = window.app.activeFrame;
        window.__e2eRegion = f.regionSet.addRectangularRegion({ x, y }, rw, rh);
        return f.frameInfo.fileId;
      }, [cx, cy, w, h]);
      const types = [EVENT.SET_REGION, EVENT.SET_REGION_ACK, EVENT.SET_STATS_REQUIREMENTS, EVENT.REGION_STATS_DATA,
        EVENT.SET_SPATIAL_REQUIREMENTS, EVENT.SPATIAL_PROFILE_DATA, EVENT.ERROR_DATA];
      const result = async () => ({
        center: [cx, cy], size: [w, h], file_id: fileId, wire: recorder.wire(mark, types),
        region: await page.evaluate(() => {
          const r = window.__e2eRegion;
          return r ? { regionId: r.regionId, regionType: r.regionType, controlPoints: r.controlPoints } : null;
        }),
      });
      try {
        const ack = await recorder.waitFrames((fr) => fr.slice(mark).find(
          (f) => f.dir === 'recv' && f.type === EVENT.SET_REGION_ACK), timeout, 'SET_REGION_ACK');
        if (!ack.msg.success) throw new Error(`SET_REGION_ACK failed: ${JSON.stringify(ack.msg)}`);
        const regionId = ack.msg.region_id;
        await page.waitForFunction((id) => window.__e2eRegion.regionId === id, regionId, { timeout });
        await page.evaluate((id) => {
          const widgets = window.app.widgetsStore;
          const known = new Set(widgets.statsWidgets.keys());
          widgets.createFloatingStatsWidget();
          const [, store] = [...widgets.statsWidgets.entries()].find(([key]) => !known.has(key));
          store.setRegionId(store.fileId, id);
        }, regionId);
        await recorder.waitFrames((fr) => fr.slice(mark).find((f) => f.dir === 'recv' && f.type === EVENT.REGION_STATS_DATA
          && f.msg.file_id === fileId && f.msg.region_id === regionId), timeout, `REGION_STATS_DATA for region ${regionId}`);
        // app.regionStats: file id -> region id -> (per Stokes key) RegionStatsData as decoded
        // by the frontend, whose JSON names the stats types (NumPixels = 0 is left out).
        const frontendStats = await page.waitForFunction(([fid, rid]) => {
          const byRegion = window.app.regionStats.get(fid);
          const inner = byRegion && byRegion.get(rid);
          if (!inner || typeof inner.entries !== 'function') return null;
          const out = [...inner.entries()].filter(([, v]) => v && v.statistics && v.statistics.length)
            .map(([key, v]) => ({ key, ...JSON.parse(JSON.stringify(v)) }));
          return out.length ? out : null;
        }, [fileId, regionId], { timeout });
        await page.waitForTimeout(300); // let the widget's table render for the screenshot
        return {
          ...(await result()), region_id: regionId, frontend_stats: await frontendStats.jsonValue(),
          widget_rows: (await page.locator('.stats-widget tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
        };
      } catch (err) {
        throw Object.assign(err, { data: await result() });
      }
    },

    /**
     * Request a moment image through the moment generator's store (the spectral profiler
     * widget's requestMoment; its default is the integrated intensity, moment 0, over the
     * whole channel range) and wait for MOMENT_RESPONSE and the new frame drawn.
     */
    async moment(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const before = await waitForImage(page, timeout);
      const mark = recorder.frames.length;
      const start = await page.evaluate((regionId) => {
        const app = window.app;
        if (!app.widgetsStore.spectralProfileWidgets.size) app.widgetsStore.createFloatingSpectralProfilerWidget();
        const store = [...app.widgetsStore.spectralProfileWidgets.values()][0];
        if (regionId !== undefined && regionId !== null) store.selectMomentRegion(regionId);
        const out = {
          frames: app.frames.length, active_file_id: app.activeFrame.frameInfo.fileId,
          channel_value_range: store.channelValueRange.slice(), selected_moments: store.selectedMoments.slice(),
          region_valid: store.isMomentRegionValid, region_info: store.momentRegionInfo,
        };
        store.requestMoment();
        return out;
      }, step.region_id ?? -1);
      const types = [EVENT.MOMENT_REQUEST, EVENT.MOMENT_PROGRESS, EVENT.MOMENT_RESPONSE, EVENT.REGION_HISTOGRAM_DATA,
        EVENT.RASTER_TILE_SYNC, EVENT.ERROR_DATA];
      const result = () => ({ start, before_canvas: before, wire: recorder.wire(mark, types) });
      try {
        const response = await recorder.waitFrames((fr) => fr.slice(mark).find(
          (f) => f.dir === 'recv' && f.type === EVENT.MOMENT_RESPONSE), timeout, 'MOMENT_RESPONSE');
        if (!response.msg.success || !response.msg.open_file_acks) {
          throw new Error(`MOMENT_RESPONSE failed: ${JSON.stringify(response.msg)}`);
        }
        await page.waitForFunction((n) => window.app.frames.length > n, start.frames, { timeout });
        let canvas = await waitForCanvasChange(page, before, timeout);
        // The new image is spatially matched to the cube and keeps its zoom, so in its (now
        // narrower) panel it can overflow the canvas: fit it, so canvas fractions are image ones.
        const view = () => page.evaluate(() => JSON.stringify(window.app.activeFrame.requiredFrameView));
        const unfitted = await view();
        await page.evaluate(() => window.app.activeFrame.fitZoom());
        await page.waitForTimeout(100);
        if ((await view()) !== unfitted) canvas = await waitForCanvasChange(page, canvas, timeout);
        return {
          ...result(), response: response.msg, canvas, frame: await activeFrameInfo(page),
          frames: await page.evaluate(() => window.app.frames.map((f) => ({ fileId: f.frameInfo.fileId, name: f.filename }))),
          alerts: await alertTexts(page),
        };
      } catch (err) {
        throw Object.assign(err, { data: { ...result(), alerts: await alertTexts(page) } });
      }
    },

    /** Close the floating widgets (they cover the image view), e.g. before pointing at pixels. */
    async close_floating_widgets(ctx) {
      const closed = await ctx.page.evaluate(() => {
        const widgets = window.app.widgetsStore;
        const ids = widgets.floatingWidgets.map((w) => w.id);
        for (const id of ids) widgets.removeFloatingWidget(id);
        return ids;
      });
      await ctx.page.waitForFunction(() => !document.querySelector('.floating-widget'), null, { timeout: ctx.timeout });
      return { closed };
    },
  };
}

module.exports = { analysisSteps };
