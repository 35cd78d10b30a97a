//! The response cache, as the admin API shows and changes it.

use serde::{Deserialize, Serialize};

/// `DELETE /api/v1/cache?agent=&model=`: how many stored answers were removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachePurged {
    pub purged: u64,
}
