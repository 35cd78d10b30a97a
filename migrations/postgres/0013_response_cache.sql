-- What the response cache did for a call: `hit`, `semantic_hit`, `miss` or `bypass` (the
-- client's Cache-Control), the request whose answer a hit was served from, the similarity of a
-- semantic hit, and the tokens and cost the hit saved.
ALTER TABLE audit_events ADD COLUMN cache TEXT;
ALTER TABLE audit_events ADD COLUMN cache_origin TEXT;
ALTER TABLE audit_events ADD COLUMN cache_similarity DOUBLE PRECISION;
ALTER TABLE audit_events ADD COLUMN cache_saved_tokens BIGINT;
ALTER TABLE audit_events ADD COLUMN cache_saved_cost_usd DOUBLE PRECISION;
