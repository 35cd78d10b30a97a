-- Agents, their keys, the change counter replicas poll, and the audit trail.
CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    capture_bodies INTEGER,            -- NULL: follow audit.capture_bodies
    created_at     INTEGER NOT NULL    -- unix milliseconds
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    key_hash    TEXT NOT NULL UNIQUE, -- hex SHA-256 of the whole key; the key itself is never stored
    prefix      TEXT NOT NULL,        -- the first characters, to recognise a key in listings
    models      TEXT,                 -- JSON array allowlist; NULL allows every model
    expires_at  INTEGER,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX api_keys_agent ON api_keys (agent_id);

-- One row; every change to agents or keys bumps it in the same transaction.
CREATE TABLE change_counter (
    id         INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL
);
INSERT INTO change_counter (id, generation) VALUES (1, 0);

CREATE TABLE audit_events (
    id                  TEXT PRIMARY KEY,
    ts                  INTEGER NOT NULL,  -- unix milliseconds at request start
    request_id          TEXT NOT NULL,
    trace_id            TEXT,
    span_id             TEXT,
    kind                TEXT NOT NULL,    -- llm (mcp, a2a later)
    operation           TEXT NOT NULL,    -- chat, responses, embeddings, messages, models
    agent_id            TEXT,
    agent_name          TEXT,
    key_id              TEXT,
    end_user            TEXT,
    session_id          TEXT,
    model_requested     TEXT,
    model_served        TEXT,
    provider            TEXT,
    status_code         INTEGER NOT NULL,
    outcome             TEXT NOT NULL,    -- ok, error, cancelled
    error_type          TEXT,
    error_message       TEXT,
    latency_ms          REAL NOT NULL,
    ttft_ms             REAL,
    streamed            INTEGER NOT NULL,
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    cached_input_tokens INTEGER,
    reasoning_tokens    INTEGER,
    usage_estimated     INTEGER NOT NULL,
    cost_usd            REAL,
    request_body        TEXT,
    response_body       TEXT,
    client_ip           TEXT
);
CREATE INDEX audit_events_ts ON audit_events (ts DESC, id DESC);
CREATE INDEX audit_events_agent_ts ON audit_events (agent_name, ts DESC);
CREATE INDEX audit_events_session ON audit_events (session_id);
CREATE INDEX audit_events_request ON audit_events (request_id);
