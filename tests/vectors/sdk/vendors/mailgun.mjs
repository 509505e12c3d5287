// Mailgun: the body's `signature.signature` is the hex HMAC-SHA256 of
// `signature.timestamp` followed by `signature.token`, keyed with the
// webhook signing key; `event-data` is not covered. node:crypto signs (the
// npm library, mailgun.js, has no verifier); the official Python SDK's
// SecurityGuard.verify_webhook judges, run in the pinned venv that
// scripts/sdk-vectors makes (HOOKFORGE_SDK_PYTHON). Its 15-minute age check
// is switched off (max_age_seconds=0) so that a refusal is the MAC's. Since
// `event-data` is unsigned, the tampered case changes the token's first
// character, wherever the signer put the token in the body.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { hmac, sharedSecret } from '../lib.mjs';

export const vendor = 'mailgun';
export const library = 'mailgun 1.10.0 (PyPI)';

// Mailgun's documented webhook body shape (the `opened` example of its
// webhooks guide), compacted, with a fresh timestamp and token.
function body(ts, token, signature) {
  return JSON.stringify({
    signature: { timestamp: ts, token, signature },
    'event-data': { event: 'opened', timestamp: Number(`${ts}.329574`), id: 'DACSsAdVSeGpLid7TN03WA' },
  });
}

export async function make() {
  const key = 'key-' + crypto.randomBytes(16).toString('hex');
  const ts = String(Math.floor(Date.now() / 1000) - 5);
  const token = crypto.randomBytes(25).toString('hex');
  const signature = hmac('sha256', key, ts + token).digest('hex');
  return sharedSecret('mailgun: hex HMAC-SHA256 of timestamp + token in the body (node:crypto signs; mailgun 1.10.0 SecurityGuard.verify_webhook accepts)', key, {
    timestamp: Number(ts), content_type: 'application/json', body: body(ts, token, signature), headers: [],
  });
}

export function tamper(raw) {
  const at = raw.indexOf('"token":"') + '"token":"'.length;
  if (at < '"token":"'.length) throw new Error('mailgun: no "token" in the body');
  return raw.slice(0, at) + (raw[at] === '1' ? '2' : '1') + raw.slice(at + 1);
}

const JUDGE = `
import json, sys
from mailgun.security import SecurityGuard
key, raw = sys.argv[1], sys.argv[2]
try:
    s = json.loads(raw)["signature"]
    token, stamp, signature = s["token"], s["timestamp"], s["signature"]
except (ValueError, KeyError, TypeError) as e:
    sys.exit(f"mailgun: the body has no signature.token/timestamp/signature ({e!r})")
ok = SecurityGuard.verify_webhook(key, token, stamp, signature, max_age_seconds=0)
print("yes" if ok else "no")
`;

export async function accepts(v, raw) {
  const python = process.env.HOOKFORGE_SDK_PYTHON;
  if (!python) throw new Error('mailgun: HOOKFORGE_SDK_PYTHON is not set (scripts/sdk-vectors makes the venv)');
  const out = execFileSync(python, ['-c', JUDGE, v.verify_key, raw], { encoding: 'utf8' });
  return out.trim() === 'yes';
}
