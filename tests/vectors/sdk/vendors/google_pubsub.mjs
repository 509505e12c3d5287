// Google Pub/Sub push: an RS256 OIDC token whose audience is the endpoint,
// signed by node:crypto as Google signs; google-auth-library verifies it.
// The token does not cover the body: "tampered" changes the token's claims.
import crypto from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';
import { keyPair, pem, b64url, jwtHeader, header, tamperToken } from '../lib.mjs';

export const vendor = 'google_pubsub';
export const library = 'google-auth-library 11.3.4';
const ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const URL = 'https://example.com/hooks/pubsub';
const BODY = '{"message":{"attributes":{"key":"value"},"data":"SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==","messageId":"2070443601311540","publishTime":"2021-02-26T19:13:55.749Z"},"subscription":"projects/myproject/subscriptions/mysubscription"}';

async function googleAccepts(token, publicPem, audience) {
  const certs = { [jwtHeader(token).kid]: publicPem };
  try {
    await new OAuth2Client().verifySignedJwtWithCertsAsync(token, certs, audience, ISSUERS);
    return true;
  } catch {
    return false;
  }
}

export async function make() {
  const { publicKey, privateKey } = keyPair('rsa', { modulusLength: 2048 });
  const iat = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'RS256', kid: 'a1b2c3', typ: 'JWT' }));
  const claims = b64url(JSON.stringify({
    aud: URL, azp: '1234567890', email: 'push@myproject.iam.gserviceaccount.com',
    email_verified: true, exp: iat + 3600, iat, iss: 'https://accounts.google.com', sub: '1234567890',
  }));
  const sig = crypto.sign('sha256', Buffer.from(`${head}.${claims}`), privateKey).toString('base64url');
  return {
    name: 'google pub/sub push: RS256 OIDC token (node:crypto signs; google-auth-library 11.3.4 verifySignedJwtWithCertsAsync accepts)',
    verify_key: publicKey.export({ type: 'spki', format: 'pem' }), sign_key: pem(privateKey), url: URL, timestamp: iat,
    content_type: 'application/json', body: BODY, headers: [['Authorization', `Bearer ${head}.${claims}.${sig}`]],
  };
}

export async function accepts(v, body) {
  const token = header(v, 'Authorization').slice('Bearer '.length);
  return googleAccepts(body === v.body ? token : tamperToken(token), v.verify_key, v.url);
}
