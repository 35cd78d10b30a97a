-- What the console reads without scanning the events table: per-minute rollups of the last two
-- hours, calls the limiter refused, and one row per agent session. The audit writer keeps them
-- in the same transaction as the events they count.

-- MCP: the client's session with Weir (`session_id` holds the agent session, `x-weir-session`),
-- and how long a held call waited for a person.
ALTER TABLE audit_events ADD COLUMN mcp_session_id TEXT;
ALTER TABLE audit_events ADD COLUMN approval_wait_ms REAL;

-- Calls the limiter refused (error_type 'limit_exceeded').
ALTER TABLE audit_hourly ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
UPDATE audit_hourly SET refused = r.n
FROM (
    SELECT (ts / 3600000) * 3600000 AS hour, kind, COALESCE(agent_name, '') AS agent_name, COUNT(*) AS n
    FROM audit_events WHERE error_type = 'limit_exceeded'
    GROUP BY 1, 2, 3
) r
WHERE audit_hourly.hour = r.hour AND audit_hourly.kind = r.kind AND audit_hourly.agent_name = r.agent_name;
-- Budget windows read one agent's hours.
CREATE INDEX audit_hourly_agent ON audit_hourly (agent_name, hour);

-- As audit_hourly, per UTC minute; rows older than two hours are pruned.
CREATE TABLE audit_minutely (
    minute        INTEGER NOT NULL,      -- unix milliseconds at the start of the minute
    kind          TEXT NOT NULL,
    agent_name    TEXT NOT NULL,        -- '' for events without an agent
    requests      INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    refused       INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    PRIMARY KEY (minute, kind, agent_name)
);

-- As audit_latency_hourly, per minute. Latencies here and there leave out the time a held call
-- waited for a person.
CREATE TABLE audit_latency_minutely (
    minute INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (minute, kind, bucket)
);

-- One row per agent session (calls with a session id): when it began, when its latest call
-- began and when its last call ended, what it did and what it cost.
CREATE TABLE audit_sessions (
    agent_name    TEXT NOT NULL,        -- '' for calls without an agent
    session_id    TEXT NOT NULL,
    first_ts      INTEGER NOT NULL,
    last_ts       INTEGER NOT NULL,
    end_ts        INTEGER NOT NULL,
    llm_calls     INTEGER NOT NULL,
    mcp_calls     INTEGER NOT NULL,
    approvals     INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    PRIMARY KEY (agent_name, session_id)
);
-- The most recently active first, paged by (last_ts, agent_name, session_id); and per agent.
CREATE INDEX audit_sessions_last ON audit_sessions (last_ts DESC, agent_name DESC, session_id DESC);
CREATE INDEX audit_sessions_agent_last ON audit_sessions (agent_name, last_ts DESC, session_id DESC);

INSERT INTO audit_sessions (agent_name, session_id, first_ts, last_ts, end_ts, llm_calls, mcp_calls, approvals, errors, input_tokens, output_tokens, cost_usd)
SELECT COALESCE(agent_name, ''), session_id, MIN(ts), MAX(ts), MAX(ts + CAST(MAX(latency_ms, 0) AS INTEGER)),
       SUM(CASE WHEN kind = 'llm' THEN 1 ELSE 0 END), SUM(CASE WHEN kind = 'mcp' THEN 1 ELSE 0 END),
       SUM(CASE WHEN kind = 'approval' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'ok' THEN 0 ELSE 1 END),
       COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_usd), 0)
FROM audit_events WHERE session_id IS NOT NULL
GROUP BY COALESCE(agent_name, ''), session_id;
