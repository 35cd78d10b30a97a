-- Requests per minute on the MCP gateway, per agent (model '' only).
ALTER TABLE rate_limits ADD COLUMN mcp_rpm BIGINT;
