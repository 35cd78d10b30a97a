-- What guardrails did to a call: the JSON list of those that fired (action, direction, findings
-- counted by type, never the values) and the most severe action taken, for filtering.
ALTER TABLE audit_events ADD COLUMN guardrails TEXT;
ALTER TABLE audit_events ADD COLUMN guardrail_action TEXT;
