-- Hourly rollups of the audit trail, kept by the audit writer in the same transaction as the
-- rows they count, so that the console's overview never scans the events table.
CREATE TABLE audit_hourly (
    hour          INTEGER NOT NULL,      -- unix milliseconds at the start of the UTC hour
    kind          TEXT NOT NULL,
    agent_name    TEXT NOT NULL,      -- '' for events without an agent
    requests      INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    PRIMARY KEY (hour, kind, agent_name)
);

-- Latency histograms per hour and kind: bucket i counts latencies in [0.05 ms × 1.2^(i-1),
-- 0.05 ms × 1.2^i) (bucket 0: below 0.05 ms).
CREATE TABLE audit_latency_hourly (
    hour   INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (hour, kind, bucket)
);
