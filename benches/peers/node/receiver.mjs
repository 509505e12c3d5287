// The do-it-yourself Node receiver: the official `standardwebhooks` library
// verifies each delivery over the raw body, `pg` stores it in PostgreSQL
// (benches/peers/schema.sql) with the webhook-id as the dedupe key, and the
// 2xx goes out only once the INSERT has committed (autocommit: the query
// resolves after the commit). node:cluster runs one worker per core.
//
//   PORT=8000 WEBHOOK_SECRET=whsec_... DATABASE_URL=postgres://... node receiver.mjs
//
// POST /webhooks/standard_webhooks: 204 stored (or already stored), 401 bad
// signature or stale timestamp, 400 not a JSON object, 500 database error.
// Prints http://127.0.0.1:PORT once every worker listens.
// PEER_WORKERS (default: cores), PEER_POOL_SIZE (connections a worker, 16).
import cluster from "node:cluster";
import http from "node:http";
import os from "node:os";
import pg from "pg";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const port = Number(process.env.PORT);
const workers = Number(process.env.PEER_WORKERS || os.availableParallelism());
if (!port) {
  console.error("receiver.mjs: PORT is required (node:cluster shares one port)");
  process.exit(2);
}

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("listening", () => {
    if (++listening === workers) console.log(`http://127.0.0.1:${port}`);
  });
  cluster.on("exit", (w, code, signal) => {
    if (!stopping) {
      console.error(`receiver.mjs: worker ${w.process.pid} died (${signal || code})`);
      process.exit(1);
    }
  });
  let stopping = false;
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const wh = new Webhook(process.env.WEBHOOK_SECRET);
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.PEER_POOL_SIZE || 16),
  });
  const INSERT = {
    name: "insert-delivery",
    text: "INSERT INTO deliveries (webhook_id, event_type, body) VALUES ($1, $2, $3) ON CONFLICT (webhook_id) DO NOTHING",
  };

  const answer = (res, status, text = "") => {
    res.writeHead(status, { "Content-Type": "text/plain" });
    res.end(text);
  };

  http
    .createServer((req, res) => {
      if (req.method !== "POST" || req.url !== "/webhooks/standard_webhooks") return answer(res, 404, "not found");
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", async () => {
        const raw = Buffer.concat(chunks);
        let payload;
        try {
          payload = wh.verify(raw, req.headers);
        } catch (e) {
          if (e instanceof WebhookVerificationError) return answer(res, 401, "invalid signature");
          return answer(res, 400, "invalid payload"); // verified, but not JSON
        }
        if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
          return answer(res, 400, "payload is not a JSON object");
        }
        const type = typeof payload.type === "string" ? payload.type : null;
        try {
          await pool.query({ ...INSERT, values: [req.headers["webhook-id"], type, raw] });
        } catch (e) {
          console.error("receiver.mjs: insert failed:", e.message);
          return answer(res, 500, "not stored");
        }
        answer(res, 204);
      });
    })
    .listen(port, "127.0.0.1");
}
