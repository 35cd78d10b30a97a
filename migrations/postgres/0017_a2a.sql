-- A2A calls: the target agent, the task the call created or named, its context (the A2A
-- session) and the task's state as last reported.
ALTER TABLE audit_events ADD COLUMN a2a_target TEXT;
ALTER TABLE audit_events ADD COLUMN a2a_task_id TEXT;
ALTER TABLE audit_events ADD COLUMN a2a_context_id TEXT;
ALTER TABLE audit_events ADD COLUMN a2a_task_state TEXT;

-- A2A requests per minute an agent may make (set through the CLI, the admin API or the console;
-- agent-wide scope only, like mcp_rpm).
ALTER TABLE rate_limits ADD COLUMN a2a_rpm BIGINT;

-- A session's calls to other agents (there were none before this migration).
ALTER TABLE audit_sessions ADD COLUMN a2a_calls BIGINT NOT NULL DEFAULT 0;

-- Target agents registered through the admin API or the console (those of the config file are
-- not stored): the agent's base URL and card URL, and the headers sent to it (a JSON object).
CREATE TABLE a2a_agents (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    card_url TEXT NOT NULL,
    headers TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Who may call whom, set through the admin API or the console, after the config file's rules:
-- calling agents, target agents and skills (JSON lists of names or globs; skills NULL for any),
-- in `position` order.
CREATE TABLE a2a_rules (
    position BIGINT PRIMARY KEY,
    agents TEXT NOT NULL,
    targets TEXT NOT NULL,
    skills TEXT,
    updated_at BIGINT NOT NULL
);
