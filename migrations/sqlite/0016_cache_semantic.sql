-- Whether the semantic cache (a paraphrase of a stored question served its answer) is on for
-- the agent or model: on (1) or off (0), NULL when not set; laid over the config's setting.
ALTER TABLE cache_settings ADD COLUMN semantic INTEGER;
