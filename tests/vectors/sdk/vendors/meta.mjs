// Meta (Graph API / WhatsApp Cloud API): X-Hub-Signature-256 is `sha256=` + hex
// HMAC-SHA256 of the raw body keyed with the app secret. The official WhatsApp
// Node.js SDK signs with its generateXHub256Sig helper, and its webhook listener
// accepts a request when that helper's value equals the header minus `sha256=`;
// accepts() runs the same comparison with the same helper.
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { header, hexSecret, sharedSecret } from '../lib.mjs';

const require = createRequire(import.meta.url);
// The package exports only its index; the helper lives beside it in build/.
const build = path.dirname(require.resolve('whatsapp'));
const { generateXHub256Sig } = require(path.join(build, 'utils.js'));
const WebhooksAPI = require(path.join(build, 'api', 'webhooks.js'));

export const vendor = 'meta';
export const library = 'whatsapp 0.0.5-Alpha';
const BODY = '{"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}';

export async function make() {
  const secret = hexSecret();
  return sharedSecret('meta: sha256= hex HMAC-SHA256 of the body (whatsapp 0.0.5-Alpha generateXHub256Sig signs)', secret, {
    content_type: 'application/json', body: BODY,
    headers: [['X-Hub-Signature-256', 'sha256=' + generateXHub256Sig(BODY, secret)]],
  });
}

export async function accepts(v, body) {
  const sig = header(v, 'X-Hub-Signature-256');
  if (!sig) return false;
  return generateXHub256Sig(body, v.verify_key) == sig.toString().replace('sha256=', '');
}

// The verification GET Meta sends when the webhook is configured, and the
// answer of the SDK's own webhook listener (its request handler, called in
// process: http.createServer is stood in for, so nothing listens).
export async function handshakes() {
  const token = crypto.randomBytes(8).toString('hex');
  return [{
    name: 'meta: verification GET (whatsapp 0.0.5-Alpha WebhooksAPI listener answers)',
    handshake: 'verification', verify_key: hexSecret(), token,
    request: { method: 'GET', query: `hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${token}`, headers: [], body: '' },
  }];
}

export async function answer(h) {
  const http = require('node:http');
  const create = http.createServer;
  let handler;
  http.createServer = (cb) => {
    handler = cb;
    return { listen: () => ({ on: () => {} }), on: () => {} };
  };
  const log = console.log;
  console.log = () => {};
  try {
    const api = new WebhooksAPI({ LISTENER_PORT: 0, WEBHOOK_ENDPOINT: 'webhook', WEBHOOK_VERIFICATION_TOKEN: h.token }, null, 'hookforge-sdk-vectors');
    api.start(() => {});
    return await new Promise((resolve) => {
      let status = 200;
      const chunks = [];
      const res = {
        setHeader: () => {}, writeHead: (s) => { status = s; },
        write: (c) => chunks.push(String(c)),
        end: (c) => { if (c) chunks.push(String(c)); resolve({ status, body: chunks.join(''), headers: [] }); },
      };
      const req = { method: h.request.method, url: `/webhook?${h.request.query}`, headers: { host: 'localhost' }, on: () => {} };
      handler(req, res);
    });
  } finally {
    http.createServer = create;
    console.log = log;
  }
}
