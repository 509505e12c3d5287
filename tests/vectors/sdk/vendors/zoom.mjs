// Zoom: x-zm-signature is `v0=` + hex HMAC-SHA256 of `v0:<x-zm-request-timestamp>:<body>`,
// keyed with the app's secret token. node:crypto signs (Rivet only verifies);
// @zoom/rivet's own receiver (AwsLambdaReceiver, which runs CommonHttpRequest.isEventVerified)
// judges. Rivet re-serializes the parsed body before hashing, so the body is compact JSON.
import { AwsLambdaReceiver } from '@zoom/rivet/meetings';
import { TS, hexSecret, hmac, now, sharedSecret } from '../lib.mjs';

export const vendor = 'zoom';
export const library = '@zoom/rivet 0.4.0';
const BODY = '{"event":"meeting.started","event_ts":1626230691572,"payload":{"account_id":"Wk9PTV9BQ0NPVU5UX0lE","object":{"id":"1234567890","uuid":"Wk9PTV9NRUVUSU5HX0lE","host_id":"Wk9PTV9VU0VSX0lE","topic":"My Meeting","type":8,"start_time":"2021-07-13T21:44:51Z","timezone":"America/Los_Angeles","duration":60}}}';

export async function make() {
  const secret = hexSecret();
  const sig = 'v0=' + hmac('sha256', secret, `v0:${TS}:${BODY}`).digest('hex');
  return sharedSecret('zoom: v0 HMAC-SHA256 over timestamp and body (node:crypto signs; @zoom/rivet 0.4.0 AwsLambdaReceiver accepts)', secret, {
    timestamp: Number(TS), content_type: 'application/json; charset=utf-8', body: BODY,
    headers: [['x-zm-request-timestamp', TS], ['x-zm-signature', sig]],
  });
}

export async function accepts(v, body) {
  const receiver = new AwsLambdaReceiver({ webhooksSecretToken: v.verify_key });
  receiver.init({ eventEmitter: { emit: async () => {} } });
  const debug = console.debug;
  console.debug = () => {};
  try {
    const res = await receiver.start()({ body, headers: Object.fromEntries(v.headers), isBase64Encoded: false }, {});
    return res.statusCode === 200;
  } catch {
    return false;
  } finally {
    console.debug = debug;
  }
}

// The endpoint.url_validation handshake, signed as Zoom signs it (now), and
// the answer Rivet's receiver gives it: plainToken and its HMAC.
export async function handshakes() {
  const secret = hexSecret();
  const ts = now();
  const body = '{"event":"endpoint.url_validation","event_ts":1654503849680,"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}';
  const sig = 'v0=' + hmac('sha256', secret, `v0:${ts}:${body}`).digest('hex');
  return [{
    name: 'zoom: endpoint.url_validation (node:crypto signs; @zoom/rivet 0.4.0 AwsLambdaReceiver answers)',
    handshake: 'endpoint.url_validation', verify_key: secret, sign_key: secret,
    request: { method: 'POST', query: '', body, headers: [['content-type', 'application/json'], ['x-zm-request-timestamp', ts], ['x-zm-signature', sig]] },
  }];
}

export async function answer(h) {
  const receiver = new AwsLambdaReceiver({ webhooksSecretToken: h.verify_key });
  receiver.init({ eventEmitter: { emit: async () => {} } });
  const debug = console.debug;
  console.debug = () => {};
  try {
    const res = await receiver.start()({ body: h.request.body, headers: Object.fromEntries(h.request.headers), isBase64Encoded: false }, {});
    return { status: res.statusCode, body: res.body, headers: Object.entries(res.headers ?? {}) };
  } finally {
    console.debug = debug;
  }
}
