-- The protocol an LLM call's provider was called in; it differs from `operation`, the
-- client's, when Weir translated the call (an OpenAI client on an Anthropic provider, or the
-- other way round).
ALTER TABLE audit_events ADD COLUMN upstream_operation TEXT;
