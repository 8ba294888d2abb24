//! [`DestinationPolicy`] with the SSRF-safe outbound client: the URL rules,
//! then every address the host resolves to, as deliveries will check them.

use async_trait::async_trait;
use hub_platform_outbound::OutboundClient;
use hub_webhooks_application::{DestinationPolicy, UrlRefused};

/// Checks webhook URLs with the same client (policy, allow-list, resolver)
/// that delivers to them.
#[derive(Debug, Clone)]
pub struct OutboundDestinations {
    client: OutboundClient,
}

impl OutboundDestinations {
    pub fn new(client: OutboundClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl DestinationPolicy for OutboundDestinations {
    async fn check(&self, url: &str) -> Result<String, UrlRefused> {
        let parsed = self
            .client
            .parse_url(url)
            .map_err(|e| UrlRefused(e.to_string()))?;
        self.client
            .check_destination(&parsed)
            .await
            .map_err(|e| UrlRefused(e.to_string()))?;
        Ok(parsed.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::IpAddr;
    use std::sync::Arc;

    use hub_platform_outbound::{AllowList, FixtureResolver, OutboundConfig};

    use super::*;

    fn policy(resolver: FixtureResolver, config: OutboundConfig) -> OutboundDestinations {
        OutboundDestinations::new(OutboundClient::new(config, Arc::new(resolver)).unwrap())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn accepts_public_destinations_normalised() {
        let resolver = FixtureResolver::new().with("hooks.example.com", [ip("93.184.216.34")]);
        let destinations = policy(resolver, OutboundConfig::default());
        assert_eq!(
            destinations
                .check("HTTPS://Hooks.Example.com/in?x=1")
                .await
                .unwrap(),
            "https://hooks.example.com/in?x=1"
        );
        assert_eq!(
            destinations.check("https://8.8.8.8/").await.unwrap(),
            "https://8.8.8.8/"
        );
    }

    #[tokio::test]
    async fn refusals_name_the_rule() {
        let resolver =
            FixtureResolver::new().with("mixed.example.com", [ip("93.184.216.34"), ip("10.0.0.5")]);
        resolver.set_failure("down.example.com", "no name server answered");
        let destinations = policy(resolver, OutboundConfig::default());
        for (url, message) in [
            ("http://hooks.example.com/", "must use https (got \"http\")"),
            (
                "https://mixed.example.com/",
                "resolves to a forbidden address",
            ),
            ("https://10.0.0.1/", "host is a forbidden address"),
            ("https://2130706433/", "host is a forbidden address"),
            (
                "https://user:pw@hooks.example.com/",
                "must not contain credentials",
            ),
            ("https://nowhere.example.com/", "host not found"),
            ("https://down.example.com/", "could not be resolved"),
            ("not a url", "is not a valid URL"),
        ] {
            let refused = destinations.check(url).await.unwrap_err();
            assert!(
                refused.to_string().starts_with("url ") && refused.0.contains(message),
                "{url}: {refused}"
            );
        }
    }

    #[tokio::test]
    async fn a_refusal_never_tells_where_a_name_points() {
        let resolver = FixtureResolver::new()
            .with("intranet.example.com", [ip("10.20.30.40")])
            .with("metadata.example.com", [ip("169.254.169.254")])
            .with("self.example.com", [ip("::1")]);
        let destinations = policy(resolver, OutboundConfig::default());
        for (host, address, range) in [
            ("intranet.example.com", "10.20.30.40", "private"),
            ("metadata.example.com", "169.254.169.254", "link-local"),
            ("self.example.com", "::1", "loopback"),
        ] {
            let refused = destinations
                .check(&format!("https://{host}/hook"))
                .await
                .unwrap_err();
            // The exact text: nothing but the rule, whatever the address.
            assert_eq!(refused.0, "resolves to a forbidden address", "{host}");
            assert!(!refused.0.contains(address) && !refused.0.contains(range));
        }
    }

    #[tokio::test]
    async fn the_deployment_switches_apply() {
        let resolver = FixtureResolver::new().with("receiver.test", [ip("127.0.0.1")]);
        let destinations = policy(
            resolver,
            OutboundConfig {
                allow_http: true,
                allowed_cidrs: AllowList::parse("127.0.0.0/8").unwrap(),
                ..OutboundConfig::default()
            },
        );
        assert_eq!(
            destinations
                .check("http://receiver.test:8080/hook")
                .await
                .unwrap(),
            "http://receiver.test:8080/hook"
        );
    }
}
