// What every Node receiver here shares: the environment contract, the HTTP
// server, lossless JSON, dedupe, the report to OBSERVE_URL and the seeded
// defects. The vendor libraries themselves are used in github.mjs,
// shopify.mjs, paddle.mjs and linear.mjs. See ../README.md.
import { createServer } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as losslessParse, stringify as losslessStringify } from "lossless-json";

// The seeded defects' names, one list for every language (../defects.txt).
const DEFECTS = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "..", "defects.txt"),
  "utf8",
).split(/\s+/).filter(Boolean);

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
  // record-before-verify deduped already, before verifying.
  if (id !== null && DEFECT !== "no-dedupe" && DEFECT !== "record-before-verify") {
    if (seen.has(id)) return false; // a redelivery: acknowledged, not handled again
    seen.add(id);
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
    if (DEFECT !== "record-before-verify") seen.delete(id); // not handled: a redelivery may try again
    throw err;
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
  if (DEFECT === "reject-unknown") knownKeys = loadKnownKeys(vendor);
  const path = `/webhooks/${vendor}`;
  const server = createServer(async (req, res) => {
    let status;
    let text;
    try {
      if (new URL(req.url, "http://127.0.0.1").pathname !== path || req.method !== "POST") {
        [status, text] = [404, "not found"];
      } else {
        [status, text] = await route(req, res, await readBody(req));
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
