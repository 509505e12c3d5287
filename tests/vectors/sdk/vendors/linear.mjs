// Linear: hex HMAC-SHA256 of the raw body in Linear-Signature, keyed with the
// webhook's signing secret. node:crypto signs (the SDK only verifies);
// @linear/sdk's LinearWebhookClient.verify judges. It also refuses a body whose
// signed `webhookTimestamp` (Unix ms) is more than a minute from its clock, so
// it is run with its clock at the body's own `webhookTimestamp`.
import crypto from 'node:crypto';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { TS, hmac, header, sharedSecret } from '../lib.mjs';

export const vendor = 'linear';
export const library = '@linear/sdk 98.0.0';
const BODY = `{"action":"create","type":"Comment","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","createdAt":"2020-01-23T12:53:18.084Z","updatedAt":"2020-01-23T12:53:18.084Z","archivedAt":null,"body":"Indeed, I think this is definitely an improvement over the previous version.","edited":false,"issueId":"539068e2-ae88-4d09-bd75-22eb4a59612f","userId":"aacdca22-6266-4c0a-ab3c-8fa70a26765c"},"url":"https://linear.app/issue/LIN-1778/foo-bar#comment-77217de3-fb52-4dad-bb9a-b356beb93de8","createdAt":"2020-01-23T12:53:18.084Z","organizationId":"dc844923-f9a4-40a3-825c-dea7747e57d6","webhookId":"000042e3-d123-4980-b49f-8e140eef9329","webhookTimestamp":${TS}000}`;

export async function make() {
  const secret = 'lin_wh_' + crypto.randomBytes(16).toString('hex');
  const sig = hmac('sha256', secret, BODY).digest('hex');
  return sharedSecret('linear: hex HMAC-SHA256 of the body (node:crypto signs; @linear/sdk 98.0.0 LinearWebhookClient.verify accepts)', secret, {
    timestamp: Number(TS), content_type: 'application/json; charset=utf-8', body: BODY,
    headers: [['Linear-Signature', sig], ['Linear-Event', 'Comment'], ['Linear-Delivery', '234d1a4e-b617-4388-90fe-adc3633d6b72']],
  });
}

export async function accepts(v, body) {
  const realNow = Date.now;
  // The body's own time (checked-in vectors are old; hookforge signs the
  // same body later).
  const at = Number(/"webhookTimestamp":(\d+)/.exec(v.body)?.[1] ?? Number(TS) * 1000);
  Date.now = () => at;
  try {
    return new LinearWebhookClient(v.verify_key).verify(Buffer.from(body), header(v, 'Linear-Signature'));
  } catch {
    return false;
  } finally {
    Date.now = realNow;
  }
}
