// Meta (Graph API / WhatsApp Cloud API): X-Hub-Signature-256 is `sha256=` + hex
// HMAC-SHA256 of the raw body keyed with the app secret. The official WhatsApp
// Node.js SDK signs with its generateXHub256Sig helper, and its webhook listener
// accepts a request when that helper's value equals the header minus `sha256=`;
// accepts() runs the same comparison with the same helper.
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { header } from '../lib.mjs';

const require = createRequire(import.meta.url);
// The package exports only its index; the helper lives beside it in build/.
const { generateXHub256Sig } = require(path.join(path.dirname(require.resolve('whatsapp')), 'utils.js'));

export const vendor = 'meta';
export const library = 'whatsapp 0.0.5-Alpha';
const BODY = '{"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}';

export async function make() {
  const secret = crypto.randomBytes(16).toString('hex');
  return {
    name: 'meta: sha256= hex HMAC-SHA256 of the body (whatsapp 0.0.5-Alpha generateXHub256Sig signs)',
    verify_key: secret, sign_key: secret,
    content_type: 'application/json', body: BODY,
    headers: [['X-Hub-Signature-256', 'sha256=' + generateXHub256Sig(BODY, secret)]],
  };
}

export async function accepts(v, body) {
  const sig = header(v, 'X-Hub-Signature-256');
  if (!sig) return false;
  return generateXHub256Sig(body, v.verify_key) == sig.toString().replace('sha256=', '');
}
