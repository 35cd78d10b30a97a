//! A Redis connection made on first use and shared: the connection manager reconnects by
//! itself after a failure, so one is kept for the life of the process.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::task::JoinHandle;

pub struct LazyConnection {
    pub client: redis::Client,
    conn: Arc<ArcSwapOption<ConnectionManager>>,
    /// The attempt under way, if any.
    attempt: tokio::sync::Mutex<Option<JoinHandle<redis::RedisResult<ConnectionManager>>>>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl LazyConnection {
    pub fn new(url: &str, connect_timeout: Duration, response_timeout: Duration) -> redis::RedisResult<Self> {
        Ok(Self { client: redis::Client::open(url)?, conn: Arc::default(), attempt: tokio::sync::Mutex::new(None), connect_timeout, response_timeout })
    }

    /// The connection, made on first use (one attempt at a time). The attempt runs on a task
    /// of its own and keeps what it makes: a caller that stops waiting (a cache lookup's
    /// timeout, shorter than a connection may take) does not cancel it, and the next caller
    /// waits for the same attempt.
    pub async fn get(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(c) = self.conn.load_full() {
            return Ok((*c).clone());
        }
        let mut attempt = self.attempt.lock().await;
        if let Some(c) = self.conn.load_full() {
            return Ok((*c).clone());
        }
        // An attempt that ended with no one waiting (each gave up first) and made nothing: a
        // new one, not its old failure.
        if attempt.as_ref().is_some_and(JoinHandle::is_finished) && self.conn.load().is_none() {
            *attempt = None;
        }
        let handle = attempt.get_or_insert_with(|| {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(self.connect_timeout)
                .set_response_timeout(self.response_timeout)
                .set_number_of_retries(1);
            let (client, conn) = (self.client.clone(), Arc::clone(&self.conn));
            tokio::spawn(async move {
                let c = ConnectionManager::new_with_config(client, config).await?;
                conn.store(Some(Arc::new(c.clone())));
                Ok(c)
            })
        });
        // (Nothing can cancel this between the attempt's end and its removal.)
        let made = handle.await;
        *attempt = None;
        match made {
            Ok(result) => result,
            Err(e) => Err(redis::RedisError::from((redis::ErrorKind::IoError, "the connection attempt failed", e.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::net::{TcpListener, TcpStream};

    /// A Redis a connection to which takes 300 ms to open: a proxy to the test Redis that waits
    /// before it reads or writes anything (and then, while `refuse` is set, hangs up).
    async fn slow_redis(refuse: Arc<AtomicBool>) -> String {
        let target = std::env::var("WEIR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let info = redis::Client::open(target.as_str()).unwrap().get_connection_info().clone();
        let addr = info.addr.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (addr, refuse) = (addr.clone(), Arc::clone(&refuse));
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if refuse.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut outbound) = TcpStream::connect(&addr).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        // The same credentials and database, through the proxy.
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let user = info.redis.username.as_deref().map(enc).unwrap_or_default();
        let auth = info.redis.password.as_deref().map_or_else(|| if user.is_empty() { String::new() } else { format!("{user}@") }, |p| format!("{user}:{}@", enc(p)));
        format!("redis://{auth}127.0.0.1:{port}/{}", info.redis.db)
    }

    #[tokio::test]
    async fn callers_that_give_up_sooner_than_a_connection_takes_do_not_keep_it_from_being_made() {
        let conn = LazyConnection::new(&slow_redis(Arc::default()).await, Duration::from_secs(2), Duration::from_secs(2)).unwrap();
        // Each caller waits 50 ms, as a cache lookup does; the connection takes 300.
        let mut served = None;
        for i in 0..40 {
            if let Ok(Ok(mut c)) = tokio::time::timeout(Duration::from_millis(50), conn.get()).await {
                let pong: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
                served = Some((i, pong));
                break;
            }
        }
        let (i, pong) = served.expect("a caller within 2 s finds the connection made");
        assert_eq!(pong, "PONG");
        assert!(i >= 4, "the first callers gave up: the connection took longer than they waited ({i})");
    }

    #[tokio::test]
    async fn an_attempt_that_failed_with_no_one_waiting_is_not_the_next_callers_answer() {
        let refuse = Arc::new(AtomicBool::new(true));
        let conn = LazyConnection::new(&slow_redis(Arc::clone(&refuse)).await, Duration::from_secs(2), Duration::from_millis(500)).unwrap();
        // The one caller gives up; the attempt fails later, with no one waiting.
        assert!(tokio::time::timeout(Duration::from_millis(50), conn.get()).await.is_err());
        let mut ended = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ended = conn.attempt.lock().await.as_ref().is_some_and(JoinHandle::is_finished);
            if ended {
                break;
            }
        }
        assert!(ended && conn.conn.load().is_none(), "the attempt failed");
        // Redis is back: the next caller gets a connection, not the old failure.
        refuse.store(false, Ordering::SeqCst);
        let mut c = conn.get().await.expect("a new attempt");
        let pong: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
        assert_eq!(pong, "PONG");
    }
}
