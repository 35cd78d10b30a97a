-- Cheaper audit inserts. Rows arrive in time order, so ascending indexes grow at their right
-- edge (a descending one splits pages at its left edge on every insert); scans in either
-- direction use them alike. Calls without a session add nothing to the session index.
DROP INDEX audit_events_ts;
CREATE INDEX audit_events_ts ON audit_events (ts, id);
DROP INDEX audit_events_agent_ts;
CREATE INDEX audit_events_agent_ts ON audit_events (agent_name, ts);
DROP INDEX audit_events_session;
CREATE INDEX audit_events_session ON audit_events (session_id) WHERE session_id IS NOT NULL;
