// Discord interactions: Ed25519 over timestamp + body, hex; the public key as hex.
// node:crypto signs (the SDK only verifies); discord-interactions' verifyKey judges.
import crypto from 'node:crypto';
import { verifyKey, verifyKeyMiddleware } from 'discord-interactions';
import { TS, keyPair, pem, header, now } from '../lib.mjs';

export const vendor = 'discord';
export const library = 'discord-interactions 4.4.0';
const BODY = '{"type":1,"id":"1190000000000000000","application_id":"1180000000000000000","token":"aW50ZXJhY3Rpb246MTE5","version":1}';

export async function make() {
  const { publicKey, privateKey } = keyPair('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex');
  const sig = crypto.sign(null, Buffer.from(TS + BODY), privateKey).toString('hex');
  return {
    name: 'discord: Ed25519 (node:crypto signs; discord-interactions 4.4.0 verifyKey accepts)',
    verify_key: raw, sign_key: pem(privateKey), timestamp: Number(TS),
    content_type: 'application/json', body: BODY,
    headers: [['X-Signature-Ed25519', sig], ['X-Signature-Timestamp', TS]],
  };
}

export async function accepts(v, body) {
  return verifyKey(body, header(v, 'X-Signature-Ed25519'), header(v, 'X-Signature-Timestamp'), v.verify_key);
}

// The interactions PING, signed as Discord signs it (now), and the answer
// discord-interactions' Express middleware gives it (a PONG) before any app
// code runs.
export async function handshakes() {
  const { publicKey, privateKey } = keyPair('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex');
  const ts = now();
  const sig = crypto.sign(null, Buffer.from(ts + BODY), privateKey).toString('hex');
  return [{
    name: 'discord: interactions PING (node:crypto signs; discord-interactions 4.4.0 verifyKeyMiddleware answers)',
    handshake: 'interaction_ping', verify_key: raw, sign_key: pem(privateKey),
    request: { method: 'POST', query: '', body: BODY, headers: [['content-type', 'application/json'], ['X-Signature-Ed25519', sig], ['X-Signature-Timestamp', ts]] },
  }];
}

export async function answer(h) {
  const headers = Object.fromEntries(h.request.headers.map(([k, v]) => [k.toLowerCase(), v]));
  const req = { header: (n) => headers[n.toLowerCase()], body: Buffer.from(h.request.body) };
  return new Promise((resolve) => {
    const out = { headers: [] };
    const res = {
      statusCode: 200,
      setHeader: (k, v) => out.headers.push([k, v]),
      end: (body) => resolve({ status: res.statusCode, body: body ?? '', headers: out.headers }),
    };
    // The app's handler: reached only by what the middleware does not answer.
    const next = () => resolve({ status: 0, body: 'passed on to the app', headers: [] });
    verifyKeyMiddleware(h.verify_key)(req, res, next);
  });
}
