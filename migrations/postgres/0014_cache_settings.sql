-- The response cache's setting for one agent (`scope` = 'agent', `name` its id) or one model
-- (`scope` = 'model', `name` its configured name), set through the admin API or the console:
-- on (1) or off (0) and the TTL, each NULL when not set; laid over the config's settings.
CREATE TABLE cache_settings (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled BIGINT,
    ttl_secs BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, name)
);
