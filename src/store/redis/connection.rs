//! One connection type for a single Redis node and a Redis Cluster, so that
//! the store and the shared failure counter are written once for both.
//!
//! `redis+cluster://host:port[,host:port…]` (or `rediss+cluster://` for
//! TLS) names a cluster by some of its nodes; the client discovers the
//! rest, follows `MOVED`/`ASK` redirections and, when a master dies, keeps
//! retrying until a replica has taken over its slots. Any other `redis://`
//! or `rediss://` URL is one node, behind a connection manager that
//! reconnects by itself.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

/// How patient a connection is: what a command may take, and how long a
/// cluster keeps retrying while a failover is under way.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub connect: Duration,
    pub response: Duration,
    /// Retries of one command on a single node.
    pub retries: usize,
    /// How long a cluster command keeps retrying (redirections, a master
    /// that went away) before it fails.
    pub cluster_overall: Duration,
}

#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Whether `url` names a cluster (`redis+cluster://` or `rediss+cluster://`).
#[must_use]
pub fn is_cluster_url(url: &str) -> bool {
    url.starts_with("redis+cluster://") || url.starts_with("rediss+cluster://")
}

/// The seed nodes of a cluster URL, each as a plain `redis://` (or
/// `rediss://`) URL carrying the credentials given once before the hosts:
/// `redis+cluster://user:pw@a:1,b:2` gives `redis://user:pw@a:1` and
/// `redis://user:pw@b:2`. `None` if it is not a cluster URL with at least
/// one host.
#[must_use]
pub fn cluster_seeds(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("redis+cluster://") {
        ("redis", rest)
    } else {
        ("rediss", url.strip_prefix("rediss+cluster://")?)
    };
    let (auth, hosts) = match rest.rsplit_once('@') {
        Some((auth, hosts)) => (format!("{auth}@"), hosts),
        None => (String::new(), rest),
    };
    let hosts = hosts.trim_end_matches('/');
    let seeds: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("{scheme}://{auth}{host}"))
        .collect();
    let valid = !seeds.is_empty()
        && seeds
            .iter()
            .all(|seed| redis::parse_redis_url(seed).is_some() && !seed.ends_with(':'));
    valid.then_some(seeds)
}

impl RedisConnection {
    /// Connects to the node or cluster `url` names.
    pub async fn open(url: &str, patience: Patience) -> Result<Self, RedisError> {
        if is_cluster_url(url) {
            let seeds = cluster_seeds(url).ok_or_else(|| {
                RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "not a valid redis+cluster:// URL",
                ))
            })?;
            // Retries wait 100 ms, 200 ms, … up to 1 s between tries, so a
            // failover (node timeout plus election, a few seconds) is ridden
            // out within `cluster_overall`.
            let client = ClusterClient::builder(seeds)
                .connection_timeout(patience.connect)
                .response_timeout(patience.response)
                .overall_response_timeout(Some(patience.cluster_overall))
                .retries(u32::try_from(patience.cluster_overall.as_millis() / 500).unwrap_or(20))
                .min_retry_wait(100)
                .max_retry_wait(1_000)
                .build()?;
            Ok(Self::Cluster(client.get_async_connection().await?))
        } else {
            let client = redis::Client::open(url)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(patience.connect))
                .set_response_timeout(Some(patience.response))
                .set_number_of_retries(patience.retries)
                .set_max_delay(Duration::from_millis(500));
            Ok(Self::Single(
                ConnectionManager::new_with_config(client, config).await?,
            ))
        }
    }

    /// Waits until `replicas` replicas of the node holding `key` have every
    /// write this connection sent it so far, or `timeout` passes; returns
    /// how many did. In a cluster `WAIT` goes to that key's master (which
    /// the cluster client would otherwise send to every master).
    pub async fn wait_for_replicas(
        &mut self,
        key: &str,
        replicas: u32,
        timeout: Duration,
    ) -> Result<u32, RedisError> {
        let mut wait = redis::cmd("WAIT");
        wait.arg(replicas)
            .arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        let acknowledged: i64 = match self {
            Self::Single(connection) => wait.query_async(connection).await?,
            Self::Cluster(connection) => {
                let route =
                    redis::cluster_routing::Route::with_slot(Slot::for_key(key), SlotAddr::Master);
                let value = connection
                    .route_command(
                        wait,
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                    )
                    .await?;
                redis::from_redis_value(value)?
            }
        };
        Ok(u32::try_from(acknowledged).unwrap_or(0))
    }

    #[must_use]
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_gives_one_seed_per_host_with_the_credentials() {
        assert_eq!(
            cluster_seeds("redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7001").unwrap(),
            ["redis://u:p@10.0.0.1:7000", "redis://u:p@10.0.0.2:7001"]
        );
        assert_eq!(
            cluster_seeds("rediss+cluster://cache.internal:6380").unwrap(),
            ["rediss://cache.internal:6380"]
        );
        assert!(cluster_seeds("redis+cluster://").is_none());
        assert!(cluster_seeds("redis://a:1").is_none());
        assert!(is_cluster_url("redis+cluster://a:1"));
        assert!(!is_cluster_url("redis://a:1"));
    }
}
