#!/usr/bin/env node
// End-to-end driver: the released CARTA frontend in Debian's headless Chromium.
//
//   node carta_e2e.js PLAN.json
//
// PLAN = {                                    // boot also takes "query": {"folder": .., "file": ..}
//   "url": "http://127.0.0.1:PORT/?token=T",   // as printed by the server
//   "results": "/abs/results.json",            // rewritten after every step
//   "artifacts": "/abs/dir",                   // screenshots (NN-step.png)
//   "step_timeout_ms": 30000,
//   "steps": [{"step": "boot"}, {"step": "connect"},
//             {"step": "list_folder", "folder": "sub"},
//             {"step": "file_header", "folder": "sub", "file": "a.fits"},
//             {"step": "open_image", "folder": "sub", "file": "a.fits"},
//             {"step": "open_image", "name": "open_cube", "via": "api", "folder": "sub", "file": "c.fits"},
//             {"step": "change_channel", "channel": 3},
//             {"step": "animation", "min_frames": 5, "settle_ms": 1500},
//             {"step": "contours", "levels": [0.3, 0.6], "smoothing_mode": 0, "smoothing_factor": 1},
//             {"step": "cursor", "pixel": [75, 64]},
//             {"step": "region_stats", "center": [60, 60], "size": [21, 21]},
//             {"step": "moment", "region_id": -1},
//             {"step": "import_regions", "folder": "sub", "file": "r.reg"},
//             {"step": "export_regions", "folder": "sub", "file": "out.reg", "file_type": 2, "coord_type": 1},
//             {"step": "close_floating_widgets"},
//             {"step": "open_catalog", "folder": "sub", "file": "s.xml"},
//             {"step": "catalog_filter", "column": "flux", "filter": "> 5"},
//             {"step": "catalog_overlay", "x": "RA_d", "y": "DEC_d"},
//             {"step": "evaluate", "expression": "app.activeFrame.frameInfo.fileId"},
//             {"step": "console", "always": true}]   // "always": runs after a failure too
// }                                           // "name": the step's key in the results (default: "step")
//
// Each step returns a JSON-able object; the results file holds
// {"steps": [{step, kind, ok, ms, data | error, error_data}], "console": [...], "websocket": [...],
//  "blocked": [...], "page_errors": [...], "finished": bool}.
// The cube steps return `wire`: the binary frames of the event types they concern, each with
// the scalar fields the driver decoded (`msg`) and the whole frame as base64 (`b64`), which the
// pytest side decodes with the real schema (tests/e2e_wire.py).
// After the first failing step the rest are recorded as skipped. The process exits 0
// when every step passed, 1 when one failed, 2 on a usage/launch error: the pytest
// side reads the results file either way and asserts on each step's data.
//
// Selectors and hooks come from shared/icd/FRONTEND.md (measured on 4.1.0).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CARTA_E2E_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const { EVENT, decodeHeader, decodeProto, decodeReply, Recorder } = require('./recorder');

// ---------------------------------------------------------------- page helpers

/** The page URL with skipTelemetry=true (telemetry consent dialog off) and `extra` query params. */
function withTestQuery(url, extra) {
  const u = new URL(url);
  u.searchParams.set('skipTelemetry', 'true');
  for (const [k, v] of Object.entries(extra || {})) u.searchParams.set(k, v);
  return u.toString();
}

async function waitForApp(page, timeout) {
  await page.waitForFunction(() => Boolean(window.app && window.app.backendService), null, { timeout });
}

async function connectionState(page) {
  return page.evaluate(() => {
    const b = window.app && window.app.backendService;
    const icon = document.querySelector('.connectivity-icon');
    return {
      connectionStatus: b ? b.connectionStatus : null,
      sessionId: b ? b.sessionId : null,
      serverFeatureFlags: b ? b.serverFeatureFlags : null,
      connectionDropped: b ? Boolean(b.connectionDropped) : null,
      iconClass: icon ? icon.getAttribute('class') : null,
      infoSessionId: (document.querySelector('#info-session-id') || {}).textContent || null,
    };
  });
}

