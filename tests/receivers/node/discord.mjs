// Discord webhook events with discord-interactions: `verifyKey(rawBody,
// X-Signature-Ed25519, X-Signature-Timestamp, publicKey)` checks the hex
// Ed25519 signature of the timestamp header followed by the raw body against
// the app's hex public key. A delivery that fails is refused with 401, as the
// library's middlewares do and Discord's docs ask.
//
// Not `verifyWebhookEventMiddleware`, the library's Express middleware for
// webhook events: it JSON.parse()s the body (rounding integers above 2^53) and
// answers 204 before the handler runs, so a handler that fails still looks
// delivered. Its answers are kept: 401 for a missing or bad signature, 204
// with no body for the PING (`type` 0) and for events. The interaction PING
// (`type` 1 with a `token`) is answered `{"type":1}`, as `verifyKeyMiddleware`
// does. Neither PING is an event: neither is reported.
//
// WEBHOOK_SECRET is the app's public key, hex (as the developer portal shows
// it). For tests it may instead be an Ed25519 private key in PEM (what
// `hookforge keygen --vendor discord` prints and `hookforge check --secret`
// takes); the public key is then derived from it, and verifyKey still gets
// only the public key.
import { createPublicKey } from "node:crypto";
import { verifyKey } from "discord-interactions";
import { DEFECT, SECRET, handled, parseBody, rejectUnknown, serve, signedText } from "./common.mjs";

// Webhook events carry no event id (hookforge's manifest has no `event_id`):
// there is nothing to dedupe on or to record, so these seeded defects have no
// counterpart here and the receiver will not start with them (see ../README.md).
const NOT_FOR_ID_LESS = {
  "no-dedupe": "a webhook event carries no id to dedupe on",
  "record-before-verify": "a webhook event carries no id to record before verifying",
};
if (NOT_FOR_ID_LESS[DEFECT]) {
  console.error(`DEFECT=${DEFECT} does not apply to discord: ${NOT_FOR_ID_LESS[DEFECT]}`);
  process.exit(2);
}

function publicKeyHex(secret) {
  if (!secret.includes("-----BEGIN")) return secret.trim();
  const spki = createPublicKey(secret).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("hex"); // the raw key ends the SPKI
}
const PUBLIC_KEY = publicKeyHex(SECRET);

/** Discord's webhook events carry no event id (the manifest has none): nothing to dedupe on. */
const eventId = () => null;

/** `/event/type` of a webhook event (`type` 1), else the body's `type`. */
function eventType(payload) {
  const type = payload.event?.type;
  return typeof type === "string" ? type : String(payload.type ?? "");
}

/** The two handshakes: [status, text] to answer, or null for an event. */
function handshake(res, payload) {
  const type = String(payload.type);
  if (type === "0") {
    res.writeHead(204, { "content-type": "application/json" });
    return [204, ""];
  }
  if (type === "1" && payload.token !== undefined) {
    res.writeHead(200, { "content-type": "application/json" });
    return [200, JSON.stringify({ type: 1 })];
  }
  return null;
}

function noContent(res) {
  res.writeHead(204, { "content-type": "application/json" });
  return [204, ""];
}

serve("discord", async (req, res, raw) => {
  const signature = req.headers["x-signature-ed25519"] ?? "";
  const timestamp = req.headers["x-signature-timestamp"] ?? "";
  // The raw bytes as received (reserialize: JSON.stringify(JSON.parse(raw))).
  const signed = DEFECT === "reserialize" ? Buffer.from(signedText(raw.toString("utf8")), "utf8") : raw;
  // As the middlewares do: no header, no verification.
  const verified = async () => Boolean(signature && timestamp) && (await verifyKey(signed, signature, timestamp, PUBLIC_KEY));

  if (DEFECT === "handle-before-verify") {
    const early = parseBody(raw.toString("utf8"));
    if (!handshake({ writeHead() {} }, early)) await handled(eventId(early), eventType(early), early);
    if (!(await verified())) return [401, "[discord-interactions] Invalid signature"];
    return handshake(res, early) ?? noContent(res);
  }
  if (!(await verified())) return [401, "[discord-interactions] Invalid signature"];
  const payload = parseBody(raw.toString("utf8"));
  const answer = handshake(res, payload);
  if (answer) return answer;
  rejectUnknown(payload);
  await handled(eventId(payload), eventType(payload), payload);
  return noContent(res);
});
