-- The table both do-it-yourself peers (node/, python/) store into: the
-- webhook-id is the dedupe key, the raw body is kept as received.
CREATE TABLE deliveries (
    webhook_id TEXT PRIMARY KEY,
    event_type TEXT,
    body BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
