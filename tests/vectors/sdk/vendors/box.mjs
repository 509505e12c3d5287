// Box V2 webhooks: BOX-SIGNATURE-PRIMARY is the base64 HMAC-SHA256 of the raw
// body followed by the BOX-DELIVERY-TIMESTAMP value (RFC 3339), keyed with the
// primary signature key. node:crypto signs (Box's SDK only verifies; the
// timestamp is written with a -07:00 offset, as in Box's example headers);
// box-node-sdk's WebhooksManager.validateMessage judges. It refuses
// timestamps older than 10 minutes or in the future.
import crypto from 'node:crypto';
import { WebhooksManager } from 'box-node-sdk/lib/managers/webhooks';
import { hmac, sharedSecret } from '../lib.mjs';

export const vendor = 'box';
export const library = 'box-node-sdk 10.12.0';
// The body of box-typescript-sdk-gen's webhook validation test.
const BODY = '{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}';

// RFC 3339 with a -07:00 offset, to the second.
function stamp(unix) {
  const local = new Date((unix - 7 * 3600) * 1000).toISOString().slice(0, 19);
  return `${local}-07:00`;
}

export async function make() {
  const key = crypto.randomBytes(16).toString('base64url');
  const secondary = crypto.randomBytes(16).toString('base64url');
  const ts = Math.floor(Date.now() / 1000) - 5;
  const when = stamp(ts);
  return sharedSecret('box: base64 HMAC-SHA256 of body + RFC 3339 timestamp (node:crypto signs; box-node-sdk 10.12.0 WebhooksManager.validateMessage accepts)', key, {
    timestamp: ts, content_type: 'application/json', body: BODY,
    headers: [
      ['BOX-DELIVERY-ID', crypto.randomUUID()],
      ['BOX-DELIVERY-TIMESTAMP', when],
      ['BOX-SIGNATURE-PRIMARY', hmac('sha256', key, BODY + when).digest('base64')],
      ['BOX-SIGNATURE-SECONDARY', hmac('sha256', secondary, BODY + when).digest('base64')],
      ['BOX-SIGNATURE-VERSION', '1'],
      ['BOX-SIGNATURE-ALGORITHM', 'HmacSHA256'],
    ],
  });
}

// Headers Box sends with a fixed value on every delivery (the manifest lists
// them); the SDK refuses a message without them. A vector that carries only
// the auth headers (hookforge's Signer) gets them here; a vector's own value wins.
const FIXED = { 'box-signature-version': '1', 'box-signature-algorithm': 'HmacSHA256' };

export async function accepts(v, body) {
  // The SDK reads lower-case header names.
  const headers = { ...FIXED, ...Object.fromEntries(v.headers.map(([k, val]) => [k.toLowerCase(), val])) };
  return WebhooksManager.validateMessage(body, headers, v.verify_key);
}
