-- The response cache in the rollups the console's overview reads: calls the cache was on for,
-- hits (exact and semantic), and what the hits saved. Older rows count none.
ALTER TABLE audit_hourly ADD COLUMN cache_lookups BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_hourly ADD COLUMN cache_hits BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_hourly ADD COLUMN cache_saved_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_hourly ADD COLUMN cache_saved_cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE audit_minutely ADD COLUMN cache_lookups BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_minutely ADD COLUMN cache_hits BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_minutely ADD COLUMN cache_saved_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_minutely ADD COLUMN cache_saved_cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