/** The file browser dialog, opened through File > Open Image if it is not up already. */
async function ensureFileBrowser(page, timeout) {
  const dialog = page.locator('.file-browser-dialog');
  try {
    await dialog.waitFor({ state: 'visible', timeout: Math.min(timeout, 5000) });
  } catch (_) {
    await page.locator('.root-menu .root-menu-entry', { hasText: /^File$/ }).first().click();
    await page.locator('.bp3-menu-item', { hasText: /^Open Image/ }).first().click();
    await dialog.waitFor({ state: 'visible', timeout });
  }
  await waitFileListIdle(page, timeout);
  return dialog;
}

async function waitFileListIdle(page, timeout) {
  await page.waitForFunction(() => {
    const s = window.app && window.app.fileBrowserStore;
    return s && !s.loadingList;
  }, null, { timeout });
}

/** Type "/folder" into the path box (FILE_LIST_REQUEST "/folder") and wait for the list. */
/** Open the file browser's path box with its pencil; a click that lands while the dialog is
 * still opening (a slow CI machine) does nothing, so click again until the box shows. */
async function openPathBox(dialog, timeout) {
  const input = dialog.locator('.directory-path-input input');
  const until = Date.now() + timeout;
  while (!(await input.isVisible())) {
    if (Date.now() > until) throw new Error(`the path box of the file browser did not open in ${timeout} ms`);
    await dialog.locator('.edit-path-button').first().click({ timeout });
    await input.waitFor({ state: 'visible', timeout: 1000 }).catch(() => {});
  }
}

async function browseTo(page, recorder, folder, timeout) {
  const dialog = await ensureFileBrowser(page, timeout);
  await openPathBox(dialog, timeout);
  const input = dialog.locator('.directory-path-input input');
  const relative = String(folder || '').replace(/^\/+|\/+$/g, '');
  const target = '/' + relative;
  const before = recorder.binary('recv', EVENT.FILE_LIST_RESPONSE).length;
  await input.fill(target);
  await input.press('Enter');
  // Match on the answered directory: the auto-launched browser's own "$BASE" listing may
  // still be in flight and must not be mistaken for ours.
  const sameDir = (d) => String(d || '').replace(/^\.?\/+|\/+$/g, '').replace(/^\.$/, '') === relative;
  await recorder.waitFrames(
    (fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.FILE_LIST_RESPONSE).slice(before)
      .find((f) => f.msg && (sameDir(f.msg.directory) || !f.msg.success)),
    timeout, `FILE_LIST_RESPONSE for ${target}`);
  await waitFileListIdle(page, timeout);
  return dialog;
}

async function listedEntries(dialog) {
  const texts = async (sel) => (await dialog.locator(sel).allInnerTexts()).map((t) => t.trim());
  return {
    files: await texts('.filename-cell .cell-text'),
    folders: await texts('.folder-cell .cell-text'),
    breadcrumbs: (await dialog.locator('.path-breadcrumbs').allInnerTexts()).join(' ').replace(/\s+/g, ' ').trim(),
  };
}

/** Filter the (virtualised) table to `file` and click its row; waits for FILE_INFO_RESPONSE. */
async function selectFile(page, recorder, folder, file, timeout) {
  const dialog = await browseTo(page, recorder, folder, timeout);
  const filter = dialog.locator('input[placeholder^="Filter by filename"]');
  if (await filter.count()) await filter.first().fill(file);
  const before = recorder.binary('recv', EVENT.FILE_INFO_RESPONSE).length;
  const row = dialog.locator('.filename-cell .cell-text', { hasText: file }).first();
  await row.click({ timeout });
  const resp = await recorder.waitFrames(
    (fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.FILE_INFO_RESPONSE)[before],
    timeout, `FILE_INFO_RESPONSE for ${file}`);
  return { dialog, fileInfoAck: resp.msg || null };
}

function footerButton(dialog, label) {
  return dialog.locator('.bp3-dialog-footer-actions .bp3-button', { hasText: new RegExp(`^${label}$`) }).first();
}

