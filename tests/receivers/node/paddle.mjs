// Paddle Billing webhooks with @paddle/paddle-node-sdk:
// `paddle.webhooks.isSignatureValid(rawBody, secretKey, Paddle-Signature)`
// checks `ts=…;h1=<hex HMAC-SHA256 of "<ts>:<raw body>">` (and that ts is at
// most 5 s old), answering 400 otherwise.
//
// Not `paddle.webhooks.unmarshal`, the SDK README's call: it verifies the same
// way, then JSON.parse()s the body itself, which rounds integers above 2^53,
// and turns it into camelCase entity classes rather than what Paddle sent.
// The receiver parses the verified body losslessly instead. The README's
// handler also answers 200 to a delivery that fails verification; this one
// refuses it with 400.
import { Paddle } from "@paddle/paddle-node-sdk";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

// No API key: only the webhook helpers are used, which make no API call.
const paddle = new Paddle("hookforge-receiver-no-api-key");

/** A top-level field of a body not yet verified (undefined if it is no JSON object). */
function bodyField(text, name) {
  try {
    const doc = JSON.parse(text);
    return doc && typeof doc === "object" && !Array.isArray(doc) ? doc[name] : undefined;
  } catch {
    return undefined;
  }
}

serve("paddle", async (req, res, raw) => {
  // The SDK takes the body as a string (its README: `req.body.toString()` of express.raw).
  const body = raw.toString("utf8");
  const signature = req.headers["paddle-signature"] ?? "";
  // isSignatureValid throws, rather than answering false, on a header without `ts=` and `h1=`.
  const verified = async () => paddle.webhooks.isSignatureValid(signedText(body), SECRET, signature).catch(() => false);

  if (DEFECT === "handle-before-verify") {
    const early = parseBody(body);
    await handled(early.event_id, early.event_type, early);
    return (await verified()) ? [200, "ok"] : [400, "invalid signature"];
  }
  if (recordBeforeVerify(bodyField(body, "event_id"))) return [200, "ok"];
  if (!(await verified())) return [400, "invalid signature"];
  const payload = parseBody(body);
  rejectUnknown(payload);
  await handled(payload.event_id, payload.event_type, payload);
  return [200, "ok"];
});
