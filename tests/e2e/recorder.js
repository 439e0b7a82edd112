// The driver's websocket log: ICD frame headers, a minimal protobuf reader for the scalar
// fields the steps wait on, and the Recorder of console lines, page errors, blocked requests
// and websocket frames (used by carta_e2e.js and analysis_steps.js).
'use strict';

// ICD event types the driver names in its websocket log (wire_numbers.tsv; carta_trio.messages.schema).
const EVENT = {
  REGISTER_VIEWER: 1, FILE_LIST_REQUEST: 2, FILE_INFO_REQUEST: 3, OPEN_FILE: 4, SET_IMAGE_CHANNELS: 6,
  SET_CURSOR: 7, SET_SPATIAL_REQUIREMENTS: 8, SET_HISTOGRAM_REQUIREMENTS: 9, SET_STATS_REQUIREMENTS: 10,
  SET_REGION: 11, REMOVE_REGION: 12, CLOSE_FILE: 13, SET_SPECTRAL_REQUIREMENTS: 14, START_ANIMATION: 15,
  START_ANIMATION_ACK: 16, STOP_ANIMATION: 17, REGISTER_VIEWER_ACK: 18, FILE_LIST_RESPONSE: 19,
  FILE_INFO_RESPONSE: 20, OPEN_FILE_ACK: 21, SET_REGION_ACK: 22, REGION_HISTOGRAM_DATA: 23,
  SPATIAL_PROFILE_DATA: 25, SPECTRAL_PROFILE_DATA: 26, REGION_STATS_DATA: 27, ERROR_DATA: 28,
  ANIMATION_FLOW_CONTROL: 29, ADD_REQUIRED_TILES: 30, REMOVE_REQUIRED_TILES: 31, RASTER_TILE_DATA: 32,
  REGION_LIST_REQUEST: 33, REGION_LIST_RESPONSE: 34, REGION_FILE_INFO_REQUEST: 35, REGION_FILE_INFO_RESPONSE: 36,
  IMPORT_REGION: 37, IMPORT_REGION_ACK: 38, EXPORT_REGION: 39, EXPORT_REGION_ACK: 40,
  SET_CONTOUR_PARAMETERS: 45, CONTOUR_IMAGE_DATA: 46, RASTER_TILE_SYNC: 49, MOMENT_REQUEST: 61,
  MOMENT_RESPONSE: 62, MOMENT_PROGRESS: 63, STOP_MOMENT_CALC: 64,
  CATALOG_LIST_REQUEST: 50, CATALOG_LIST_RESPONSE: 51, CATALOG_FILE_INFO_REQUEST: 52, CATALOG_FILE_INFO_RESPONSE: 53,
  OPEN_CATALOG_FILE: 54, OPEN_CATALOG_FILE_ACK: 55, CLOSE_CATALOG_FILE: 56, CATALOG_FILTER_REQUEST: 57,
  CATALOG_FILTER_RESPONSE: 58, CONCAT_STOKES_FILES: 69, CONCAT_STOKES_FILES_ACK: 70,
  RESUME_SESSION: 47, RESUME_SESSION_ACK: 48,
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

// Scalar fields of the messages the driver reads, either direction (event types are unique):
// {event type: {field number: [name, kind]}}. Kinds: bool, uint, int32 (varint or sfixed32),
// float (fixed32 bits), double (fixed64 bits), string, strings, count (occurrences).
const MESSAGE_FIELDS = {
  48: { 1: ['success', 'bool'], 2: ['message', 'string'] },
  4: { 1: ['directory', 'string'], 2: ['file', 'string'], 4: ['file_id', 'int32'], 6: ['lel_expr', 'bool'] },
  69: { 1: ['stokes_files', 'count'], 2: ['file_id', 'int32'] },
  70: { 1: ['success', 'bool'], 2: ['message', 'string'] },
  6: { 1: ['file_id', 'int32'], 2: ['channel', 'int32'], 3: ['stokes', 'int32'] },
  7: { 1: ['file_id', 'int32'] },
  10: { 1: ['file_id', 'int32'], 2: ['region_id', 'int32'], 3: ['stats_configs', 'count'] },
  11: { 1: ['file_id', 'int32'], 2: ['region_id', 'int32'] },
  15: { 1: ['file_id', 'int32'], 6: ['frame_rate', 'int32'], 7: ['looping', 'bool'] },
  16: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['animation_id', 'int32'] },
  17: { 1: ['file_id', 'int32'] },
  18: { 1: ['session_id', 'uint'], 2: ['success', 'bool'], 3: ['message', 'string'], 4: ['session_type', 'uint'] },
  19: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['directory', 'string'], 4: ['parent', 'string'],
        5: ['files', 'count'], 6: ['subdirectories', 'count'] },
  20: { 1: ['success', 'bool'], 2: ['message', 'string'] },
  21: { 1: ['success', 'bool'], 2: ['file_id', 'int32'], 3: ['message', 'string'] },
  22: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['region_id', 'int32'] },
  23: { 1: ['file_id', 'int32'], 2: ['region_id', 'int32'], 3: ['channel', 'int32'], 4: ['stokes', 'int32'],
        6: ['progress', 'float'] },
  25: { 1: ['file_id', 'int32'], 2: ['region_id', 'int32'], 3: ['x', 'int32'], 4: ['y', 'int32'],
        5: ['channel', 'int32'], 6: ['stokes', 'int32'], 7: ['value', 'float'], 8: ['profiles', 'count'] },
  27: { 1: ['file_id', 'int32'], 2: ['region_id', 'int32'], 3: ['channel', 'int32'], 4: ['stokes', 'int32'],
        5: ['statistics', 'count'] },
  28: { 1: ['severity', 'uint'], 2: ['tags', 'strings'], 3: ['message', 'string'], 4: ['data', 'string'] },
  29: { 1: ['file_id', 'int32'], 3: ['animation_id', 'int32'] },
  32: { 1: ['file_id', 'int32'], 2: ['channel', 'int32'], 3: ['stokes', 'int32'], 6: ['sync_id', 'int32'],
        7: ['animation_id', 'int32'], 8: ['tiles', 'count'] },
  34: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['directory', 'string'], 5: ['files', 'count'] },
  36: { 1: ['success', 'bool'], 2: ['message', 'string'], 4: ['contents', 'count'] },
  37: { 1: ['group_id', 'int32'], 2: ['type', 'uint'], 3: ['directory', 'string'], 4: ['file', 'string'] },
  38: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['regions', 'count'], 4: ['region_styles', 'count'] },
  39: { 1: ['type', 'uint'], 2: ['coord_type', 'uint'], 3: ['file_id', 'int32'], 4: ['region_styles', 'count'],
        5: ['directory', 'string'], 6: ['file', 'string'] },
  40: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['contents', 'count'] },
  45: { 1: ['file_id', 'int32'], 2: ['reference_file_id', 'int32'] },
  46: { 1: ['file_id', 'int32'], 4: ['channel', 'int32'], 5: ['stokes', 'int32'], 6: ['contour_sets', 'count'],
        7: ['progress', 'double'] },
  49: { 1: ['file_id', 'int32'], 2: ['channel', 'int32'], 3: ['stokes', 'int32'], 4: ['sync_id', 'int32'],
        5: ['animation_id', 'int32'], 6: ['tile_count', 'int32'], 7: ['end_sync', 'bool'] },
  61: { 1: ['file_id', 'int32'], 4: ['region_id', 'int32'], 8: ['keep', 'bool'] },
  62: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['open_file_acks', 'count'], 4: ['cancel', 'bool'] },
  63: { 1: ['file_id', 'int32'], 2: ['progress', 'float'] },
  51: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['directory', 'string'], 5: ['files', 'count'] },
  53: { 1: ['success', 'bool'], 2: ['message', 'string'], 4: ['headers', 'count'] },
  54: { 1: ['directory', 'string'], 2: ['name', 'string'], 3: ['file_id', 'int32'], 4: ['preview_data_size', 'int32'] },
  55: { 1: ['success', 'bool'], 2: ['message', 'string'], 3: ['file_id', 'int32'], 5: ['data_size', 'int32'],
        6: ['headers', 'count'], 7: ['preview_data', 'count'] },
  57: { 1: ['file_id', 'int32'], 3: ['filter_configs', 'count'], 4: ['subset_data_size', 'int32'],
        5: ['subset_start_index', 'int32'], 9: ['sort_column', 'string'] },
  58: { 1: ['file_id', 'int32'], 4: ['columns', 'count'], 5: ['subset_data_size', 'int32'],
        6: ['subset_end_index', 'int32'], 7: ['progress', 'float'], 8: ['filter_data_size', 'int32'],
        9: ['request_end_index', 'int32'] },
};

