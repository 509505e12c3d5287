// What every Node receiver here shares: the environment contract, the HTTP
// server, lossless JSON, dedupe, the report to OBSERVE_URL and the seeded
// defects. The vendor libraries themselves are used in github.mjs,
// shopify.mjs, paddle.mjs and linear.mjs. See ../README.md.
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as losslessParse, stringify as losslessStringify } from "lossless-json";

// The seeded defects' names, one list for every language: ../defects.txt
// (scripts/check-receivers asserts check catches each), then
// ../defects-missed.txt (implemented, switched on by hand: check misses
// them; see ../README.md, "Defects check misses").
const defectsIn = (name) =>
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", name), "utf8")
    .split(/\s+/)
    .filter(Boolean);
const DEFECTS = [...defectsIn("defects.txt"), ...defectsIn("defects-missed.txt")];
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function die(message) {
  console.error(message);
  process.exit(2);
}

export const PORT = Number(process.env.PORT);
export const SECRET = process.env.WEBHOOK_SECRET ?? "";
export const OBSERVE_URL = (process.env.OBSERVE_URL ?? "").replace(/\/+$/, "");
export const DEFECT = process.env.DEFECT ?? "";
if (!Number.isInteger(PORT) || PORT <= 0) die("PORT must be set to a port number");
if (!SECRET) die("WEBHOOK_SECRET must be set");
if (DEFECT && !DEFECTS.includes(DEFECT)) {
  die(`unknown DEFECT=${DEFECT}; known: ${DEFECTS.join(", ")}`);
}

// Careful: every number stays as its exact text (LosslessNumber).
// float-numbers: plain JSON.parse, so 9007199254740993 becomes 9007199254740992.
const parseJson = DEFECT === "float-numbers" ? JSON.parse : (text) => losslessParse(text);
const toJson = DEFECT === "float-numbers" ? JSON.stringify : losslessStringify;

// The request being answered (its raw body and headers), across awaits.
const requestStore = new AsyncLocalStorage();

// Where a defect has no counterpart for a vendor: the receiver exits (as the
// vendor receivers do for theirs), saying "does not apply to <vendor>".
const APPLIES = {
  "ignore-timestamp": [(v) => ["paddle", "box", "linear"].includes(v), "its library checks no signed timestamp"],
  "first-item-only": [() => false, "a delivery is not a batch"],
  "dedupe-on-body": [(v) => v !== "discord", "a webhook event carries no id"],
  "keep-id-on-failure": [(v) => v !== "discord", "a webhook event carries no id"],
  "first-signature-only": [() => false, "its signature header carries one signature"],
};

// ignore-timestamp: the signature is verified, but against a clock that reads
// the delivery's own signed timestamp, so no delivery is ever too old or too
// new (a hand-rolled check that skips the window; Box's `maxAge: Infinity`).
const RealDate = Date;
function frozenNow() {
  return requestStore.getStore()?.signedAt;
}
if (DEFECT === "ignore-timestamp") {
  globalThis.Date = class ClockDate extends RealDate {
    constructor(...args) {
      const at = args.length === 0 ? frozenNow() : undefined;
      if (at !== undefined) super(at);
      else super(...args);
    }
    static now() {
      return frozenNow() ?? RealDate.now();
    }
  };
}

/** The delivery's signed timestamp in milliseconds (undefined if unreadable). */
function signedAt(vendor, req, raw) {
  let at;
  if (vendor === "paddle") {
    const ts = /(?:^|;)\s*ts=(\d+)/.exec(req.headers["paddle-signature"] ?? "");
    at = ts ? Number(ts[1]) * 1000 : undefined;
  } else if (vendor === "box") {
    at = RealDate.parse(req.headers["box-delivery-timestamp"] ?? "");
  } else if (vendor === "linear") {
    try {
      at = JSON.parse(raw.toString("utf8"))?.webhookTimestamp;
    } catch {
      at = undefined;
    }
  }
  return typeof at === "number" && Number.isFinite(at) ? at : undefined;
}

