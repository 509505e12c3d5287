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

// The name-value pairs AWS signs for a notification, in byte order.
const SIGNED = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'];

const certUrl = (publicPem) => {
  const id = crypto.createHash('sha256').update(publicPem).digest('hex').slice(0, 32);
  return `https://sns.us-west-2.amazonaws.com/SimpleNotificationService-${id}.pem`;
};

export async function make() {
  return [await signed('2', 'sha256'), await signed('1', 'sha1')];
}

async function signed(version, digest) {
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
  const text = SIGNED.filter((k) => k in msg).map((k) => `${k}\n${msg[k]}\n`).join('');
  msg.Signature = crypto.sign(digest, Buffer.from(text), privateKey).toString('base64');
  msg.SigningCertURL = certUrl(verifyKey);
  msg.UnsubscribeURL = 'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96';
  return {
    name: `aws sns: SignatureVersion ${version} ${digest.toUpperCase()}withRSA in the body (node:crypto signs; sns-validator 0.3.5 MessageValidator accepts)`,
    verify_key: verifyKey, sign_key: pem(privateKey),
    content_type: 'text/plain; charset=UTF-8', body: JSON.stringify(msg),
    headers: [['x-amz-sns-message-type', 'Notification'], ['x-amz-sns-message-id', msg.MessageId]],
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
