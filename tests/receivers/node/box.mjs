// Box webhooks (V2) with box-node-sdk: `WebhooksManager.validateMessage(body,
// headers, primaryKey, { secondaryKey })` checks BOX-SIGNATURE-PRIMARY (or
// -SECONDARY, with the secondary key) as the base64 HMAC-SHA256 of the body
// followed by BOX-DELIVERY-TIMESTAMP, that BOX-SIGNATURE-VERSION is `1` and
// -ALGORITHM `HmacSHA256`, and that the timestamp is at most 10 minutes old
// and not in the future. It answers false rather than throwing (but see the
// README's traits); the receiver refuses anything but true with 400.
//
// WEBHOOK_SECRET is the app's primary signature key; WEBHOOK_SECRET_SECONDARY,
// when set, the secondary one (Box's rotation: either may sign).
import { WebhooksManager } from "box-node-sdk/managers/webhooks";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

const SECONDARY = process.env.WEBHOOK_SECRET_SECONDARY || undefined;

/** The body's `id` (the event id: redeliveries keep it; BOX-DELIVERY-ID changes per attempt). */
function bodyId(text) {
  try {
    const doc = JSON.parse(text);
    return doc && typeof doc === "object" && !Array.isArray(doc) && typeof doc.id === "string" ? doc.id : undefined;
  } catch {
    return undefined;
  }
}

serve("box", async (req, res, raw) => {
  // The SDK takes the body as a string and the headers as a map with
  // lower-case names, which is what Node's req.headers is.
  const body = raw.toString("utf8");
  const verified = async () => {
    try {
      return (await WebhooksManager.validateMessage(signedText(body), req.headers, SECRET, { secondaryKey: SECONDARY })) === true;
    } catch {
      return false; // e.g. no BOX-DELIVERY-TIMESTAMP: hmac.update(undefined) throws
    }
  };

  if (DEFECT === "handle-before-verify") {
    const early = parseBody(body);
    await handled(early.id, early.trigger, early);
    return (await verified()) ? [200, "ok"] : [400, "invalid signature"];
  }
  if (recordBeforeVerify(bodyId(body))) return [200, "ok"];
  if (!(await verified())) return [400, "invalid signature"];
  const payload = parseBody(body);
  rejectUnknown(payload);
  await handled(payload.id, payload.trigger, payload);
  return [200, "ok"];
});
