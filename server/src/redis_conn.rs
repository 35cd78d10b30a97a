//! A Redis connection made on first use and shared: the connection manager reconnects by
//! itself after a failure, so one is kept for the life of the process.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub struct LazyConnection {
    pub client: redis::Client,
    conn: ArcSwapOption<ConnectionManager>,
    connecting: tokio::sync::Mutex<()>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl LazyConnection {
    pub fn new(url: &str, connect_timeout: Duration, response_timeout: Duration) -> redis::RedisResult<Self> {
        Ok(Self { client: redis::Client::open(url)?, conn: ArcSwapOption::empty(), connecting: tokio::sync::Mutex::new(()), connect_timeout, response_timeout })
    }

    /// The connection, made on first use (one attempt at a time).
    pub async fn get(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(c) = self.conn.load_full() {
            return Ok((*c).clone());
        }
        let _guard = self.connecting.lock().await;
        if let Some(c) = self.conn.load_full() {
            return Ok((*c).clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.connect_timeout)
            .set_response_timeout(self.response_timeout)
            .set_number_of_retries(1);
        let c = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        self.conn.store(Some(Arc::new(c.clone())));
        Ok(c)
    }
}
