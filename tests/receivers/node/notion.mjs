// Notion integration webhooks with @notionhq/client, as its README shows:
// `verifyWebhookSignature({ body, signature: X-Notion-Signature,
// verificationToken })` checks `sha256=` + the hex HMAC-SHA256 of the raw body,
// keyed with the subscription's verification token. It answers false rather
// than throwing; a delivery that fails is refused with 401, as the README's
// Express example does. The body is given as the bytes received (the helper
// takes a Uint8Array "for binary-safe access"), not re-decoded text.
//
// The verification request: when a subscription is created Notion posts
// `{"verification_token": "..."}` once. The token is what later events are
// signed with, so the receiver cannot have it yet: the request is answered 200
// before any verification, logged for the operator to paste into the
// integration's Webhooks tab (then restart with WEBHOOK_SECRET set to it), and
// not handled: it is no event.
//
// WEBHOOK_SECRET is that verification token. The event id is the body's `id`,
// the type its `type`.
import { verifyWebhookSignature } from "@notionhq/client";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

/** A top-level field of a body not yet verified (undefined if it is no JSON object). */
function bodyField(text, name) {
  try {
    const doc = JSON.parse(text);
    return doc !== null && typeof doc === "object" && !Array.isArray(doc) ? doc[name] : undefined;
  } catch {
    return undefined;
  }
}

serve("notion", async (req, res, raw) => {
  const text = raw.toString("utf8");
  const signature = req.headers["x-notion-signature"];
  // The raw bytes as received (reserialize: JSON.stringify(JSON.parse(raw))).
  const signed = DEFECT === "reserialize" ? Buffer.from(signedText(text), "utf8") : raw;
  const verified = () => verifyWebhookSignature({ body: signed, signature, verificationToken: SECRET });

  // The one-time verification request: not signed (nothing to sign with yet), not an event.
  const token = bodyField(text, "verification_token");
  if (typeof token === "string") {
    console.error(`notion: verification_token received (${token.length} characters): ${token}`);
    return [200, ""];
  }

  if (DEFECT === "handle-before-verify") {
    const early = parseBody(text);
    await handled(early.id, early.type, early);
    return (await verified()) ? [200, "ok"] : [401, "invalid signature"];
  }
  const unverifiedId = bodyField(text, "id");
  if (recordBeforeVerify(typeof unverifiedId === "string" ? unverifiedId : undefined)) return [200, "ok"];
  if (!(await verified())) return [401, "invalid signature"];
  const payload = parseBody(text);
  rejectUnknown(payload);
  await handled(typeof payload.id === "string" ? payload.id : undefined, payload.type, payload);
  return [200, "ok"];
});
