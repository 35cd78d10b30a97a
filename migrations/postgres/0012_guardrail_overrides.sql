-- Guardrail actions set for one agent (`scope` = 'agent', `name` its id) or one model (`scope`
-- = 'model', `name` its configured name) through the admin API: a JSON object of guardrail
-- name to action, laid over the configured actions.
CREATE TABLE guardrail_overrides (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    overrides TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, name)
);
