// Adyen standard webhooks: base64 HMAC-SHA256 (hex key) of
// pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success,
// kept in the item's additionalData.hmacSignature. @adyen/api-library's
// HmacValidator signs (calculateHmac) and verifies (validateHMAC) one item.
// Scratch only: hookforge cannot read Adyen's event type (it sits inside an array).
import crypto from 'node:crypto';
import { hmacValidator } from '@adyen/api-library';
import { sharedSecret } from '../lib.mjs';

export const vendor = 'adyen';
export const library = '@adyen/api-library 32.1.0';
const BASE = {"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"qvS6I3Gdi1jx+jSh7IopAgcHtMoxvXlNL7DYQ+j1hd0="},"amount":{"currency":"USD","value":23623},"eventCode":"CAPTURE","eventDate":"2017-01-25T18:08:19+01:00","merchantAccountCode":"MagentoMerchantTest2","merchantReference":"00000001","originalReference":"ORIGINAL_PSP","paymentMethod":"visa","pspReference":"PSP_REFERENCE","reason":"","success":"true"}}]};

export async function make() {
  const key = crypto.randomBytes(32).toString('hex').toUpperCase();
  const doc = structuredClone(BASE);
  const item = doc.notificationItems[0].NotificationRequestItem;
  delete item.additionalData.hmacSignature;
  item.additionalData.hmacSignature = new hmacValidator().calculateHmac(item, key);
  return sharedSecret('adyen: body HMAC of the first item (@adyen/api-library 32.1.0 HmacValidator.calculateHmac signs)', key, {
    content_type: 'application/json', body: JSON.stringify(doc), headers: [],
  });
}

export async function accepts(v, body) {
  try {
    const items = JSON.parse(body).notificationItems;
    return items.every((i) => new hmacValidator().validateHMAC(i.NotificationRequestItem, v.verify_key));
  } catch {
    return false;
  }
}
