//! Console sign-outs: the sessions of the web console that were signed out before their cookies
//! expire, so that every replica refuses them.
//!
//! It stores and fetches rows; deciding whether a request's session is still good is the
//! console's.

use sqlx::Row;

use super::{commit_change, Store, StoreError};

impl Store {
    /// Records that a console session was signed out (its cookie expiring at `expires_at`, unix
    /// ms) and bumps the change counter so every replica loads it. Rows of sessions expired by
    /// `now` go in the same transaction: the table holds only sign-ins that could still be used.
    pub async fn record_console_signout(&self, session_id: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO console_signouts (session_id, expires_at) VALUES ($1, $2) ON CONFLICT (session_id) DO NOTHING")
            .bind(session_id)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_signouts WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        commit_change(tx).await
    }

    /// Signed-out console sessions whose cookies have not expired by `now`: `(session id,
    /// expires_at)`.
    pub async fn console_signouts(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT session_id, expires_at FROM console_signouts WHERE expires_at > $1").bind(now).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }
}
