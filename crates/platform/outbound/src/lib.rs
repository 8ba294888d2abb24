//! Outbound HTTP for webhook deliveries that refuses to reach non-public destinations:
//! the SSRF policy, vetted DNS (no rebinding), manual redirects and capped bodies.

mod client;
pub mod policy;
pub mod resolve;
pub mod url;

pub use bytes::Bytes;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub use crate::client::{
    BuildError, ErrorKind, OutboundClient, OutboundConfig, OutboundError, OutboundResponse,
    RedirectError,
};
pub use crate::policy::{
    AllowList, AllowListError, Forbidden, ForbiddenAddress, forbidden_reason, is_forbidden,
};
pub use crate::resolve::{
    FixtureResolver, HickoryResolver, NameResolver, ResolveError, ResolverInitError,
};
pub use crate::url::{DestinationRefused, MAX_URL_CHARS, UrlError, WebhookUrl, check_destination};
