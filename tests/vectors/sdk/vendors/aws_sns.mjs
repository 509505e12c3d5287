// Amazon SNS, SignatureVersion 2 (SHA256withRSA) and 1 (SHA1withRSA, a
// topic's default): the JSON body carries a base64 RSA signature of
// "Name\nvalue\n" lines and the URL of the signing certificate. AWS's sns-validator only verifies, so node:crypto signs the
// string AWS documents; sns-validator's MessageValidator checks it, with
// https.get answering the certificate URL from the vector's key (the URL is
// not signed, so it is rewritten per key to keep the validator's cache apart).
import crypto from 'node:crypto';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import MessageValidator from 'sns-validator';
import { keyPair, pem } from '../lib.mjs';

export const vendor = 'aws_sns';
export const library = 'sns-validator 0.3.5';

// The name-value pairs AWS signs, in byte order: for a notification, and
// for the SubscriptionConfirmation handshake.
const SIGNED = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'];
const SIGNED_CONFIRMATION = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];

const certUrl = (publicPem) => {
  const id = crypto.createHash('sha256').update(publicPem).digest('hex').slice(0, 32);
  return `https://sns.us-west-2.amazonaws.com/SimpleNotificationService-${id}.pem`;
};

export async function make() {
  return [await signed('2', 'sha256'), await signed('1', 'sha1'), await signed('2', 'sha256', true)];
}

async function signed(version, digest, confirmation = false) {
  const { publicKey, privateKey } = keyPair('rsa', { modulusLength: 2048 });
  const verifyKey = publicKey.export({ type: 'spki', format: 'pem' });
  const msg = {
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
    Subject: 'My First Message',
    Message: 'Hello world!',
    Timestamp: '2012-05-02T00:54:06.655Z',
    SignatureVersion: version,
  };
  if (confirmation) {
    // AWS's example confirmation, its token shortened.
    Object.assign(msg, {
      Type: 'SubscriptionConfirmation', MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
      Token: '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
      Message: 'You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.',
      SubscribeURL: 'https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37',
      Timestamp: '2012-04-26T20:45:04.751Z',
    });
    delete msg.Subject;
  }
  const fields = confirmation ? SIGNED_CONFIRMATION : SIGNED;
  const text = fields.filter((k) => k in msg).map((k) => `${k}\n${msg[k]}\n`).join('');
  msg.Signature = crypto.sign(digest, Buffer.from(text), privateKey).toString('base64');
  msg.SigningCertURL = certUrl(verifyKey);
  msg.UnsubscribeURL = 'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96';
  return {
    name: `aws sns: ${confirmation ? 'SubscriptionConfirmation' : 'notification'}, SignatureVersion ${version} ${digest.toUpperCase()}withRSA in the body (node:crypto signs; sns-validator 0.3.5 MessageValidator accepts)`,
    verify_key: verifyKey, sign_key: pem(privateKey),
    content_type: 'text/plain; charset=UTF-8', body: JSON.stringify(msg),
    headers: [['x-amz-sns-message-type', msg.Type], ['x-amz-sns-message-id', msg.MessageId]],
  };
}

export async function accepts(v, body) {
  let msg;
  try {
    msg = JSON.parse(body);
  } catch {
    return false;
  }
  msg.SigningCertURL = certUrl(v.verify_key);
  const get = https.get;
  https.get = (url, cb) => {
    const res = new PassThrough();
    res.statusCode = url === msg.SigningCertURL ? 200 : 404;
    setImmediate(() => { cb(res); res.end(v.verify_key); });
    return { on: () => {} };
  };
  try {
    return await new Promise((resolve) => new MessageValidator().validate(msg, (err) => resolve(!err)));
  } finally {
    https.get = get;
  }
}
