//! `[cluster]`: several machines as one service ([`ClusterOptions`]), its
//! config-file table ([`ClusterConfig`]) and the checks on its values.

use serde::Deserialize;

use super::{Layer, OptionsError, invalid};

/// `[cluster]` as the config file gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Where Redis (or Valkey) is: `redis://host:port/db`.
    pub redis_url: String,
    /// This node's name; the host name when absent.
    #[serde(default)]
    pub node: Option<String>,
    /// How the other nodes reach this one: `http://10.0.0.5:7681`.
    pub advertise_url: String,
}

/// Several machines as one service, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `redis://`, `redis+unix://` or `unix://` (no TLS client is built in).
    pub redis_url: String,
    /// This node's name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub node: String,
    /// `http://host:port`, no path, no trailing `/`: the
    /// other nodes append a request's whole path (with `base_path`) to it.
    pub advertise_url: String,
}

impl ClusterOptions {
    /// Checks `[cluster]` from the layer `source`; `hostname` is the
    /// default node name.
    pub fn from_config(
        c: ClusterConfig,
        source: &Layer,
        hostname: impl FnOnce() -> Option<String>,
    ) -> Result<ClusterOptions, OptionsError> {
        let redis_url =
            check_redis_url(&c.redis_url).map_err(|m| invalid("cluster.redis_url", source, m))?;
        let node = match c.node {
            Some(node) => node,
            None => hostname().ok_or_else(|| {
                invalid(
                    "cluster.node",
                    source,
                    "the host name could not be read: give the node a name",
                )
            })?,
        };
        check_node_name(&node).map_err(|m| invalid("cluster.node", source, m))?;
        let advertise_url = check_advertise_url(&c.advertise_url)
            .map_err(|m| invalid("cluster.advertise_url", source, m))?;
        Ok(ClusterOptions {
            redis_url,
            node,
            advertise_url,
        })
    }
}

/// The machine's host name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

fn check_redis_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let ok = ["redis://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme));
    if !ok {
        return Err(format!(
            "\"{url}\" is not a Redis URL: give redis://host:port/db (or redis+unix:///path)"
        ));
    }
    redis::Client::open(url).map_err(|e| format!("\"{url}\" is not a Redis URL: {e}"))?;
    Ok(url.to_owned())
}

/// A node name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_node_name(node: &str) -> Result<(), String> {
    let ok = !node.is_empty()
        && node.len() <= 64
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{node}\" is not a node name: 1 to 64 letters, digits, '.', '_' or '-'"
        ))
    }
}

fn check_advertise_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    // Nodes speak plain HTTP to each other (no TLS client is built in).
    let rest = url.strip_prefix("http://");
    let bad =
        || format!("\"{url}\" is not a node's address: give http://host:port, without a path");
    let Some(authority) = rest else {
        return Err(bad());
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    url.parse::<warp::http::Uri>().map_err(|_| bad())?;
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(redis: &str, node: Option<&str>, url: &str) -> ClusterConfig {
        ClusterConfig {
            redis_url: redis.to_owned(),
            node: node.map(str::to_owned),
            advertise_url: url.to_owned(),
        }
    }

    #[test]
    fn values_are_checked_and_normalised() {
        let o = ClusterOptions::from_config(
            config(
                "redis://127.0.0.1:6379/0",
                Some("node-a"),
                "http://10.0.0.5:7681/",
            ),
            &Layer::Default,
            || None,
        )
        .unwrap();
        assert_eq!(o.advertise_url, "http://10.0.0.5:7681");
        assert_eq!(o.node, "node-a");
        let o = ClusterOptions::from_config(
            config("redis://r", None, "http://a.example"),
            &Layer::Default,
            || Some("box1".to_owned()),
        )
        .unwrap();
        assert_eq!(o.node, "box1");
        for (redis, node, url, key) in [
            ("http://r", Some("a"), "http://a:1", "cluster.redis_url"),
            ("redis://r", Some("a b"), "http://a:1", "cluster.node"),
            ("redis://r", Some(""), "http://a:1", "cluster.node"),
            ("redis://r", Some("a"), "ftp://a:1", "cluster.advertise_url"),
            (
                "redis://r",
                Some("a"),
                "http://a:1/pty",
                "cluster.advertise_url",
            ),
            ("redis://r", Some("a"), "http://", "cluster.advertise_url"),
            (
                "redis://r",
                Some("a"),
                "https://a:1",
                "cluster.advertise_url",
            ),
        ] {
            let err =
                ClusterOptions::from_config(config(redis, node, url), &Layer::Default, || None)
                    .unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        let err = ClusterOptions::from_config(
            config("redis://r", None, "http://a:1"),
            &Layer::Default,
            || None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("host name"), "{err}");
    }
}
