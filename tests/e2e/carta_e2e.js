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
//             {"step": "evaluate", "expression": "app.activeFrame.frameInfo.fileId"},
//             {"step": "console", "always": true}]   // "always": runs after a failure too
// }
//
// Each step returns a JSON-able object; the results file holds
// {"steps": [{step, ok, ms, data | error}], "console": [...], "websocket": [...],
//  "blocked": [...], "page_errors": [...], "finished": bool}.
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

// ICD event types the driver names in its websocket log (wire_numbers.tsv).
const EVENT = {
  REGISTER_VIEWER: 1, FILE_LIST_REQUEST: 2, FILE_INFO_REQUEST: 3, OPEN_FILE: 4,
  CLOSE_FILE: 13, REGISTER_VIEWER_ACK: 18, FILE_LIST_RESPONSE: 19, FILE_INFO_RESPONSE: 20,
  OPEN_FILE_ACK: 21, REGION_HISTOGRAM_DATA: 23, ERROR_DATA: 28, ADD_REQUIRED_TILES: 30,
  RASTER_TILE_DATA: 32, RASTER_TILE_SYNC: 49,
};
const EVENT_NAME = Object.fromEntries(Object.entries(EVENT).map(([k, v]) => [v, k]));

// ---------------------------------------------------------------- wire decoding

/** 8-byte header: u16 LE event type, u16 LE ICD version, u32 LE request id. */
function decodeHeader(buf) {
  if (buf.length < 8) return null;
  return { type: buf.readUInt16LE(0), icd: buf.readUInt16LE(2), req: buf.readUInt32LE(4) };
}

/** Minimal protobuf reader: {fieldNumber: [values]} (varints as Number, bytes as Buffer). */
function decodeProto(buf) {
  const fields = {};
  let i = 0;
  const varint = () => {
    let result = 0n, shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3, wire = key & 7;
    let value;
    if (wire === 0) value = Number(varint());
    else if (wire === 1) { value = buf.readBigUInt64LE(i); i += 8; }
    else if (wire === 2) { const n = Number(varint()); value = buf.subarray(i, i + n); i += n; }
    else if (wire === 5) { value = buf.readUInt32LE(i); i += 4; }
    else throw new Error(`unsupported wire type ${wire}`);
    (fields[no] = fields[no] || []).push(value);
  }
  return fields;
}

// Scalar fields of the replies the driver reads: {event type: {field number: [name, kind]}}.
const REPLY_FIELDS = {
  18: { 1: ['session_id', 'uint'], 2: ['success', 'bool'], 3: ['message', 'string'], 4: ['session_type', 'uint'] },
  19: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['directory', 'string'], 4: ['parent', 'string'],
        5: ['files', 'count'], 6: ['subdirectories', 'count'] },
  20: { 1: ['success', 'bool'], 2: ['message', 'string'] },
  21: { 1: ['success', 'bool'], 2: ['file_id', 'int32'], 3: ['message', 'string'] },
  28: { 1: ['severity', 'uint'], 2: ['tags', 'strings'], 3: ['message', 'string'], 4: ['data', 'string'] },
};

/** Decode the scalar fields of a reply listed in REPLY_FIELDS (proto3 defaults when absent). */
function decodeReply(type, body) {
  const spec = REPLY_FIELDS[type];
  if (!spec) return null;
  const f = decodeProto(body);
  const out = {};
  for (const [no, [name, kind]] of Object.entries(spec)) {
    const values = f[no] || [];
    const last = values[values.length - 1];
    if (kind === 'bool') out[name] = Boolean(last || 0);
    else if (kind === 'uint') out[name] = last || 0;
    else if (kind === 'int32') out[name] = (last || 0) | 0;
    else if (kind === 'string') out[name] = last ? last.toString('utf8') : '';
    else if (kind === 'strings') out[name] = values.map((v) => v.toString('utf8'));
    else if (kind === 'count') out[name] = values.length;
  }
  return out;
}

// ---------------------------------------------------------------- recorder

/** Collects console lines, page errors, blocked requests and websocket frames. */
class Recorder {
  constructor() {
    this.console = [];
    this.pageErrors = [];
    this.blocked = [];
    this.frames = [];
    this.t0 = Date.now();
  }

  now() { return Date.now() - this.t0; }

