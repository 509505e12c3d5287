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
export const header = (v, name) => v.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

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
