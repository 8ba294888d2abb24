//! What a developer's first start of the server tells them: how to create
//! the first administrator while there is none, and that webhook receivers
//! on plain `http://` are accepted when `WEBHOOKS_ALLOW_HTTP` says so (as
//! `make run` sets it, for `hub-chantier listen`).

use hub_identity_application::{UserFilter, UserRepository};
use hub_identity_infrastructure::DieselUserRepository;
use hub_kernel::{Page, Role};
use hub_platform_context::{Lookup, parse};
use hub_platform_postgres::Database;

/// The line printed while no active administrator exists.
pub const NO_ADMINISTRATOR: &str = "no administrator exists yet: create the first one with \
     `make admin EMAIL=you@example.com` (from the repository), or \
     `hub-chantier create-admin --email you@example.com`";

/// Whether at least one active administrator exists.
pub async fn administrator_exists(database: &Database) -> anyhow::Result<bool> {
    let filter = UserFilter {
        role: Some(Role::Admin),
        is_active: Some(true),
    };
    let (_, total) = DieselUserRepository::new(database.clone())
        .list(&filter, Page { skip: 0, limit: 1 })
        .await?;
    Ok(total > 0)
}

/// The warning to log about plain-HTTP webhook receivers, if they are on
/// (`WEBHOOKS_ALLOW_HTTP`, already validated by the webhooks context).
pub fn plain_http_receivers(lookup: &Lookup) -> Option<String> {
    let allowed = lookup("WEBHOOKS_ALLOW_HTTP")
        .and_then(|value| parse::switch(&value).ok())
        .unwrap_or(false);
    allowed.then(|| {
        let cidrs = lookup("WEBHOOKS_ALLOWED_CIDRS")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "none".to_owned());
        format!(
            "webhook receivers over plain http:// are accepted (WEBHOOKS_ALLOW_HTTP=true; \
             allowed despite the SSRF policy: WEBHOOKS_ALLOWED_CIDRS={cidrs}): \
             for development only, never in production"
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> Lookup {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Arc::new(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn plain_http_is_reported_only_when_on() {
        assert_eq!(plain_http_receivers(&lookup(&[])), None);
        assert_eq!(
            plain_http_receivers(&lookup(&[("WEBHOOKS_ALLOW_HTTP", "false")])),
            None
        );
        let line = plain_http_receivers(&lookup(&[
            ("WEBHOOKS_ALLOW_HTTP", "true"),
            ("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8,::1/128"),
        ]))
        .unwrap();
        assert!(
            line.contains("WEBHOOKS_ALLOWED_CIDRS=127.0.0.0/8,::1/128"),
            "{line}"
        );
        assert!(line.contains("development only"), "{line}");
    }
}
