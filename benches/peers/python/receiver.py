"""The do-it-yourself Python receiver: the official `standardwebhooks` package
verifies each delivery over the raw body, psycopg 3 (async, with a pool)
stores it in PostgreSQL (benches/peers/schema.sql) with the webhook-id as the
dedupe key, and the 2xx goes out only once the INSERT has committed
(autocommit: execute returns after the commit).

A bare ASGI app (no framework, so nothing but the libraries named here
costs time) under gunicorn with uvicorn workers (uvloop + httptools), one
per core; see gunicorn.conf.py. Async workers, not gunicorn's sync ones: a
sync worker handles one request at a time and closes the connection after
each, so 32 concurrent keep-alive clients would need 32 processes on 2 cores
and reconnect every request; an async worker keeps its connections and
overlaps the database round trips, which is what a Python service expecting
load would run.

    WEBHOOK_SECRET=whsec_... DATABASE_URL=postgres://... \\
      gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8000 receiver:app

POST /webhooks/standard_webhooks: 204 stored (or already stored), 401 bad
signature or stale timestamp, 400 not a JSON object, 500 database error.
PEER_POOL_SIZE: connections a worker (16).
"""

import json
import os
import sys

from psycopg_pool import AsyncConnectionPool
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

wh = Webhook(os.environ["WEBHOOK_SECRET"])
POOL_SIZE = int(os.environ.get("PEER_POOL_SIZE", "16"))
INSERT = (
    "INSERT INTO deliveries (webhook_id, event_type, body) VALUES (%s, %s, %s) "
    "ON CONFLICT (webhook_id) DO NOTHING"
)
pool = None


async def answer(send, status, text=b""):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})


async def lifespan(receive, send):
    global pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            pool = AsyncConnectionPool(os.environ["DATABASE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE,
                                       kwargs={"autocommit": True}, open=False)
            await pool.open(wait=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["method"] != "POST" or scope["path"] != "/webhooks/standard_webhooks":
        return await answer(send, 404, b"not found")
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    raw = b"".join(chunks)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    try:
        payload = wh.verify(raw, headers)
    except WebhookVerificationError:
        return await answer(send, 401, b"invalid signature")
    except ValueError:  # verified, but not JSON
        return await answer(send, 400, b"invalid payload")
    if not isinstance(payload, dict):
        return await answer(send, 400, b"payload is not a JSON object")
    event_type = payload.get("type") if isinstance(payload.get("type"), str) else None
    try:
        async with pool.connection() as conn:
            await conn.execute(INSERT, (headers["webhook-id"], event_type, raw))
    except Exception as e:  # noqa: BLE001 - any database failure is a 500
        print(f"receiver.py: insert failed: {e}", file=sys.stderr)
        return await answer(send, 500, b"not stored")
    await answer(send, 204)
