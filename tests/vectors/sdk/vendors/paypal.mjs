// PayPal REST webhooks: base64 SHA256withRSA over
// "<PAYPAL-TRANSMISSION-ID>|<PAYPAL-TRANSMISSION-TIME>|<webhook id>|<CRC-32 of
// the raw body, unsigned decimal>", checked with the certificate PayPal serves
// at PAYPAL-CERT-URL. The webhook id is not in the delivery: the receiver has
// it (hookforge's `webhook_id` setting), so each vector carries it as
// `settings: {webhook_id}`. paypal-rest-sdk 1.6.9 is the last release of
// PayPal's Node SDK that verifies offline (from 1.7.0 `verify` posts the
// delivery to PayPal's verify-webhook-signature API); it only verifies, so
// node:crypto signs (with a CRC-32 of its own, not the SDK's buffer-crc32) and
// its notification.webhookEvent.verify judges.
//
// What is replaced: that verify downloads the certificate with
// `https.get(headers['PAYPAL-CERT-URL'], cb)` and checks nothing about it but
// the signature (no host, chain or date check in 1.6.9). For the duration of
// one verify call, https.get is swapped for a stand-in for PayPal's
// certificate hosts: for an https URL on api.paypal.com or
// api.sandbox.paypal.com (the hosts hookforge's manifest allows) it answers
// 200 with the vector's public key as the PEM body, for any other URL 404.
// No network is touched. This does not weaken the proof: only the transport
// of the key is replaced; the SDK's own code still builds the signed string
// (crc32.unsigned of the body it is given), maps PAYPAL-AUTH-ALGO to Node's
// algorithm and checks the signature with that key, so a wrong id, time,
// webhook id, CRC or signature is refused, and a body with one byte changed
// must be. (PayPal serves an X.509 certificate; the SDK hands the PEM to
// crypto.verify, which takes a certificate or a public key alike, so the
// vectors carry the public key, as aws_sns.mjs does.)
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import paypal from 'paypal-rest-sdk';
import { TS, keyPair, pem, header } from '../lib.mjs';

export const vendor = 'paypal';
export const library = 'paypal-rest-sdk 1.6.9';

const HOSTS = ['api.paypal.com', 'api.sandbox.paypal.com'];
const samples = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../../vendors/paypal/samples');
const sample = (p) => fs.readFileSync(path.join(samples, p), 'utf8');

// CRC-32 (IEEE 802.3, as zlib), unsigned.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// The certificate URL PayPal would name, per key (as the real ones are).
const certUrl = (publicPem) =>
  `https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-${crypto.createHash('sha256').update(publicPem).digest('hex').slice(0, 8)}`;

export async function make() {
  // The bodies of the deliveries in PayPal's PHP SDK webhook-validation
  // sample, byte for byte, each with that sample's webhook id and
  // transmission id; the 2019 body's CRC-32 is above 2^31 (unsigned
  // decimal). The third is the 2016 body with non-ASCII in `custom` (the
  // CRC is over its UTF-8 bytes).
  const sale = sample('PAYMENT.SALE.COMPLETED/php-sdk-validate-sample-2016.json');
  const created = sample('PAYMENTS.PAYMENT.CREATED/php-sdk-validate-sample.json');
  const accented = sale.replace('"custom":""', '"custom":"Café Zoë — 21,00 €"');
  if (accented === sale) throw new Error('paypal: the 2016 sample has no empty `custom`');
  return [
    signed('PAYMENT.SALE.COMPLETED (PHP SDK sample, 2016)', sale, '9XL90610J3647323C', 'd938e770-8046-11e6-8103-6b62a8a99ac4'),
    signed('PAYMENTS.PAYMENT.CREATED (PHP SDK sample, 2019; CRC-32 >= 2^31)', created, '0FV983392A0531201', 'afa30d40-ca4a-11e9-ab68-7d4e2605c70c'),
    signed('PAYMENT.SALE.COMPLETED with non-ASCII in the body', accented, '9XL90610J3647323C', '5b1e1f2a-b2a1-11ef-9c1d-0242ac120002'),
  ];
}

function signed(what, body, webhookId, transmissionId) {
  const { publicKey, privateKey } = keyPair('rsa', { modulusLength: 2048 });
  const verifyKey = publicKey.export({ type: 'spki', format: 'pem' });
  const time = new Date(Number(TS) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = `${transmissionId}|${time}|${webhookId}|${crc32(Buffer.from(body, 'utf8'))}`;
  const sig = crypto.sign('sha256', Buffer.from(text), privateKey).toString('base64');
  return {
    name: `paypal: ${what}: SHA256withRSA over transmission id|time|webhook id|CRC-32 (node:crypto signs; paypal-rest-sdk 1.6.9 notification.webhookEvent.verify accepts)`,
    verify_key: verifyKey, sign_key: pem(privateKey),
    settings: { webhook_id: webhookId },
    timestamp: Number(TS), content_type: 'application/json', body,
    headers: [
      ['Content-Type', 'application/json'],
      ['User-Agent', 'PayPal/AUHD-208.0-25552773'],
      ['Paypal-Auth-Algo', 'SHA256withRSA'],
      ['Paypal-Cert-Url', certUrl(verifyKey)],
      ['Paypal-Auth-Version', 'v2'],
      ['Paypal-Transmission-Sig', sig],
      ['Paypal-Transmission-Time', time],
      ['Paypal-Transmission-Id', transmissionId],
    ],
  };
}

// The key, where PayPal's certificate hosts would serve it.
function served(url, key) {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && HOSTS.includes(u.hostname) ? key : null;
  } catch {
    return null;
  }
}

export async function accepts(v, body) {
  const webhookId = v.settings?.webhook_id;
  if (typeof webhookId !== 'string' || !header(v, 'paypal-cert-url')) return false;
  // The delivery's headers as a receiver gets them; the SDK upper-cases the
  // names itself (and rewrites PAYPAL-AUTH-ALGO in place: a fresh object).
  const headers = Object.fromEntries(v.headers);
  const get = https.get;
  https.get = (url, cb) => {
    const res = new PassThrough();
    const key = served(String(url), v.verify_key);
    res.statusCode = key ? 200 : 404;
    setImmediate(() => { cb(res); res.end(key ?? 'Not Found'); });
    return { on: () => {} };
  };
  try {
    return await new Promise((resolve) =>
      paypal.notification.webhookEvent.verify(headers, body, webhookId, (err, ok) => resolve(!err && ok === true)));
  } finally {
    https.get = get;
  }
}
