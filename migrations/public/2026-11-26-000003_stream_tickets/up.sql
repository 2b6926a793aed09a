-- Single-use tickets that open a notification stream from a browser
-- (EventSource cannot send headers). Only a digest is kept; taking one
-- deletes it, so it works once, on any instance, with or without Redis.
CREATE TABLE stream_tickets (
    token_digest VARCHAR(64) PRIMARY KEY,
    family_id    BIGINT      NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX stream_tickets_family_idx ON stream_tickets (family_id);
CREATE INDEX stream_tickets_expires_idx ON stream_tickets (expires_at);
