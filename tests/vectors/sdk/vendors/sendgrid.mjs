// SendGrid signed event webhook: ECDSA P-256 over timestamp + body, DER
// signature in base64; the public key as SendGrid shows it (base64 DER SPKI).
// node:crypto signs (the SDK only verifies); @sendgrid/eventwebhook judges.
import crypto from 'node:crypto';
import sendgrid from '@sendgrid/eventwebhook';
import { TS, keyPair, pem, header } from '../lib.mjs';

const { EventWebhook } = sendgrid;
export const vendor = 'sendgrid';
export const library = '@sendgrid/eventwebhook 8.0.0';
const BODY = '[{"email":"example@test.com","timestamp":1733300000,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":"cat facts","sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}]';
const SIG = 'X-Twilio-Email-Event-Webhook-Signature';
const STAMP = 'X-Twilio-Email-Event-Webhook-Timestamp';

export async function make() {
  const { publicKey, privateKey } = keyPair('ec', { namedCurve: 'prime256v1' });
  const b64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const sig = crypto.sign('sha256', Buffer.from(TS + BODY), privateKey).toString('base64');
  return {
    name: 'sendgrid: ECDSA P-256 (node:crypto signs; @sendgrid/eventwebhook 8.0.0 verifySignature accepts)',
    verify_key: b64, sign_key: pem(privateKey), timestamp: Number(TS),
    content_type: 'application/json', body: BODY,
    headers: [[SIG, sig], [STAMP, TS]],
  };
}

export async function accepts(v, body) {
  const ew = new EventWebhook();
  return ew.verifySignature(ew.convertPublicKeyToECDSA(v.verify_key), body, header(v, SIG), header(v, STAMP));
}
