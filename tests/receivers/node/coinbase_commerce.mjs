// Coinbase Commerce webhooks with coinbase-commerce-node:
// `Webhook.verifyEventBody(rawBody, X-CC-Webhook-Signature, sharedSecret)`,
// the SDK README's call, JSON.parse()s the body (refusing one that is not JSON
// or has no `event`), then checks the hex HMAC-SHA256 of the raw body
// (`verifySigHeader`). It throws rather than answering false; the receiver
// refuses anything it throws with 400, as the README's example does.
//
// The Event it returns is discarded: JSON.parse rounds integers above 2^53.
// The receiver parses the verified body itself, losslessly. The event id and
// type are the body's `event.id` and `event.type`.
import coinbase from "coinbase-commerce-node";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

const { Webhook } = coinbase;
const { InvalidResponseError } = coinbase.errors;

/** `event.id` of a body not yet verified (undefined if there is none). */
function bodyEventId(text) {
  try {
    const id = JSON.parse(text)?.event?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

serve("coinbase_commerce", async (req, res, raw) => {
  // The SDK hashes the body as a string (README: `request.rawBody`), UTF-8.
  const body = raw.toString("utf8");
  const signature = req.headers["x-cc-webhook-signature"] ?? "";
  const verified = () => {
    try {
      Webhook.verifyEventBody(signedText(body), signature, SECRET);
      return true;
    } catch (err) {
      // verifyEventBody parses before it verifies: its "No JSON object could be decoded".
      if (DEFECT === "json-500" && err instanceof InvalidResponseError && /JSON/.test(err.message)) {
        JSON.parse(body); // the parse error escapes
      }
      return false;
    }
  };

  if (DEFECT === "handle-before-verify") {
    const early = parseBody(body);
    await handled(early.event?.id, early.event?.type, early);
    return verified() ? [200, "Signed Webhook Received"] : [400, "Webhook Error"];
  }
  if (recordBeforeVerify(bodyEventId(body))) return [200, "Signed Webhook Received"];
  if (!verified()) return [400, "Webhook Error"];
  const payload = parseBody(body);
  rejectUnknown(payload);
  await handled(payload.event?.id, payload.event?.type, payload);
  return [200, "Signed Webhook Received"];
});
