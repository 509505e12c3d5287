// HubSpot v3: base64 HMAC-SHA256 of method + URL + body + timestamp (ms),
// signed and verified by the SDK (Signature.getSignature / isValid).
import hubspot from '@hubspot/api-client';
import { header, hexSecret, sharedSecret } from '../lib.mjs';

export const vendor = 'hubspot';
export const library = '@hubspot/api-client 14.0.1';
const URL = 'https://example.com/hooks/hubspot?portal=62515';
const BODY = '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":1733300000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW"}]';

export async function make() {
  const ms = Date.now();
  const secret = hexSecret();
  const sig = hubspot.Signature.getSignature('POST', 'v3', {
    clientSecret: secret, requestBody: BODY, url: URL, timestamp: ms,
  });
  return sharedSecret('hubspot: v3 HMAC-SHA256 with a millisecond timestamp (@hubspot/api-client 14.0.1 Signature.getSignature signs)', secret, {
    url: URL, timestamp: Math.floor(ms / 1000), content_type: 'application/json', body: BODY,
    headers: [['X-HubSpot-Signature-v3', sig], ['X-HubSpot-Request-Timestamp', String(ms)]],
  });
}

export async function accepts(v, body) {
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
