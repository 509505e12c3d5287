// Discord interactions: Ed25519 over timestamp + body, hex; the public key as hex.
// node:crypto signs (the SDK only verifies); discord-interactions' verifyKey judges.
import crypto from 'node:crypto';
import { verifyKey } from 'discord-interactions';
import { TS, keyPair, pem, header } from '../lib.mjs';

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
