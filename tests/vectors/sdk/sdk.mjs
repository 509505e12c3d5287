// Webhook signatures made and checked by the vendors' official libraries
// (pinned in package.json), for hookforge's auth families:
//
//   node sdk.mjs make > ../sdk-signed.json
//       deliveries signed as each vendor signs them: Twilio's by its SDK
//       (getExpectedTwilioSignature); Discord's and SendGrid's by
//       node:crypto (their SDKs only verify), each checked with the SDK's
//       verifier before it is written. Keys are generated here.
//   node sdk.mjs verify FILE
//       deliveries signed by hookforge (same format): each must pass the
//       SDK's verifier, and fail it with one body byte changed. Prints one
//       line per check; exits 1 if any check failed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { verifyKey } from 'discord-interactions';
import sendgrid from '@sendgrid/eventwebhook';
import twilio from 'twilio';
import { OAuth2Client } from 'google-auth-library';
import hubspot from '@hubspot/api-client';

const { EventWebhook } = sendgrid;

const DISCORD_AUTH = {
  scheme: 'signature', algorithm: 'ed25519', key: 'hex',
  header: 'X-Signature-Ed25519', encoding: 'hex',
  signed: '{timestamp}{body}', timestamp_header: 'X-Signature-Timestamp',
};
const SENDGRID_AUTH = {
  scheme: 'signature', algorithm: 'ecdsa-p256-sha256', key: 'base64',
  header: 'X-Twilio-Email-Event-Webhook-Signature', encoding: 'base64',
  signed: '{timestamp}{body}', timestamp_header: 'X-Twilio-Email-Event-Webhook-Timestamp',
};
const TWILIO_AUTH = {
  scheme: 'signature', header: 'X-Twilio-Signature', signed: '{url}{form_sorted}',
  hash: 'sha1', encoding: 'base64',
};

const PUBSUB_AUTH = {
  scheme: 'jwt', header: 'Authorization', prefix: 'Bearer ', algorithms: ['RS256'],
  issuers: ['https://accounts.google.com', 'accounts.google.com'], audience: '{url}',
};
const PUBSUB_URL = 'https://example.com/hooks/pubsub';
const PUBSUB_BODY = '{"message":{"attributes":{"key":"value"},"data":"SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==","messageId":"2070443601311540","publishTime":"2021-02-26T19:13:55.749Z"},"subscription":"projects/myproject/subscriptions/mysubscription"}';

const HUBSPOT_AUTH = {
  scheme: 'signature', header: 'X-HubSpot-Signature-v3', signed: 'POST{url}{body}{timestamp}',
  hash: 'sha256', encoding: 'base64', timestamp_header: 'X-HubSpot-Request-Timestamp',
  timestamp_unit: 'milliseconds', tolerance_secs: 300,
};
const HUBSPOT_URL = 'https://example.com/hooks/hubspot?portal=62515';
const HUBSPOT_BODY = '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":1733300000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW"}]';

const TS = '1733300000';
const DISCORD_BODY = '{"type":1,"id":"1190000000000000000","application_id":"1180000000000000000","token":"aW50ZXJhY3Rpb246MTE5","version":1}';
const SENDGRID_BODY = '[{"email":"example@test.com","timestamp":1733300000,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":"cat facts","sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}]';
const TWILIO_URL = 'https://example.com/hooks/twilio?tenant=acme';
const TWILIO_BODY = 'AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01&Body=Hello+%C3%BCml%C3%A4ut+%26+more&From=%2B15005550006&MessageSid=SM00000000000000000000000000000000&To=%2B15005550001';

const keyPair = (type, opts) => crypto.generateKeyPairSync(type, opts);
const pem = (k) => k.export({ type: 'pkcs8', format: 'pem' });
const formParams = (body) => Object.fromEntries(new URLSearchParams(body));
const b64url = (x) => Buffer.from(x).toString('base64url');
const jwtHeader = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));

// Google's library checks a token against a kid → PEM map, its audience and issuers.
async function googleAccepts(token, publicPem, audience) {
  const certs = { [jwtHeader(token).kid]: publicPem };
  try {
    await new OAuth2Client().verifySignedJwtWithCertsAsync(token, certs, audience, PUBSUB_AUTH.issuers);
    return true;
  } catch {
    return false;
  }
}