function manifestBudgetSecs(vendor) {
  try {
    const manifest = JSON.parse(readFileSync(join(ROOT, "vendors", vendor, "manifest.json"), "utf8"));
    const secs = Number(manifest.delivery.timeout_secs);
    return Number.isFinite(secs) ? secs : 10;
  } catch {
    return 10;
  }
}

// reject-null: a strict model inferred from the samples (quicktype-like): a
// null is refused (400) where no sample has null at that path. reject-unknown-enum: a string value the vendor's
// schema's enum for that property name does not list is refused (400).
let nullableKeys = null;
let enums = null;

function jsonFiles(dir, wantSamples) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) {
        if ((name === "samples") === wantSamples || wantSamples) walk(path);
      } else if (name.endsWith(".json")) out.push(JSON.parse(readFileSync(path, "utf8")));
    }
  };
  walk(dir);
  return out;
}

/** The paths (`/a/*\/b`, `*` for any array index) some sample has null at. */
function loadNullableKeys(vendor) {
  const paths = new Set();
  const walk = (x, path) => {
    if (Array.isArray(x)) x.forEach((v) => walk(v, `${path}/*`));
    else if (x && typeof x === "object") {
      for (const [k, v] of Object.entries(x)) {
        if (v === null) paths.add(`${path}/${k}`);
        walk(v, `${path}/${k}`);
      }
    }
  };
  jsonFiles(join(ROOT, "vendors", vendor, "samples"), true).forEach((doc) => walk(doc, ""));
  return paths;
}

function loadEnums(vendor) {
  const found = new Map();
  const docs = jsonFiles(join(ROOT, "vendors", vendor), false);
  const definitions = {};
  for (const doc of docs) Object.assign(definitions, doc?.definitions ?? {}, doc?.$defs ?? {});
  const enumOf = (schema, depth = 0) => {
    if (!schema || typeof schema !== "object" || depth > 5) return null;
    if (Array.isArray(schema.enum) && schema.enum.every((e) => typeof e === "string" || e === null)) {
      return schema.enum.filter((e) => e !== null);
    }
    if (typeof schema.$ref === "string" && schema.$ref.includes("/")) {
      return enumOf(definitions[schema.$ref.split("/").pop()], depth + 1);
    }
    for (const alt of ["anyOf", "oneOf", "allOf"]) {
      for (const sub of schema[alt] ?? []) {
        const e = enumOf(sub, depth + 1);
        if (e && e.length) return e;
      }
    }
    return null;
  };
  const walk = (x) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === "object") {
      for (const [name, prop] of Object.entries(x.properties ?? {})) {
        const e = enumOf(prop);
        if (e && e.length) {
          if (!found.has(name)) found.set(name, new Set());
          e.forEach((v) => found.get(name).add(v));
        }
      }
      Object.values(x).forEach(walk);
    }
  };
  docs.forEach(walk);
  // A model the vendor's own samples fail is no model: an enum (by property
  // name) that some sample's value is missing from is dropped.
  const conflicts = (x) => {
    if (Array.isArray(x)) x.forEach(conflicts);
    else if (x && typeof x === "object") {
      for (const [k, v] of Object.entries(x)) {
        if (typeof v === "string" && found.has(k) && !found.get(k).has(v)) found.delete(k);
        conflicts(v);
      }
    }
  };
  jsonFiles(join(ROOT, "vendors", vendor, "samples"), true).forEach(conflicts);
  return found;
}

