-- A2A calls: the target agent, the task the call created or named, its context (the A2A
-- session) and the task's state as last reported.
ALTER TABLE audit_events ADD COLUMN a2a_target TEXT;
ALTER TABLE audit_events ADD COLUMN a2a_task_id TEXT;
ALTER TABLE audit_events ADD COLUMN a2a_context_id TEXT;
ALTER TABLE audit_events ADD COLUMN a2a_task_state TEXT;
