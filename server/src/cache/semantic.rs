//! The semantic cache.

/// The similarity a stored prompt must reach before the verification step reads it.
pub const DEFAULT_THRESHOLD: f32 = 0.55;
