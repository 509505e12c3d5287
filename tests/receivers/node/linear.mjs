// Linear webhooks with @linear/sdk: `new LinearWebhookClient(secret).verify(rawBody,
// Linear-Signature)` (from `@linear/sdk/webhooks`; `LinearWebhooks` is its
// deprecated alias in `@linear/sdk`) checks the hex HMAC-SHA256 of the raw body,
// then that the body's `webhookTimestamp` (Unix ms, covered by the signature) is
// a number within 60 s of now, either way. It throws rather than answering
// false; the receiver refuses anything it throws with 400, as the SDK's own
// handler does.
//
// Not `createHandler()`, the SDK README's call: it JSON.parse()s the body
// itself, which rounds integers above 2^53, and dispatches on the body's
// `type`. Its answers are kept: 400 for a missing or bad signature or a bad
// timestamp. The receiver parses the verified body losslessly instead.
import { LinearWebhookClient } from "@linear/sdk/webhooks";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

const webhookClient = new LinearWebhookClient(SECRET);

/** `Linear-Event` (the entity, e.g. `Issue`) joined with the body's `action`, e.g. `Issue.create`. */
function eventType(entity, payload) {
  const name = entity ?? payload.type;
  return typeof payload.action === "string" ? `${name}.${payload.action}` : name;
}

serve("linear", async (req, res, raw) => {
  const id = req.headers["linear-delivery"];
  const entity = req.headers["linear-event"];
  // verify() calls Buffer.from(signature): a missing header is passed as "" (it then throws).
  const signature = req.headers["linear-signature"] ?? "";
  // The raw bytes as received (reserialize: JSON.stringify(JSON.parse(raw))).
  const signed = DEFECT === "reserialize" ? Buffer.from(signedText(raw.toString("utf8")), "utf8") : raw;
  const verified = () => {
    try {
      return webhookClient.verify(signed, signature) === true;
    } catch (err) {
      // verify() JSON.parse()s the body only once the signature matched, for
      // webhookTimestamp: a SyntaxError is a signed body that is not JSON.
      if (err instanceof SyntaxError && DEFECT === "json-500") throw err;
      return false;
    }
  };

  if (DEFECT === "handle-before-verify") {
    const early = parseBody(raw.toString("utf8"));
    await handled(id, eventType(entity, early), early);
    return verified() ? [200, "OK"] : [400, "Invalid webhook"];
  }
  if (recordBeforeVerify(id)) return [200, "OK"];
  if (!verified()) return [400, "Invalid webhook"];
  const payload = parseBody(raw.toString("utf8"));
  rejectUnknown(payload);
  await handled(id, eventType(entity, payload), payload);
  return [200, "OK"];
});
