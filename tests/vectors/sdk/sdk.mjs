// Webhook signatures made and checked by the vendors' official libraries
// (pinned in package.json), one module per catalogue vendor in ./vendors:
//
//   node sdk.mjs make > ../sdk-signed.json
//       a delivery signed as each vendor signs it (by its SDK where the SDK
//       signs; otherwise by node:crypto, accepted by the SDK's verifier before
//       it is written, and refused with one byte changed). Keys are made here.
//   node sdk.mjs make ../sdk-signed.json VENDOR... > NEW
//       the same for the named vendors only; FILE's other vectors are kept.
//   node sdk.mjs verify FILE
//       deliveries signed by hookforge (same format): each must pass its
//       SDK's verifier, and fail it with one body byte changed. Prints one
//       line per check; exits 1 if any check failed.
//   node sdk.mjs handshakes OUT
//       handshake requests signed as the vendor signs them, now, each with
//       the answer the vendor's SDK gives it (its receiver or middleware).
//   node sdk.mjs verify-handshakes FILE
//       handshake requests hookforge made, with the answer hookforge
//       expects: the SDK must give that answer. Exits 1 if any differs.
//
// A module exports `vendor` (the catalogue id), `library` (package and
// version), `make()` (a delivery, or a list of them: name, verify_key,
// sign_key, [url], [timestamp], [settings], content_type, body, headers;
// `settings` are what the signature covers that the delivery does not carry,
// such as PayPal's webhook_id) and `accepts(delivery, body)`
// (whether the SDK accepts the delivery's headers with this body; a body
// other than the delivery's own is the tampered case; a module whose vendor
// leaves part of the body unsigned exports `tamper(body)`, which changes a
// signed byte instead of the first digit). A module whose SDK
// answers handshakes also exports `handshakes()` (requests: name, handshake,
// verify_key, sign_key, request {method, query, headers, body}) and
// `answer(h)` (the SDK's answer to h.request: status, body, headers).
import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tamper } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

async function modules() {
  const dir = path.join(here, 'vendors');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const out = {};
  for (const f of files) {
    const m = await import(path.join(dir, f));
    if (m.vendor + '.mjs' !== f) throw new Error(`${f}: exports vendor ${m.vendor}`);
    out[m.vendor] = m;
  }
  return out;
}

async function judge(m, v) {
  const rows = [];
  const changed = m.tamper ? m.tamper(v.body) : tamper(v.body);
  for (const [what, body, want] of [['as signed', v.body, true], ['one byte changed', changed, false]]) {
    const got = Boolean(await m.accepts(v, body));
    rows.push({ ok: got === want, line: `${v.name}: ${what}: ${m.library} ${got ? 'accepts' : 'refuses'} it` });
  }
  return rows;
}

// With `only` (vendor ids), those vendors' vectors are made again and every
// other vector of `keep` (the checked-in file) is kept as it is.
async function make(only = [], keep = null) {
  const all = await modules();
  for (const id of only) if (!all[id]) throw new Error(`no module for vendor ${id}`);
  const kept = keep ? JSON.parse(fs.readFileSync(keep, 'utf8')).vectors.filter((v) => !only.includes(v.vendor)) : [];
  const out = [];
  for (const m of Object.values(all)) {
    if (only.length && !only.includes(m.vendor)) {
      out.push(...kept.filter((v) => v.vendor === m.vendor));
      continue;
    }
    for (const made of [].concat(await m.make())) {
      const v = { vendor: m.vendor, ...made };
      for (const r of await judge(m, v)) {
        if (!r.ok) throw new Error(`the library disagrees with its own vector: ${r.line}`);
      }
      out.push(v);
    }
  }
  process.stdout.write(JSON.stringify({
    note: 'Written by tests/vectors/sdk/sdk.mjs make (scripts/sdk-vectors --regenerate); keys are throwaway test keys.',
    vectors: out,
  }, null, 2) + '\n');
}

async function verify(file) {
  const { vectors } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byVendor = await modules();
  let failed = 0;
  for (const v of vectors) {
    const m = byVendor[v.vendor];
    if (!m) throw new Error(`no module for vendor ${v.vendor}`);
    for (const r of await judge(m, v)) {
      failed += r.ok ? 0 : 1;
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.line}`);
    }
  }
  console.log(`${vectors.length * 2 - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function handshakes(out) {
  const all = [];
  for (const m of Object.values(await modules())) {
    if (!m.handshakes) continue;
    for (const h of await m.handshakes()) {
      all.push({ vendor: m.vendor, ...h, answer: await m.answer(h) });
    }
  }
  fs.writeFileSync(out, JSON.stringify({ note: 'Made by tests/vectors/sdk/sdk.mjs handshakes', handshakes: all }, null, 2) + '\n');
  console.log(`${all.length} handshakes answered by the SDKs, in ${out}`);
}

// The same answer: status, and body (as JSON when both are JSON).
function same(want, got) {
  if (want.status !== got.status) return false;
  try {
    return isDeepStrictEqual(JSON.parse(want.body), JSON.parse(got.body));
  } catch {
    return want.body.trim() === String(got.body).trim();
  }
}

async function verifyHandshakes(file) {
  const { handshakes: list } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byVendor = await modules();
  let failed = 0;
  for (const h of list) {
    const got = await byVendor[h.vendor].answer(h);
    const ok = same(h.answer, got);
    failed += ok ? 0 : 1;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${h.name}: ${byVendor[h.vendor].library} answers ${got.status} ${JSON.stringify(String(got.body))}${ok ? '' : `; hookforge expects ${h.answer.status} ${JSON.stringify(h.answer.body)}`}`);
  }
  console.log(`${list.length - failed} passed, ${failed} failed`);
  process.exit(failed || !list.length ? 1 : 0);
}

const [mode, file, ...rest] = process.argv.slice(2);
if (mode === 'make' && !file) await make();
else if (mode === 'make' && rest.length) await make(rest, file);
else if (mode === 'verify' && file) await verify(file);
else if (mode === 'handshakes' && file) await handshakes(file);
else if (mode === 'verify-handshakes' && file) await verifyHandshakes(file);
else {
  console.error('usage: node sdk.mjs make [FILE VENDOR...] | verify FILE | handshakes OUT | verify-handshakes FILE');
  process.exit(2);
}
