// Razorpay: X-Razorpay-Signature is the hex HMAC-SHA256 of the raw body, keyed
// with the webhook secret. node:crypto signs (the SDK only verifies); the
// razorpay package's validateWebhookSignature judges. No timestamp is signed.
import crypto from 'node:crypto';
import Razorpay from 'razorpay';
import { hmac, header, hexSecret, sharedSecret } from '../lib.mjs';

export const vendor = 'razorpay';
export const library = 'razorpay 2.9.8';
// The payment.captured (Netbanking) example of Razorpay's payments webhook page, compacted.
const BODY = '{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured","contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_DESlfW9H8K9uqM","entity":"payment","amount":100,"currency":"INR","base_amount":100,"status":"captured","order_id":"order_DESlLckIVRkHWj","invoice_id":null,"international":false,"method":"netbanking","amount_refunded":0,"amount_transferred":0,"refund_status":null,"captured":true,"description":null,"card_id":null,"bank":"HDFC","wallet":null,"vpa":null,"email":"gaurav.kumar@example.com","contact":"+919876543210","notes":[],"fee":2,"tax":0,"error_code":null,"error_description":null,"error_source":null,"error_step":null,"error_reason":null,"acquirer_data":{"bank_transaction_id":"0125836177"},"created_at":1567674599}}},"created_at":1567674606}';

export async function make() {
  const secret = hexSecret();
  const sig = hmac('sha256', secret, BODY).digest('hex');
  return sharedSecret('razorpay: hex HMAC-SHA256 of the body (node:crypto signs; razorpay 2.9.8 validateWebhookSignature accepts)', secret, {
    content_type: 'application/json', body: BODY,
    headers: [['X-Razorpay-Signature', sig], ['x-razorpay-event-id', 'evt_' + crypto.randomBytes(7).toString('hex')]],
  });
}

export async function accepts(v, body) {
  try {
    return Razorpay.validateWebhookSignature(body, header(v, 'X-Razorpay-Signature'), v.verify_key);
  } catch {
    return false;
  }
}
