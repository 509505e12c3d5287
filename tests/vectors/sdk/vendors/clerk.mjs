// Clerk (through Svix): `svix-signature` holds `v1,<base64 HMAC-SHA256 of
// "<svix-id>.<svix-timestamp>.<body>">`, keyed with the base64 after `whsec_`.
// node:crypto signs (the SDK only verifies); @clerk/backend's verifyWebhook
// judges, and it refuses timestamps more than 5 minutes from now.
import crypto from 'node:crypto';
import { verifyWebhook } from '@clerk/backend/webhooks';
import { standardWebhooks } from '../lib.mjs';

export const vendor = 'clerk';
export const library = '@clerk/backend 3.25.0';
// Clerk's docs example of user.created (webhooks overview), compacted.
const BODY = '{"data":{"birthday":"","created_at":1654012591514,"email_addresses":[{"email_address":"example@example.org","id":"idn_29w83yL7CwVlJXylYLxcslromF1","linked_to":[],"object":"email_address","verification":{"status":"verified","strategy":"ticket"}}],"external_accounts":[],"external_id":"567772","first_name":"Example","gender":"","id":"user_29w83sxmDNGwOuEthce5gg56FcC","image_url":"https://img.clerk.com/xxxxxx","last_name":"Example","last_sign_in_at":1654012591514,"object":"user","password_enabled":true,"phone_numbers":[],"primary_email_address_id":"idn_29w83yL7CwVlJXylYLxcslromF1","primary_phone_number_id":null,"primary_web3_wallet_id":null,"private_metadata":{},"profile_image_url":"https://www.gravatar.com/avatar?d=mp","public_metadata":{},"two_factor_enabled":false,"unsafe_metadata":{},"updated_at":1654012591835,"username":null,"web3_wallets":[]},"instance_id":"ins_123","object":"event","timestamp":1654012591835,"type":"user.created"}';

export async function make() {
  const name = 'clerk: Svix v1 HMAC-SHA256 over id.timestamp.body (node:crypto signs; @clerk/backend 3.25.0 verifyWebhook accepts)';
  return standardWebhooks(name, 'svix', 'msg_' + crypto.randomBytes(12).toString('hex'), BODY);
}

export async function accepts(v, body) {
  const request = new Request('https://example.com/hooks/clerk', {
    method: 'POST',
    headers: [['content-type', v.content_type], ...v.headers],
    body,
  });
  try {
    await verifyWebhook(request, { signingSecret: v.verify_key });
    return true;
  } catch {
    return false;
  }
}
