// OpenAI (Standard Webhooks): `webhook-signature` holds `v1,<base64 HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with the base64 after `whsec_`.
// node:crypto signs (the SDK only verifies); the `openai` package's
// client.webhooks.verifySignature judges. It refuses timestamps more than 300 s
// off, so it is asked at the delivery's own time. No API call is made.
import crypto from 'node:crypto';
import OpenAI from 'openai';
import { standardWebhooks } from '../lib.mjs';

export const vendor = 'openai';
export const library = 'openai 7.60.0';
// The response.completed example of OpenAI's OpenAPI document, compacted.
const BODY = '{"id":"evt_abc123","type":"response.completed","created_at":1719168000,"data":{"id":"resp_abc123"}}';

const client = new OpenAI({ apiKey: 'sk-placeholder' });

export async function make() {
  const name = 'openai: Standard Webhooks v1 HMAC-SHA256 over id.timestamp.body (node:crypto signs; openai 7.60.0 webhooks.verifySignature accepts)';
  return standardWebhooks(name, 'webhook', 'wh_' + crypto.randomBytes(16).toString('hex'), BODY);
}

// Runs f with the clock at `secs` (the SDK reads Date.now()).
async function at(secs, f) {
  const real = Date.now;
  Date.now = () => secs * 1000;
  try { return await f(); } finally { Date.now = real; }
}

export async function accepts(v, body) {
  const headers = Object.fromEntries(v.headers.map(([k, x]) => [k.toLowerCase(), x]));
  try {
    await at(v.timestamp ?? Math.floor(Date.now() / 1000), () => client.webhooks.verifySignature(body, headers, v.verify_key));
    return true;
  } catch {
    return false;
  }
}
