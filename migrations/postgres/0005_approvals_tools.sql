-- Tool calls held for a person's approval, the tool definitions Weir has pinned, and who
-- decided what in the audit trail.
CREATE TABLE mcp_approvals (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,     -- unix milliseconds
    expires_at  BIGINT NOT NULL,
    status      TEXT NOT NULL,        -- pending, approved, denied, expired, abandoned
    agent_id    TEXT,
    agent_name  TEXT,
    end_user    TEXT,
    session_id  TEXT,
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,        -- as the agent named it: server__tool
    arguments   TEXT NOT NULL,        -- JSON
    rule        BIGINT,              -- the [[mcp.rules]] entry that asked for approval
    decided_by  TEXT,
    decided_at  BIGINT,
    reason      TEXT
);
CREATE INDEX mcp_approvals_status_created ON mcp_approvals (status, created_at);
CREATE INDEX mcp_approvals_created ON mcp_approvals (created_at);

-- One row per (server, tool): the definition pinned when first seen (or approved since), the
-- one seen last, and what scanning found in it.
CREATE TABLE mcp_tools (
    server              TEXT NOT NULL,
    tool                TEXT NOT NULL,   -- the backend's own name
    pinned_hash         TEXT NOT NULL,   -- hex SHA-256 of the canonical JSON definition
    pinned_definition   TEXT NOT NULL,
    current_hash        TEXT NOT NULL,
    current_definition  TEXT NOT NULL,
    findings            TEXT NOT NULL,   -- JSON array of the current definition's findings
    approved_hash       TEXT,            -- the definition an operator approved, if any
    approved_by         TEXT,
    approved_at         BIGINT,
    first_seen_at       BIGINT NOT NULL,
    changed_at          BIGINT,         -- when the current definition first differed from the pin
    seen_at             BIGINT NOT NULL,
    PRIMARY KEY (server, tool)
);

ALTER TABLE audit_events ADD COLUMN approval_id TEXT;
ALTER TABLE audit_events ADD COLUMN decided_by TEXT;