/** Click a tab of the file-info pane by its title, return the visible header-list rows. */
async function readInfoTab(page, dialog, title, timeout) {
  await dialog.locator('[role="tab"]', { hasText: new RegExp(`^${title}$`) }).first().click({ timeout });
  const list = dialog.locator('.header-list');
  await list.first().waitFor({ state: 'visible', timeout });
  await page.waitForFunction(
    (sel) => document.querySelectorAll(sel).length > 0,
    '.file-browser-dialog .header-list .header-entry, .file-browser-dialog .header-list .header-name',
    { timeout });
  return (await list.first().locator(':scope > div > div').allInnerTexts()).map((t) => t.replace(/\u00a0/g, ' ').trim());
}

/**
 * Luminance statistics of `canvas.raster-canvas` (a 2D copy of the WebGL canvas).
 *
 * Besides mean/variance it reports where the image sits: the bounding box of opaque
 * pixels (the drawn raster), the centroid of the brightest pixels as fractions of that
 * box (x from the left, y from the top), and the mean luminance of the box's left and
 * right tenths, so a test can catch flipped or misplaced tiles.
 */
async function canvasStats(page) {
  return page.evaluate(() => {
    // With several images open the view has one panel per image; read the active one's.
    const canvas = document.querySelector('.image-panel-div.active canvas.raster-canvas')
      || document.querySelector('canvas.raster-canvas');
    if (!canvas) return { found: false };
    const { width, height } = canvas;
    const out = { found: true, width, height };
    if (!width || !height) return out;
    const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
    const lum = new Float32Array(width * height).fill(-1);
    let n = 0, sum = 0, sum2 = 0, max = -1;
    let x0 = width, x1 = -1, y0 = height, y1 = -1;
    const colours = new Set();
    let hash = 0x811c9dc5; // FNV-1a over RGBA: equal hashes = the same picture
    for (let i = 0; i < data.length; i += 1) hash = Math.imul(hash ^ data[i], 0x01000193) >>> 0;
    out.hash = hash;
    for (let p = 0, i = 0; i < data.length; p += 1, i += 4) {
      if (data[i + 3] === 0) continue;
      const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      lum[p] = y;
      n += 1; sum += y; sum2 += y * y;
      if (y > max) max = y;
      const px = p % width, py = (p - px) / width;
      if (px < x0) x0 = px;
      if (px > x1) x1 = px;
      if (py < y0) y0 = py;
      if (py > y1) y1 = py;
      if (colours.size < 4096) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    const mean = n ? sum / n : 0;
    Object.assign(out, {
      opaque_fraction: n / (width * height), mean, variance: n ? sum2 / n - mean * mean : 0,
      distinct_colours: colours.size, max_luminance: max,
    });
    if (!n) return out;
    out.bbox = { x0, y0, x1, y1 };
    const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    let cx = 0, cy = 0, cn = 0, left = 0, ln = 0, right = 0, rn = 0;
    for (let py = y0; py <= y1; py += 1) {
      for (let px = x0; px <= x1; px += 1) {
        const y = lum[py * width + px];
        if (y < 0) continue;
        if (y >= max - 3) { cx += px + 0.5; cy += py + 0.5; cn += 1; }
        if (px < x0 + bw / 10) { left += y; ln += 1; } else if (px >= x1 + 1 - bw / 10) { right += y; rn += 1; }
      }
    }
    out.peak = { fx: (cx / cn - x0) / bw, fy: (cy / cn - y0) / bh, pixels: cn };
    out.left_tenth_mean = ln ? left / ln : null;
    out.right_tenth_mean = rn ? right / rn : null;
    return out;
  });
}

async function activeFrameInfo(page) {
  return page.evaluate(() => {
    const f = window.app && window.app.activeFrame;
    if (!f) return null;
    const info = f.frameInfo || {};
    const ext = info.fileInfoExtended || {};
    return {
      fileId: info.fileId, fileName: info.fileInfo ? info.fileInfo.name : null, hdu: info.hdu,
      width: ext.width, height: ext.height, depth: ext.depth, stokes: ext.stokes,
      remainingTiles: window.app.tileService ? window.app.tileService.remainingTiles : null,
    };
  });
}

/**
 * Wait until an image is active, no tiles are outstanding and the raster canvas shows
 * varying pixels that stay the same over two polls (so a half-drawn view is not read).
 */
async function waitForImage(page, timeout) {
  const end = Date.now() + timeout;
  await page.waitForFunction(
    () => window.app.activeFrame && window.app.tileService.remainingTiles === 0, null, { timeout });
  let previous = null;
  for (;;) {
    const stats = await canvasStats(page);
    const drawn = stats.found && stats.width > 300 && stats.variance > 0;
    if (drawn && previous && stats.mean === previous.mean && stats.variance === previous.variance) return stats;
    if (Date.now() > end) {
      throw Object.assign(new Error(`canvas never showed a settled image: ${JSON.stringify(stats)}`), { canvas: stats });
    }
    previous = drawn ? stats : null;
    await page.waitForTimeout(250);
  }
}

async function imageSummary(page, recorder, canvas) {
  return {
    canvas, frame: await activeFrameInfo(page),
    raster_tile_data: recorder.binary('recv', EVENT.RASTER_TILE_DATA).length,
    region_histogram_data: recorder.binary('recv', EVENT.REGION_HISTOGRAM_DATA).length,
    alerts: await alertTexts(page),
  };
}

/** Texts of any Blueprint alert dialogs (frontend error popups). */
async function alertTexts(page) {
  return (await page.locator('.bp3-alert').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
}

/** Console errors the backend could have caused: not from blocked (non-loopback) requests. */
function backendConsoleErrors(recorder) {
  const blockedUrls = new Set(recorder.blocked.map((b) => b.url));
  return recorder.console.filter((m) => {
    if (m.type !== 'error') return false;
    if (m.url && !isLoopback(m.url)) return false;
    if (blockedUrls.has(m.url)) return false;
    // The release check against api.github.com (blocked here) logs this from main.js itself.
    if (/^Failed to check new releases/.test(m.text)) return false;
    if (/api\.github\.com|net::ERR_FAILED|ERR_BLOCKED_BY_CLIENT/.test(m.text) && !/127\.0\.0\.1|localhost/.test(m.text)) return false;
    return true;
  });
}

function isLoopback(url) {
  try {
    const u = new URL(url);
    if (['data:', 'blob:', 'about:'].includes(u.protocol)) return true;
    return LOOPBACK.has(u.hostname);
  } catch (_) {
    return false;
  }
}

// ---------------------------------------------------------------- steps

const STEPS = {
  /** Load the page; the frontend renders once its wasm modules and /config are in. */
  async boot(ctx, step) {
    const url = withTestQuery(step.url || ctx.plan.url, step.query);
    const response = await ctx.page.goto(url, { waitUntil: 'domcontentloaded', timeout: ctx.timeout });
    await ctx.page.locator('.root-menu').first().waitFor({ state: 'visible', timeout: ctx.timeout });
    await waitForApp(ctx.page, ctx.timeout);
    return {
      url, http_status: response ? response.status() : null, title: await ctx.page.title(),
      rendered: ctx.recorder.console.some((m) => m.text.includes('Configuration complete. Rendering frontend')),
    };
  },

  /** REGISTER_VIEWER -> ACK with the same id, status ACTIVE, green connectivity icon. */
  async connect(ctx) {
    const { page, recorder, timeout } = ctx;
    await page.waitForFunction(() => window.app && window.app.backendService.connectionStatus === 2, null, { timeout });
    await page.locator('.connectivity-icon.online').first().waitFor({ state: 'attached', timeout });
    const pair = await recorder.waitFrames((fr) => {
      for (const s of fr) {
        if (s.dir !== 'sent' || s.type !== EVENT.REGISTER_VIEWER) continue;
        const a = fr.find((r) => r.dir === 'recv' && r.type === EVENT.REGISTER_VIEWER_ACK && r.req === s.req);
        if (a) return { sent: s, ack: a };
      }
      return null;
    }, timeout, 'REGISTER_VIEWER_ACK');
    const state = await connectionState(page);
    return {
      ...state,
      register_viewer: { req: pair.sent.req, icd: pair.sent.icd },
      register_viewer_ack: { req: pair.ack.req, icd: pair.ack.icd, ...pair.ack.msg },
      console_connected: recorder.console.some((m) => /^Connected with session ID \d+/.test(m.text)),
      websocket_url: pair.sent.url,
    };
  },

  /** Open the file browser, browse to `folder`, list its rows. */
  async list_folder(ctx, step) {
    const dialog = await browseTo(ctx.page, ctx.recorder, step.folder || '', ctx.timeout);
    const list = ctx.recorder.binary('recv', EVENT.FILE_LIST_RESPONSE).slice(-1)[0];
    return { ...(await listedEntries(dialog)), file_list_ack: list ? list.msg : null, alerts: await alertTexts(ctx.page) };
  },

  /** Select `file` in `folder`; read the File Information and Header tabs; Load enabled? */
  async file_header(ctx, step) {
    const { page, recorder, timeout } = ctx;
    const { dialog, fileInfoAck } = await selectFile(page, recorder, step.folder || '', step.file, timeout);
    const load = footerButton(dialog, 'Load');
    await page.waitForFunction(
      (el) => el && !el.classList.contains('bp3-disabled'), await load.elementHandle(), { timeout });
    const info = await readInfoTab(page, dialog, 'File Information', timeout);
    const header = await readInfoTab(page, dialog, 'Header', timeout);
    return {
      file_info_ack: fileInfoAck, info, header,
      load_enabled: !(await load.getAttribute('class')).includes('bp3-disabled'),
      alerts: await alertTexts(page),
    };
  },

  /**
   * Open `file` (via the file browser's Load button, or `via: "api"` with app.openFile)
   * and wait until the raster canvas shows an image with non-zero pixel variance.
   */
  async open_image(ctx, step) {
    const { page, recorder, timeout } = ctx;
    const acksBefore = recorder.binary('recv', EVENT.OPEN_FILE_ACK).length;
    if (step.via === 'api') {
      await page.evaluate(([d, f, h]) => { window.app.openFile(d, f, h); }, [step.folder || '', step.file, step.hdu || '']);
    } else {
      const { dialog } = await selectFile(page, recorder, step.folder || '', step.file, timeout);
      const load = footerButton(dialog, 'Load');
      await page.waitForFunction(
        (el) => el && !el.classList.contains('bp3-disabled'), await load.elementHandle(), { timeout });
      await load.click();
    }
    const ack = await recorder.waitFrames(
      (fr) => fr.filter((f) => f.dir === 'recv' && f.type === EVENT.OPEN_FILE_ACK)[acksBefore], timeout, 'OPEN_FILE_ACK');
    const result = { open_file_ack: ack.msg || null };
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
    return { ...result, ...(await imageSummary(page, recorder, stats)) };
  },

  /** Wait for the active image to be drawn (e.g. after boot with ?folder=&file=). */
  async image_rendered(ctx) {
    const stats = await waitForImage(ctx.page, ctx.timeout);
    return imageSummary(ctx.page, ctx.recorder, stats);
  },

  /** Evaluate `expression` (a JS expression over `window.app`) and return its JSON value. */
  async evaluate(ctx, step) {
    const value = await ctx.page.evaluate((expr) => JSON.parse(JSON.stringify(
      // eslint-disable-next-line no-new-func
      Function('app', `return (${expr});`)(window.app) ?? null)), step.expression);
    return { value };
  },

  /** Console errors that are not the expected blocked-internet noise, plus page errors. */
  async console(ctx) {
    await ctx.page.waitForTimeout(ctx.plan.settle_ms ?? 500);
    const state = await connectionState(ctx.page);
    return {
      backend_errors: backendConsoleErrors(ctx.recorder),
      page_errors: ctx.recorder.pageErrors,
      warnings: ctx.recorder.console.filter((m) => m.type === 'warning').map((m) => m.text),
      blocked_hosts: [...new Set(ctx.recorder.blocked.map((b) => new URL(b.url).host))],
      error_data: ctx.recorder.binary('recv', EVENT.ERROR_DATA).map((f) => f.msg),
      connection_status: state.connectionStatus,
      connection_dropped: state.connectionDropped,
    };
  },
};

// The cube steps (channel change, animation, contours, cursor, region statistics, moments).
Object.assign(STEPS, require('./analysis_steps').analysisSteps({
  EVENT, canvasStats, waitForImage, activeFrameInfo, alertTexts,
}));

// The catalog steps (import from the file browser's catalog mode, filter, overlay).
Object.assign(STEPS, require('./catalog_steps').catalogSteps({ EVENT, waitForImage, alertTexts, openPathBox }));
// Region files: import through the region dialog, export through the export dialog (issue 14).
Object.assign(STEPS, require('./region_file_steps').regionFileSteps({ EVENT, alertTexts, openPathBox }));

// Images built from other images (image arithmetic, Stokes hypercube).
Object.assign(STEPS, require('./combine_steps').combineSteps({
  EVENT, browseTo, footerButton, waitForImage, imageSummary, activeFrameInfo, alertTexts,
}));

// The reconnect step: a dropped connection, Retry, the resumed session (issue 12).
Object.assign(STEPS, require('./reconnect_steps').reconnectSteps({ EVENT, waitForImage, alertTexts }));

// ---------------------------------------------------------------- runner

function writeJsonAtomic(file, value) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  fs.renameSync(tmp, file);
}

async function main() {
  if (process.argv.length !== 3) {
    console.error('usage: node carta_e2e.js PLAN.json');
    process.exit(2);
  }
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const artifacts = plan.artifacts || path.join(__dirname, '..', 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const results = { url: plan.url, steps: [], finished: false };
  const recorder = new Recorder();
  const save = () => {
    Object.assign(results, {
      console: recorder.console, page_errors: recorder.pageErrors,
      blocked: recorder.blocked, websocket: recorder.summary(),
    });
    writeJsonAtomic(plan.results, results);
  };

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carta-e2e-profile-'));
  let context;
  let exitCode = 0;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: plan.viewport || { width: 1600, height: 1000 },
      serviceWorkers: 'block',
      timeout: 60000,
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLoopback(url)) return route.continue();
      recorder.blocked.push({ t: recorder.now(), url });
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] || (await context.newPage());
    recorder.attach(page);
    const ctx = { page, recorder, plan, timeout: plan.step_timeout_ms || 30000 };

    let failed = false;
    for (const [index, step] of plan.steps.entries()) {
      // `name` tells apart two runs of the same step (e.g. open_image for two files).
      const entry = { step: step.name || step.step, kind: step.step, args: step, ok: false };
      results.steps.push(entry);
      if (failed && !step.always) { entry.skipped = true; continue; }
      const start = Date.now();
      const framesBefore = recorder.frames.length;
      try {
        const fn = STEPS[step.step];
        if (!fn) throw new Error(`unknown step ${step.step}`);
        entry.data = await fn(ctx, step);
        entry.ok = true;
      } catch (err) {
        failed = true;
        exitCode = 1;
        entry.error = String(err && err.stack || err);
        if (err && err.data) entry.data = err.data;
      }
      // What the backend reported while the step ran (on a failure usually the reason).
      entry.error_data = recorder.frames.slice(framesBefore)
        .filter((f) => f.dir === 'recv' && f.type === EVENT.ERROR_DATA).map((f) => f.msg);
      entry.ms = Date.now() - start;
      const shot = path.join(artifacts, `${String(index).padStart(2, '0')}-${entry.step}.png`);
      try {
        await page.screenshot({ path: shot, timeout: 10000 });
        entry.screenshot = shot;
      } catch (err) {
        entry.screenshot_error = String(err);
      }
      save();
    }
    results.finished = true;
  } catch (err) {
    results.fatal = String(err && err.stack || err);
    exitCode = 2;
  } finally {
    save();
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

module.exports = { decodeHeader, decodeProto, decodeReply, isLoopback, Recorder, STEPS, CHROMIUM_ARGS, CHROMIUM };

if (require.main === module) main();
