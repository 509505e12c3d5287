#!/usr/bin/env python3
"""Pre-signs a stream of Standard Webhooks deliveries for benches/peers/signed.lua.

wrk's LuaJIT has no HMAC, so the signing happens here, before the run, and
costs the load generator nothing while it runs: each wrk thread only
concatenates strings it read at start-up.

    sign.py --secret whsec_... --count N --threads T --out DIR

writes DIR/bodies (the sample bodies, each as "<length>\\n<bytes>") and
DIR/stream.<k> for k = 0..T-1, one delivery a line:

    <body index> <webhook-id> <webhook-timestamp> <webhook-signature>

in fixed width (two-digit body index, ids of one length, a ten-digit
timestamp, a 47-character signature), so the Lua side reads a whole file as
one string and slices record i at a known offset: no parsing at start-up.
Thread k gets every T-th delivery, so no two threads share an id. Ids are
`msg_bench<run><seq>`: the same for every target of one run (each target
gets a fresh database), unique within it. The timestamp is now: Standard
Webhooks receivers refuse one more than 5 minutes old, so run.sh signs the
stream again right before each target (same ids, same bodies, same secret;
only the timestamp and so the signature change).
"""

import argparse
import base64
import glob
import hashlib
import hmac
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--secret", required=True, help="whsec_<base64>")
    p.add_argument("--count", type=int, required=True, help="deliveries in the stream")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("--run", default="0", help="a tag that goes into every id")
    p.add_argument("--timestamp", type=int, default=None, help="default: now")
    p.add_argument(
        "--samples",
        default=os.path.join(ROOT, "vendors/standard_webhooks/samples/*/*.json"),
        help="glob of the bodies, sent in turn",
    )
    a = p.parse_args()

    if not a.secret.startswith("whsec_"):
        sys.exit("sign.py: the secret must be whsec_<base64>")
    key = base64.b64decode(a.secret[len("whsec_"):])
    bodies = [open(f, "rb").read() for f in sorted(glob.glob(a.samples))]
    if not bodies:
        sys.exit(f"sign.py: no bodies match {a.samples}")
    if len(bodies) > 99:
        sys.exit("sign.py: at most 99 bodies")

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "bodies"), "wb") as f:
        for b in bodies:
            f.write(b"%d\n" % len(b))
            f.write(b)
    ts = str(a.timestamp if a.timestamp is not None else int(time.time())).encode()
    if len(ts) != 10:
        sys.exit("sign.py: the timestamp must have ten digits")
    if a.count > 10**12:
        sys.exit("sign.py: at most 10^12 deliveries")
    outs = [open(os.path.join(a.out, f"stream.{k}"), "wb", buffering=1 << 20) for k in range(a.threads)]
    nb = len(bodies)
    prefix = f"msg_bench{a.run}_".encode()
    new = hmac.new
    sha256 = hashlib.sha256
    b64 = base64.b64encode
    for i in range(a.count):
        bi = i % nb
        msg_id = prefix + b"%012d" % i
        sig = b64(new(key, msg_id + b"." + ts + b"." + bodies[bi], sha256).digest())
        outs[i % a.threads].write(b"%02d %s %s v1,%s\n" % (bi + 1, msg_id, ts, sig))
    for o in outs:
        o.close()


if __name__ == "__main__":
    main()