function strictValues(payload) {
  if (!nullableKeys && !enums) return;
  const plain = (x) => x !== null && typeof x === "object" && (Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype);
  const walk = (x, path) => {
    if (!plain(x)) return;
    if (Array.isArray(x)) {
      x.forEach((v) => walk(v, `${path}/*`));
      return;
    }
    for (const [k, v] of Object.entries(x)) {
      if (nullableKeys && v === null && !nullableKeys.has(`${path}/${k}`)) {
        throw new Reject(400, `${path}/${k}: null is not allowed`);
      }
      if (enums && typeof v === "string" && enums.has(k) && !enums.get(k).has(v)) {
        throw new Reject(400, `${path}/${k}: unknown value ${JSON.stringify(v)}`);
      }
      walk(v, `${path}/${k}`);
    }
  };
  walk(payload, "");
}

/** An answer other than 2xx, thrown from a route. */
export class Reject extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The verified body as JSON: 400 when it is not a JSON object (json-500: a parse error escapes → 500). */
export function parseBody(text) {
  let payload;
  try {
    payload = parseJson(text);
  } catch (err) {
    if (DEFECT === "json-500") throw err;
    throw new Reject(400, `body is not JSON: ${err.message}`);
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new Reject(400, "body is not a JSON object");
  }
  return payload;
}

/** What the signature is checked over: the raw body (reserialize: JSON.stringify(JSON.parse(raw))). */
export function signedText(text) {
  if (DEFECT !== "reserialize") return text;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

// reject-unknown: a strict model whose known top-level keys are those of the
// vendor's documented samples (vendors/<vendor>/samples/**/*.json).
let knownKeys = null;
function loadKnownKeys(vendor) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  const dir = join(root, "vendors", vendor, "samples");
  const keys = new Set();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".json")) {
        const sample = JSON.parse(readFileSync(path, "utf8"));
        if (sample && typeof sample === "object" && !Array.isArray(sample)) {
          Object.keys(sample).forEach((k) => keys.add(k));
        }
      }
    }
  };
  try {
    walk(dir);
  } catch (err) {
    die(`DEFECT=reject-unknown needs the samples in ${dir}: ${err.message}`);
  }
  if (keys.size === 0) die(`DEFECT=reject-unknown: no sample payloads in ${dir}`);
  return keys;
}

export function rejectUnknown(payload) {
  strictValues(payload);
  if (!knownKeys) return;
  const unknown = Object.keys(payload).filter((k) => !knownKeys.has(k));
  if (unknown.length) throw new Reject(400, `unknown field(s): ${unknown.join(", ")}`);
}

// Dedupe by event id; "handling" is the report to OBSERVE_URL.
const seen = new Set();

// record-before-verify: dedupes before the signature is checked, marking the
// id handled, so after a refused delivery an authentic one with its id looks
// like a redelivery: acknowledged and never handled. True for an id already
// seen (answered 2xx at once).
export function recordBeforeVerify(eventId) {
  if (DEFECT !== "record-before-verify" || !eventId) return false;
  if (seen.has(eventId)) return true;
  seen.add(eventId);
  return false;
}