  attach(page) {
    page.on('console', (msg) => {
      const loc = msg.location() || {};
      this.console.push({ t: this.now(), type: msg.type(), text: msg.text(), url: loc.url || '' });
    });
    page.on('pageerror', (err) => this.pageErrors.push({ t: this.now(), text: String(err && err.stack || err) }));
    page.on('websocket', (ws) => {
      const url = ws.url();
      const record = (dir) => ({ payload }) => {
        const entry = { t: this.now(), dir, url };
        if (typeof payload === 'string') {
          entry.text = payload.slice(0, 64);
        } else {
          const buf = Buffer.from(payload);
          const h = decodeHeader(buf);
          Object.assign(entry, h || {}, { len: buf.length });
          if (h) {
            entry.name = EVENT_NAME[h.type] || String(h.type);
            const body = buf.subarray(8);
            try {
              const reply = decodeReply(h.type, body);
              if (reply) entry.ack = reply;
            } catch (e) {
              entry.decode_error = String(e);
            }
          }
        }
        this.frames.push(entry);
      };
      ws.on('framesent', record('sent'));
      ws.on('framereceived', record('recv'));
      ws.on('close', () => this.frames.push({ t: this.now(), dir: 'close', url }));
      ws.on('socketerror', (err) => this.frames.push({ t: this.now(), dir: 'error', url, text: String(err) }));
    });
  }

  binary(dir, type) { return this.frames.filter((f) => f.dir === dir && f.type === type); }

  /** Wait until predicate(frames) is truthy (polling; frames arrive via events). */
  async waitFrames(predicate, timeoutMs, what) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = predicate(this.frames);
      if (found) return found;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Websocket log without the bulk of tile frames, for the results file. */
  summary() {
    const out = [];
    let tiles = 0;
    for (const f of this.frames) {
      if (f.type === EVENT.RASTER_TILE_DATA) { tiles += 1; continue; }
      out.push(f);
    }
    return { frames: out.slice(0, 500), raster_tile_data_count: tiles };
  }
}

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
async function browseTo(page, recorder, folder, timeout) {
  const dialog = await ensureFileBrowser(page, timeout);
  const input = dialog.locator('.directory-path-input input');
  if (!(await input.isVisible())) await dialog.locator('.edit-path-button').first().click();
  await input.waitFor({ state: 'visible', timeout });
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
      .find((f) => f.ack && (sameDir(f.ack.directory) || !f.ack.success)),
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
  return { dialog, fileInfoAck: resp.ack || null };
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
    const canvas = document.querySelector('canvas.raster-canvas');
    if (!canvas) return { found: false };
    const { width, height } = canvas;
    const out = { found: true, width, height };
    if (!width || !height) return out;
    const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
    const lum = new Float32Array(width * height).fill(-1);
    let n = 0, sum = 0, sum2 = 0, max = -1;
    let x0 = width, x1 = -1, y0 = height, y1 = -1;
    const colours = new Set();
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
      register_viewer_ack: { req: pair.ack.req, icd: pair.ack.icd, ...pair.ack.ack },
      console_connected: recorder.console.some((m) => /^Connected with session ID \d+/.test(m.text)),
      websocket_url: pair.sent.url,
    };
  },

  /** Open the file browser, browse to `folder`, list its rows. */
  async list_folder(ctx, step) {
    const dialog = await browseTo(ctx.page, ctx.recorder, step.folder || '', ctx.timeout);
    const list = ctx.recorder.binary('recv', EVENT.FILE_LIST_RESPONSE).slice(-1)[0];
    return { ...(await listedEntries(dialog)), file_list_ack: list ? list.ack : null, alerts: await alertTexts(ctx.page) };
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
    const result = { open_file_ack: ack.ack || null };
    if (!ack.ack || !ack.ack.success) {
      result.alerts = await alertTexts(page);
      throw Object.assign(new Error(`OPEN_FILE_ACK failed: ${JSON.stringify(ack.ack)}`), { data: result });
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
      error_data: ctx.recorder.binary('recv', EVENT.ERROR_DATA).map((f) => f.ack),
      connection_status: state.connectionStatus,
      connection_dropped: state.connectionDropped,
    };
  },
};

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
      const entry = { step: step.step, args: step, ok: false };
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
        // What the backend said while the step ran: usually the reason it failed.
        entry.error_data = recorder.frames.slice(framesBefore)
          .filter((f) => f.dir === 'recv' && f.type === EVENT.ERROR_DATA).map((f) => f.ack);
      }
      entry.ms = Date.now() - start;
      const shot = path.join(artifacts, `${String(index).padStart(2, '0')}-${step.step}.png`);
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

module.exports = { decodeHeader, decodeProto, decodeReply, isLoopback, STEPS };

if (require.main === module) main();
