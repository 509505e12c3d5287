// Notion: X-Notion-Signature is `sha256=` + hex HMAC-SHA256 of the raw body, keyed
// with the subscription's verification_token. @notionhq/client signs
// (signWebhookPayload) and verifies (verifyWebhookSignature).
import crypto from 'node:crypto';
import { signWebhookPayload, verifyWebhookSignature } from '@notionhq/client';
import { header, sharedSecret } from '../lib.mjs';

export const vendor = 'notion';
export const library = '@notionhq/client 5.26.0';
const BODY = '{"id":"367cba44-b6f3-4c92-81e7-6a2e9659efd4","timestamp":"2024-12-05T23:55:34.285Z","workspace_id":"13950b26-c203-4f3b-b97d-93ec06319565","workspace_name":"Quantify Labs","subscription_id":"29d75c0d-5546-4414-8459-7b7a92f1fc4b","integration_id":"0ef2e755-4912-8096-91c1-00376a88a5ca","type":"page.created","authors":[{"id":"c7c11cca-1d73-471d-9b6e-bdef51470190","type":"person"}],"attempt_number":1,"entity":{"id":"153104cd-477e-809d-8dc4-ff2d96ae3090","type":"page"},"data":{"parent":{"id":"0ef104cd-477e-80e1-8571-cfd10e92339a","type":"page"}}}';

export async function make() {
  const token = 'secret_' + crypto.randomBytes(24).toString('base64url');
  const sig = await signWebhookPayload({ body: BODY, verificationToken: token });
  return sharedSecret('notion: sha256= hex HMAC-SHA256 of the body (@notionhq/client 5.26.0 signWebhookPayload signs)', token, {
    content_type: 'application/json', body: BODY,
    headers: [['X-Notion-Signature', sig]],
  });
}

export async function accepts(v, body) {
  return verifyWebhookSignature({ body, signature: header(v, 'X-Notion-Signature'), verificationToken: v.verify_key });
}
