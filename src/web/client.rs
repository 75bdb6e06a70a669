//! The client's address, for rate limits and the sender's view log.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, header, request::Parts};
use ipnet::IpNet;

use super::state::AppState;
use crate::service::Client;

/// The client IP (believing `X-Forwarded-For` only from trusted proxies)
/// and user agent.
#[derive(Debug, Clone)]
pub struct ClientAddr {
    pub ip: IpAddr,
    pub user_agent: String,
    /// The connection came from a trusted proxy (whose headers we believe).
    pub via_trusted_proxy: bool,
}

impl ClientAddr {
    #[must_use]
    pub fn to_client(&self) -> Client {
        Client {
            ip: self.ip.to_string(),
            user_agent: self.user_agent.clone(),
            staff: None,
        }
    }
}

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies; the
/// first address that is not one is the client.
fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or_else(|| forwarded.first())
        .copied()
        .unwrap_or(peer)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        let trusted = &state.settings.trusted_proxies;
        Ok(Self {
            ip: client_ip(peer, &parts.headers, trusted),
            user_agent,
            via_trusted_proxy: trusted.iter().any(|net| net.contains(&peer)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &headers("1.2.3.4"), &[]), peer);
    }

    #[test]
    fn trusted_proxy_chain_yields_the_first_untrusted_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = client_ip(peer, &headers("6.6.6.6, 198.51.100.7, 10.0.0.3"), &trusted);
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
    }
}
