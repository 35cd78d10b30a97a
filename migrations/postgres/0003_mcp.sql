-- MCP requests in the audit trail: which backend, which tool, and what policy decided.
ALTER TABLE audit_events ADD COLUMN mcp_server TEXT;
ALTER TABLE audit_events ADD COLUMN tool_name TEXT;
ALTER TABLE audit_events ADD COLUMN backend_session_id TEXT;
ALTER TABLE audit_events ADD COLUMN policy_decision TEXT;      -- allow, deny, approval
ALTER TABLE audit_events ADD COLUMN policy_rule BIGINT;          -- number of the [[mcp.rules]] entry
CREATE INDEX audit_events_tool_ts ON audit_events (tool_name, ts) WHERE tool_name IS NOT NULL;
