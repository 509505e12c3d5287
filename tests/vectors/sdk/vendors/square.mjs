// Square: base64 HMAC-SHA256 of the notification URL followed by the raw body,
// keyed with the subscription's signature key. node:crypto signs (the SDK only
// verifies); square's WebhooksHelper.verifySignature judges.
import crypto from 'node:crypto';
import { WebhooksHelper } from 'square';
import { hmac, header, sharedSecret } from '../lib.mjs';

export const vendor = 'square';
export const library = 'square 46.0.0';
const URL = 'https://example.com/hooks/square?shop=42';
const BODY = '{"created_at":"2020-02-06T21:27:41.852Z","data":{"id":"KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNBVqHYxt5gAdfcobBe4u1AZsXhoz06KTtuq9Ls24P","object":{"refund":{"amount_money":{"amount":1000,"currency":"USD"},"created_at":"2020-02-06T21:27:41.836Z","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY_ptNBVqHYxt5gAdfcobBe4u1AZsXhoz06KTtuq9Ls24P","location_id":"NAQ1FHV6ZJ8YV","order_id":"haOyDuHiqtAXMk0d8pDKXpL7Jg4F","payment_id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","status":"PENDING","updated_at":"2020-02-06T21:27:41.846Z","version":7}},"type":"refund"},"event_id":"bc316346-6691-4243-88ed-6d651a0d0c47","merchant_id":"6SSW7HV8K2ST5","type":"refund.created"}';

export async function make() {
  const key = crypto.randomBytes(16).toString('base64url');
  const sig = hmac('sha256', key, URL + BODY).digest('base64');
  return sharedSecret('square: base64 HMAC-SHA256 of URL + body (node:crypto signs; square 46.0.0 WebhooksHelper.verifySignature accepts)', key, {
    url: URL, content_type: 'application/json', body: BODY,
    headers: [['x-square-hmacsha256-signature', sig]],
  });
}

export async function accepts(v, body) {
  return WebhooksHelper.verifySignature({
    requestBody: body, signatureHeader: header(v, 'x-square-hmacsha256-signature'),
    signatureKey: v.verify_key, notificationUrl: v.url,
  });
}
