// BigCommerce: Standard Webhooks signatures (v1, base64 HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>") keyed with the app's client
// secret as plain text; BigCommerce's docs hand the Standard Webhooks library
// base64(client secret). The library signs (Webhook.sign) and verifies.
import sw from 'standardwebhooks';
import { header, hexSecret, sharedSecret } from '../lib.mjs';

const { Webhook } = sw;
export const vendor = 'bigcommerce';
export const library = 'standardwebhooks 1.3.0';
const BODY = '{"scope":"store/order/created","store_id":"1025646","data":{"type":"order","id":250},"hash":"dd70c0976e06b67aaf671e73f49dcb79230ebf9d","created_at":1561479335,"producer":"stores/{store_hash}"}';
const ID = 'dd70c0976e06b67aaf671e73f49dcb79230ebf9d';

// As BigCommerce's docs do: the client secret, base64-encoded for the library.
const webhook = (clientSecret) => new Webhook(Buffer.from(clientSecret).toString('base64'));

export async function make() {
  const secret = hexSecret();
  const ts = Math.floor(Date.now() / 1000);
  const sig = webhook(secret).sign(ID, new Date(ts * 1000), BODY);
  return sharedSecret('bigcommerce: Standard Webhooks keyed with the client secret as text (standardwebhooks 1.3.0 Webhook.sign signs)', secret, {
    timestamp: ts, content_type: 'application/json', body: BODY,
    headers: [['webhook-id', ID], ['webhook-timestamp', String(ts)], ['webhook-signature', sig]],
  });
}

export async function accepts(v, body) {
  try {
    webhook(v.verify_key).verify(body, {
      'webhook-id': header(v, 'webhook-id'),
      'webhook-timestamp': header(v, 'webhook-timestamp'),
      'webhook-signature': header(v, 'webhook-signature'),
    });
    return true;
  } catch {
    return false;
  }
}
