-- Budgets and rate limits set through the CLI, admin API or console (config holds defaults).
CREATE TABLE budgets (
    id          TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    model       TEXT NOT NULL DEFAULT '',     -- '' applies to every model
    kind        TEXT NOT NULL,                -- tokens, cost_usd
    period      TEXT NOT NULL,                -- minute, hour, day, month, lifetime
    amount      DOUBLE PRECISION NOT NULL,    -- tokens, or US dollars
    updated_at  BIGINT NOT NULL,
    UNIQUE (agent_id, model, kind, period)
);

CREATE TABLE rate_limits (
    agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    model       TEXT NOT NULL DEFAULT '',
    rpm         BIGINT,                       -- NULL: no limit
    tpm         BIGINT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (agent_id, model)
);

-- What the budget reservation and failover did for a call.
ALTER TABLE audit_events ADD COLUMN reserved_tokens BIGINT;
ALTER TABLE audit_events ADD COLUMN excess_tokens BIGINT;
ALTER TABLE audit_events ADD COLUMN attempts TEXT;        -- JSON: targets tried, in order
CREATE INDEX audit_events_agent_model_ts ON audit_events (agent_id, model_requested, ts);

-- Daily usage per agent and model, kept by the audit writer in the same transaction as the
-- events it counts. Month and lifetime budgets are rebuilt from it (audit events themselves
-- may be gone past their retention).
CREATE TABLE usage_daily (
    agent_id    TEXT NOT NULL,
    model       TEXT NOT NULL,
    day         BIGINT NOT NULL,              -- unix milliseconds at 00:00 UTC
    requests    BIGINT NOT NULL,
    tokens      BIGINT NOT NULL,
    cost_usd    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (agent_id, model, day)
);