async function make() {
  const out = [];
  // Discord: Ed25519 over timestamp + body, hex; the public key as hex.
  {
    const { publicKey, privateKey } = keyPair('ed25519');
    const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex');
    const sig = crypto.sign(null, Buffer.from(TS + DISCORD_BODY), privateKey).toString('hex');
    if (!(await verifyKey(DISCORD_BODY, sig, TS, raw))) throw new Error('discord-interactions refused its own vector');
    out.push({
      name: 'discord: Ed25519 (node:crypto signs; discord-interactions 4.4.0 verifyKey accepts)',
      auth: DISCORD_AUTH, verify_key: raw, sign_key: pem(privateKey), timestamp: Number(TS),
      content_type: 'application/json', body: DISCORD_BODY,
      headers: [['X-Signature-Ed25519', sig], ['X-Signature-Timestamp', TS]],
    });
  }
  // SendGrid: ECDSA P-256 over timestamp + body, DER signature in base64;
  // the public key as SendGrid shows it (base64 of the DER SubjectPublicKeyInfo).
  {
    const { publicKey, privateKey } = keyPair('ec', { namedCurve: 'prime256v1' });
    const b64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const sig = crypto.sign('sha256', Buffer.from(TS + SENDGRID_BODY), privateKey).toString('base64');
    const ew = new EventWebhook();
    if (!ew.verifySignature(ew.convertPublicKeyToECDSA(b64), SENDGRID_BODY, sig, TS)) throw new Error('@sendgrid/eventwebhook refused its own vector');
    out.push({
      name: 'sendgrid: ECDSA P-256 (node:crypto signs; @sendgrid/eventwebhook 8.0.0 verifySignature accepts)',
      auth: SENDGRID_AUTH, verify_key: b64, sign_key: pem(privateKey), timestamp: Number(TS),
      content_type: 'application/json', body: SENDGRID_BODY,
      headers: [['X-Twilio-Email-Event-Webhook-Signature', sig], ['X-Twilio-Email-Event-Webhook-Timestamp', TS]],
    });
  }
  // Twilio: HMAC-SHA1 over the URL and the sorted form fields, by the SDK.
  {
    const token = crypto.randomBytes(16).toString('hex');
    const sig = twilio.getExpectedTwilioSignature(token, TWILIO_URL, formParams(TWILIO_BODY));
    out.push({
      name: 'twilio: HMAC-SHA1 of URL + sorted form fields (twilio 6.2.0 getExpectedTwilioSignature signs)',
      auth: TWILIO_AUTH, verify_key: token, sign_key: token, url: TWILIO_URL,
      content_type: 'application/x-www-form-urlencoded', body: TWILIO_BODY,
      headers: [['X-Twilio-Signature', sig]],
    });
  }
  // Google Pub/Sub push: an RS256 OIDC token whose audience is the endpoint,
  // signed by node:crypto as Google signs; google-auth-library verifies it.
  {
    const { publicKey, privateKey } = keyPair('rsa', { modulusLength: 2048 });
    const iat = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ alg: 'RS256', kid: 'a1b2c3', typ: 'JWT' }));
    const claims = b64url(JSON.stringify({
      aud: PUBSUB_URL, azp: '1234567890', email: 'push@myproject.iam.gserviceaccount.com',
      email_verified: true, exp: iat + 3600, iat, iss: 'https://accounts.google.com', sub: '1234567890',
    }));
    const sig = crypto.sign('sha256', Buffer.from(`${head}.${claims}`), privateKey).toString('base64url');
    const token = `${head}.${claims}.${sig}`;
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
    if (!(await googleAccepts(token, publicPem, PUBSUB_URL))) throw new Error('google-auth-library refused its own vector');
    out.push({
      name: 'google pub/sub push: RS256 OIDC token (node:crypto signs; google-auth-library 11.3.4 verifySignedJwtWithCertsAsync accepts)',
      auth: PUBSUB_AUTH, verify_key: publicPem, sign_key: pem(privateKey), url: PUBSUB_URL, timestamp: iat,
      content_type: 'application/json', body: PUBSUB_BODY, headers: [['Authorization', `Bearer ${token}`]],
    });
  }
  // HubSpot v3: base64 HMAC-SHA256 of method + URL + body + timestamp (ms),
  // by the SDK (Signature.getSignature).
  {
    const secret = crypto.randomBytes(16).toString('hex');
    const ms = Date.now();
    const sig = hubspot.Signature.getSignature('POST', 'v3', {
      clientSecret: secret, requestBody: HUBSPOT_BODY, url: HUBSPOT_URL, timestamp: ms,
    });
    out.push({
      name: 'hubspot: v3 HMAC-SHA256 with a millisecond timestamp (@hubspot/api-client 14.0.1 Signature.getSignature signs)',
      auth: HUBSPOT_AUTH, verify_key: secret, sign_key: secret, url: HUBSPOT_URL, timestamp: Math.floor(ms / 1000),
      content_type: 'application/json', body: HUBSPOT_BODY,
      headers: [['X-HubSpot-Signature-v3', sig], ['X-HubSpot-Request-Timestamp', String(ms)]],
    });
  }
  process.stdout.write(JSON.stringify({
    note: 'Written by tests/vectors/sdk/sdk.mjs make (scripts/sdk-vectors --regenerate); keys are throwaway test keys.',
    vectors: out,
  }, null, 2) + '\n');
}

