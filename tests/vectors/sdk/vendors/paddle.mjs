// Paddle Billing: Paddle-Signature `ts=<unix s>;h1=<hex HMAC-SHA256 of "<ts>:<body>">`,
// keyed with the destination's secret key as given. node:crypto signs (the SDK
// only verifies); @paddle/paddle-node-sdk's webhooks.isSignatureValid judges (on a
// `Paddle` client, whose constructor installs the SDK's Node crypto; no API call is made).
// The SDK refuses signatures more than 5 s old, so it is asked at the
// delivery's own time (as the Rust side verifies at the vector's timestamp).
import crypto from 'node:crypto';
import { Paddle } from '@paddle/paddle-node-sdk';
import { hmac, header, sharedSecret } from '../lib.mjs';

export const vendor = 'paddle';
export const library = '@paddle/paddle-node-sdk 3.10.0';
// The customer.created body of the Python SDK's signature test.
const BODY = '{"data":{"id":"ctm_01hs0tqf76sxmp7ba5e4mw1sc8","name":"John Doe","email":"blackhole+verification2@paddle.com","locale":"en","status":"active","created_at":"2024-03-15T10:32:37.862Z","updated_at":"2024-03-15T10:32:37.862Z","custom_data":null,"import_meta":null,"marketing_consent":false},"event_id":"evt_01hs0tqfme2xwb2hvwv87p8y3w","event_type":"customer.created","occurred_at":"2024-03-15T10:32:38.286848Z","notification_id":"ntf_01hs0tqfrhgkyp39x4wyvy7h6n"}';

// The API key is a placeholder: verifying makes no request.
const paddle = new Paddle('pdl_sdbx_apikey_placeholder');

export async function make() {
  const secret = 'pdl_ntfset_' + crypto.randomBytes(13).toString('hex') + '_' + crypto.randomBytes(24).toString('base64');
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = hmac('sha256', secret, `${ts}:${BODY}`).digest('hex');
  return sharedSecret('paddle: ts;h1 HMAC-SHA256 of "ts:body" (node:crypto signs; @paddle/paddle-node-sdk 3.10.0 webhooks.isSignatureValid accepts)', secret, {
    timestamp: Number(ts), content_type: 'application/json', body: BODY,
    headers: [['Paddle-Signature', `ts=${ts};h1=${sig}`]],
  });
}

// Runs f with the clock at `secs` (the SDK reads `new Date()`).
async function at(secs, f) {
  const RealDate = globalThis.Date;
  class FixedDate extends RealDate {
    constructor(...a) { super(...(a.length ? a : [secs * 1000])); }
    static now() { return secs * 1000; }
  }
  globalThis.Date = FixedDate;
  try { return await f(); } finally { globalThis.Date = RealDate; }
}

export async function accepts(v, body) {
  try {
    return await at(v.timestamp, () => paddle.webhooks.isSignatureValid(body, v.verify_key, header(v, 'Paddle-Signature')));
  } catch {
    return false;
  }
}
