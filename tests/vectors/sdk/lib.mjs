// Helpers shared by the per-vendor modules in ./vendors.
import crypto from 'node:crypto';

export const TS = '1733300000';
// Unix seconds now, for requests checked at once (handshakes).
export const now = () => String(Math.floor(Date.now() / 1000));
export const keyPair = (type, opts) => crypto.generateKeyPairSync(type, opts);
export const pem = (k) => k.export({ type: 'pkcs8', format: 'pem' });
export const formParams = (body) => Object.fromEntries(new URLSearchParams(body));
export const b64url = (x) => Buffer.from(x).toString('base64url');
export const jwtHeader = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));
export const hmac = (hash, key, data) => crypto.createHmac(hash, key).update(data);
// A new shared secret: 16 random bytes, hex.
export const hexSecret = () => crypto.randomBytes(16).toString('hex');
export const header = (v, name) => v.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

// A delivery signed with a shared secret (HMAC: the same key signs and
// verifies), as sdk.mjs writes it. `fields`, in the order written: url and
// timestamp where the vendor signs them, then content_type, body and headers.
export const sharedSecret = (name, secret, fields) => ({ name, verify_key: secret, sign_key: secret, ...fields });

// A delivery signed now, as Standard Webhooks (and Svix, with `prefix` svix
// for its header names) sign: `v1,` + base64 HMAC-SHA256 of
// "<id>.<timestamp>.<body>", keyed with the base64 after a new `whsec_` secret.
export function standardWebhooks(name, prefix, id, body) {
  const secret = 'whsec_' + crypto.randomBytes(24).toString('base64');
  const ts = now();
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const sig = hmac('sha256', key, `${id}.${ts}.${body}`).digest('base64');
  return sharedSecret(name, secret, {
    timestamp: Number(ts), content_type: 'application/json', body,
    headers: [[`${prefix}-id`, id], [`${prefix}-timestamp`, ts], [`${prefix}-signature`, `v1,${sig}`]],
  });
}

// One byte of the body changed (a digit, or else the last character).
export function tamper(body) {
  const i = body.search(/[0-9]/);
  const at = i >= 0 ? i : body.length - 1;
  const c = body[at] === '1' ? '2' : '1';
  return body.slice(0, at) + c + body.slice(at + 1);
}

// The token with one character of its claims changed.
export function tamperToken(token) {
  const [h, c, s] = token.split('.');
  const i = c.length >> 1;
  return `${h}.${c.slice(0, i)}${c[i] === 'A' ? 'B' : 'A'}${c.slice(i + 1)}.${s}`;
}