const scratch = Buffer.alloc(8);

/** Decode the scalar fields of a message listed in MESSAGE_FIELDS (proto3 defaults when absent). */
function decodeReply(type, body) {
  const spec = MESSAGE_FIELDS[type];
  if (!spec) return null;
  const f = decodeProto(body);
  const out = {};
  for (const [no, [name, kind]] of Object.entries(spec)) {
    const values = f[no] || [];
    const last = values[values.length - 1];
    if (kind === 'bool') out[name] = Boolean(last || 0);
    else if (kind === 'uint') out[name] = last || 0;
    else if (kind === 'int32') out[name] = (last || 0) | 0;
    else if (kind === 'float') { scratch.writeUInt32LE(last || 0, 0); out[name] = scratch.readFloatLE(0); }
    else if (kind === 'double') { scratch.writeBigUInt64LE(last || 0n, 0); out[name] = scratch.readDoubleLE(0); }
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
            // The whole frame, for the pytest side to decode with the real schema; not
            // enumerable, so the results file's websocket summary stays small.
            if (h.type !== EVENT.RASTER_TILE_DATA) Object.defineProperty(entry, 'raw', { value: buf });
            try {
              const reply = decodeReply(h.type, body);
              if (reply) entry.msg = reply;
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

  /** Binary frames from index `mark` on, either direction, optionally only of `types`. */
  since(mark, types) {
    return this.frames.slice(mark).filter((f) => f.type !== undefined && (!types || types.includes(f.type)));
  }

  /**
   * A step's wire log: frames since `mark` of `types` with their decoded scalar fields and,
   * except for RASTER_TILE_DATA, the whole frame as base64 (header included) for the
   * pytest side to decode with carta_trio.messages.registry.decode_frame.
   */
  wire(mark, types) {
    return this.since(mark, types).map((f) => ({
      t: f.t, dir: f.dir, type: f.type, name: f.name, req: f.req, msg: f.msg || null,
      ...(f.raw ? { b64: f.raw.toString('base64') } : {}),
    }));
  }

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

module.exports = { EVENT, EVENT_NAME, MESSAGE_FIELDS, decodeHeader, decodeProto, decodeReply, Recorder };
