-- Console sign-ins ended by signing out. A console cookie is signed, not stored, so signing out
-- records the session's id here and bumps the change counter: every replica loads the ids and
-- refuses their cookies. A row may be deleted once its cookie would have expired anyway.
CREATE TABLE console_signouts (
    session_id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL       -- unix milliseconds: when the session's cookie expires
);
CREATE INDEX console_signouts_expires_at ON console_signouts (expires_at);
