// Coinbase Commerce: hex HMAC-SHA256 of the raw body, keyed with the webhook
// shared secret. The SDK signs (Webhook.computeSignature) and verifies
// (Webhook.verifySigHeader, which throws on a mismatch).
import crypto from 'node:crypto';
import coinbase from 'coinbase-commerce-node';
import { header, sharedSecret } from '../lib.mjs';

export const vendor = 'coinbase_commerce';
export const library = 'coinbase-commerce-node 1.0.4';
// The charge:created payload of the SDK's own webhook test.
const BODY = '{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1,"event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created","api_version":"2018-03-22","created_at":"2017-01-31T20:49:02Z","data":{"code":"66BEOV2A","name":"The Sovereign Individual","description":"Mastering the Transition to the Information Age","hosted_url":"https://commerce.coinbase.com/charges/66BEOV2A","created_at":"2017-01-31T20:49:02Z","expires_at":"2017-01-31T21:04:02Z","timeline":[{"time":"2017-01-31T20:49:02Z","status":"NEW"}],"metadata":{},"pricing_type":"no_price","payments":[],"addresses":{"bitcoin":"0000000000000000000000000000000000","ethereum":"0x0000000000000000000000000000000000000000","litecoin":"3000000000000000000000000000000000","bitcoincash":"bitcoincash:000000000000000000000000000000000000000000"}}}}';

export async function make() {
  const secret = crypto.randomUUID();
  const sig = coinbase.Webhook.computeSignature(BODY, secret);
  return sharedSecret('coinbase_commerce: hex HMAC-SHA256 of the body (coinbase-commerce-node 1.0.4 Webhook.computeSignature signs)', secret, {
    content_type: 'application/json', body: BODY,
    headers: [['X-CC-Webhook-Signature', sig]],
  });
}

export async function accepts(v, body) {
  try {
    return coinbase.Webhook.verifySigHeader(body, header(v, 'X-CC-Webhook-Signature'), v.verify_key);
  } catch {
    return false;
  }
}