const header = (v, name) => v.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

async function sdkAccepts(v, body) {
  if (v.auth.scheme === 'jwt') {
    // The token does not cover the body: tampering is a changed token.
    const token = header(v, 'Authorization').slice('Bearer '.length);
    return googleAccepts(body === v.body ? token : tamperToken(token), v.verify_key, v.url);
  }
  if (v.auth.algorithm === 'ed25519') {
    return verifyKey(body, header(v, 'X-Signature-Ed25519'), header(v, 'X-Signature-Timestamp'), v.verify_key);
  }
  if (v.auth.algorithm === 'ecdsa-p256-sha256') {
    const ew = new EventWebhook();
    return ew.verifySignature(ew.convertPublicKeyToECDSA(v.verify_key), body,
      header(v, 'X-Twilio-Email-Event-Webhook-Signature'), header(v, 'X-Twilio-Email-Event-Webhook-Timestamp'));
  }
  if (v.auth.header === 'X-HubSpot-Signature-v3') {
    try {
      return hubspot.Signature.isValid({
        signatureVersion: 'v3', method: 'POST', signature: header(v, 'X-HubSpot-Signature-v3'),
        clientSecret: v.verify_key, requestBody: body, url: v.url,
        timestamp: Number(header(v, 'X-HubSpot-Request-Timestamp')),
      });
    } catch {
      return false;
    }
  }
  return twilio.validateRequest(v.verify_key, header(v, 'X-Twilio-Signature'), v.url, formParams(body));
}

// One byte of the body changed (a digit, or else the last character).
function tamper(body) {
  const i = body.search(/[0-9]/);
  const at = i >= 0 ? i : body.length - 1;
  const c = body[at] === '1' ? '2' : '1';
  return body.slice(0, at) + c + body.slice(at + 1);
}

// The token with one character of its claims changed.
function tamperToken(token) {
  const [h, c, s] = token.split('.');
  const i = c.length >> 1;
  return `${h}.${c.slice(0, i)}${c[i] === 'A' ? 'B' : 'A'}${c.slice(i + 1)}.${s}`;
}

async function verify(file) {
  const { vectors } = JSON.parse(fs.readFileSync(file, 'utf8'));
  let failed = 0;
  for (const v of vectors) {
    for (const [what, body, want] of [['as signed', v.body, true], ['one byte changed', tamper(v.body), false]]) {
      const got = Boolean(await sdkAccepts(v, body));
      const ok = got === want;
      failed += ok ? 0 : 1;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${v.name}: ${what}: the SDK ${got ? 'accepts' : 'refuses'} it`);
    }
  }
  console.log(`${vectors.length * 2 - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

const [mode, file] = process.argv.slice(2);
if (mode === 'make') await make();
else if (mode === 'verify' && file) await verify(file);
else {
  console.error('usage: node sdk.mjs make | verify FILE');
  process.exit(2);
}
