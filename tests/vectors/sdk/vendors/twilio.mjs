// Twilio: HMAC-SHA1 over the URL and the sorted form fields, base64, signed
// and verified by the SDK.
import twilio from 'twilio';
import { formParams, header, hexSecret, sharedSecret } from '../lib.mjs';

export const vendor = 'twilio';
export const library = 'twilio 6.2.0';
const URL = 'https://example.com/hooks/twilio?tenant=acme';
const BODY = 'AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01&Body=Hello+%C3%BCml%C3%A4ut+%26+more&From=%2B15005550006&MessageSid=SM00000000000000000000000000000000&To=%2B15005550001';

export async function make() {
  const token = hexSecret();
  const sig = twilio.getExpectedTwilioSignature(token, URL, formParams(BODY));
  return sharedSecret('twilio: HMAC-SHA1 of URL + sorted form fields (twilio 6.2.0 getExpectedTwilioSignature signs)', token, {
    url: URL, content_type: 'application/x-www-form-urlencoded', body: BODY,
    headers: [['X-Twilio-Signature', sig]],
  });
}

export async function accepts(v, body) {
  return twilio.validateRequest(v.verify_key, header(v, 'X-Twilio-Signature'), v.url, formParams(body));
}