export async function handled(eventId, eventType, payload) {
  const id = eventId ?? null;
  // dedupe-on-body: the key is a hash of the body, not the event id.
  const raw = requestStore.getStore()?.raw;
  const key = DEFECT === "dedupe-on-body" && raw ? createHash("sha256").update(raw).digest("hex") : id;
  // record-before-verify deduped already, before verifying.
  if (id !== null && DEFECT !== "no-dedupe" && DEFECT !== "record-before-verify") {
    if (seen.has(key)) return false; // a redelivery: acknowledged, not handled again
    seen.add(key);
  }
  try {
    if (OBSERVE_URL) {
      const body = toJson({ event_id: id, event_type: eventType ?? null, payload });
      const res = await fetch(`${OBSERVE_URL}/handled`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 204) throw new Error(`observer answered ${res.status}`);
    }
  } catch (err) {
    // keep-id-on-failure: the id stays recorded, so the vendor's retry of a
    // delivery whose handling failed is acknowledged and never handled.
    if (DEFECT !== "record-before-verify" && DEFECT !== "keep-id-on-failure") seen.delete(key); // not handled: a redelivery may try again
    throw err;
  }
  // slow-ack: the work is done before answering and takes longer than the
  // vendor's time budget (the manifest's delivery.timeout_secs) plus a second.
  const vendor = requestStore.getStore()?.vendor;
  if (DEFECT === "slow-ack" && vendor) {
    await new Promise((resolve) => setTimeout(resolve, (manifestBudgetSecs(vendor) + 1) * 1000));
  }
  return true;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * Serve `POST /webhooks/<vendor>` on 127.0.0.1:$PORT. `route(req, res, raw)`
 * answers `[status, text]` or throws a Reject; anything else thrown is a 500.
 */
export function serve(vendor, route) {
  if (APPLIES[DEFECT] && !APPLIES[DEFECT][0](vendor)) {
    die(`DEFECT=${DEFECT} does not apply to ${vendor}: ${APPLIES[DEFECT][1]}`);
  }
  if (DEFECT === "reject-unknown") knownKeys = loadKnownKeys(vendor);
  if (DEFECT === "reject-null") nullableKeys = loadNullableKeys(vendor);
  if (DEFECT === "reject-unknown-enum") enums = loadEnums(vendor);
  const path = `/webhooks/${vendor}`;
  const server = createServer(async (req, res) => {
    let status;
    let text;
    try {
      const url = new URL(req.url, "http://127.0.0.1");
      if (DEFECT === "redirect" && url.pathname === path) {
        // redirect: the route is /webhooks/<vendor>/ and the URL without the
        // slash is answered 301 to it (Express's/Django's trailing-slash redirects).
        res.writeHead(301, { location: `${path}/${url.search}`, "content-type": "text/plain; charset=utf-8" });
        [status, text] = [301, "moved permanently"];
      } else if (url.pathname !== path || req.method !== "POST") {
        [status, text] = [404, "not found"];
      } else {
        if (DEFECT === "case-sensitive-header") {
          // Headers are looked up by one exact spelling, the lowercase one (a map
          // built from req.rawHeaders): a header sent under any other spelling
          // (Title-Case, as HTTP/1.1 clients send it) is never found.
          for (let i = 0; i < req.rawHeaders.length; i += 2) {
            const name = req.rawHeaders[i];
            if (name !== name.toLowerCase() && !["content-type", "content-length", "host"].includes(name.toLowerCase())) {
              delete req.headers[name.toLowerCase()];
            }
          }
        }
        let raw = await readBody(req);
        // latin1-body: the body read as Latin-1 text (a default charset for a
        // Content-Type without one), that text used as UTF-8 thereafter.
        if (DEFECT === "latin1-body") raw = Buffer.from(raw.toString("latin1"), "utf8");
        const store = { vendor, raw };
        if (DEFECT === "ignore-timestamp") store.signedAt = signedAt(vendor, req, raw);
        [status, text] = await requestStore.run(store, () => route(req, res, raw));
        // 200-on-bad-signature: a refusal the route answered (a bad signature,
        // missing headers) is acknowledged instead, and the delivery dropped.
        if (DEFECT === "200-on-bad-signature" && status >= 400 && status < 500 && !res.headersSent) {
          [status, text] = [200, "ok"];
        }
      }
    } catch (err) {
      status = err instanceof Reject ? err.status : 500;
      text = err instanceof Reject ? err.message : "internal error";
      if (!(err instanceof Reject)) text += `: ${err?.message ?? err}`;
    }
    text = String(text).replace(/\s+/g, " ");
    if (!res.headersSent) res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end(`${text}\n`);
    console.error(`${vendor}: ${req.method} ${req.url} -> ${status} ${text}`);
  });
  server.listen(PORT, "127.0.0.1", () => {
    console.error(`${vendor} receiver on http://127.0.0.1:${PORT}${path}${DEFECT ? ` DEFECT=${DEFECT}` : ""}`);
  });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
}
