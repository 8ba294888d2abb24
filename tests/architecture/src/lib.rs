//! Architecture rules of the Hub Chantier workspace, checked against its crate graph.
//!
//! The rules (see `docs/ARCHITECTURE.md` and `docs/DESIGN.md` §1) are:
//!
//! 1. a `domain` or `application` crate does not depend (normal or build
//!    dependency) on a framework or runtime: `diesel*`, `deadpool*`, `actix*`,
//!    `reqwest`, `hickory*`, `tokio`/`tokio-*`, `async-nats`, `utoipa*`, nor on
//!    any `hub-platform-*` crate (dev-dependencies may, e.g. `tokio` for async tests);
//! 2. a `domain` crate does not depend on an `application` or `infrastructure` crate;
//! 3. an `application` crate does not depend on an `infrastructure` crate;
//! 4. no crate of one bounded context depends, with any kind of dependency, on a
//!    crate of another context: contexts talk through events only;
//! 5. `hub-kernel` depends on no other workspace crate (any kind) and on no
//!    framework or runtime (normal or build dependency);
//! 6. a `hub-platform-*` crate depends on no context crate (any kind);
//! 7. crates are classified by name (`hub-<context>-<layer>`, `hub-platform-*`,
//!    `hub-kernel`), so a crate under `crates/<context>/<layer>/`,
//!    `crates/platform/` or `crates/kernel/` must carry the matching name, or it
//!    would escape every other rule.
//!
//! `deny.toml` enforces the same ideas with cargo-deny bans where `wrappers`
//! can express them; this crate covers the rest (e.g. "no `tokio` in domain or
//! application crates", which a ban cannot say because tokio is used widely).
//!
//! [`check`] is pure: it takes a [`Graph`], built from real `cargo metadata`
//! with [`Graph::from_metadata`] or by hand with [`Graph::with_package`] in tests.

use std::fmt;

/// Kind of a declared dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[build-dependencies]`.
    Build,
    /// `[dev-dependencies]`.
    Dev,
}

impl DepKind {
    /// Normal and build dependencies end up in the crate's own artefact.
    #[must_use]
    pub fn is_shipped(self) -> bool {
        matches!(self, Self::Normal | Self::Build)
    }
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Normal => "normal",
            Self::Build => "build",
            Self::Dev => "dev",
        })
    }
}

/// One declared dependency of a workspace crate (by package name, not rename).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// Package name of the dependency.
    pub name: String,
    /// Where it is declared.
    pub kind: DepKind,
}

/// A workspace crate and its declared dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Directory of the manifest relative to the workspace root, `/`-separated
    /// (e.g. `crates/chantiers/domain`); `None` when unknown.
    pub path: Option<String>,
    /// Declared dependencies (all targets, optional ones included).
    pub deps: Vec<Dep>,
}

/// The workspace's crates: the only input of [`check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Workspace members.
    pub packages: Vec<Package>,
}

impl Graph {
    /// An empty graph.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a crate with its dependencies (builder style, for tests).
    #[must_use]
    pub fn with_package(self, name: &str, deps: &[(&str, DepKind)]) -> Self {
        self.push(name, None, deps)
    }

    /// Adds a crate located at `path` (relative to the workspace root).
    #[must_use]
    pub fn with_package_at(self, name: &str, path: &str, deps: &[(&str, DepKind)]) -> Self {
        self.push(name, Some(path.to_owned()), deps)
    }

    fn push(mut self, name: &str, path: Option<String>, deps: &[(&str, DepKind)]) -> Self {
        self.packages.push(Package {
            name: name.to_owned(),
            path,
            deps: deps
                .iter()
                .map(|&(name, kind)| Dep {
                    name: name.to_owned(),
                    kind,
                })
                .collect(),
        });
        self
    }

    /// The workspace members of real `cargo metadata` output (`--no-deps` is
    /// enough: only declared dependencies are looked at, whatever the features).
    #[must_use]
    pub fn from_metadata(metadata: &cargo_metadata::Metadata) -> Self {
        let root = metadata.workspace_root.as_std_path();
        let packages = metadata
            .workspace_packages()
            .into_iter()
            .map(|package| {
                let path = package
                    .manifest_path
                    .parent()
                    .and_then(|dir| dir.as_std_path().strip_prefix(root).ok())
                    .map(|rel| {
                        rel.components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    });
                Package {
                    name: package.name.to_string(),
                    path,
                    deps: package
                        .dependencies
                        .iter()
                        .map(|dep| Dep {
                            name: dep.name.clone(),
                            kind: match dep.kind {
                                cargo_metadata::DependencyKind::Development => DepKind::Dev,
                                cargo_metadata::DependencyKind::Build => DepKind::Build,
                                // Normal, and anything a future cargo may add: be strict.
                                _ => DepKind::Normal,
                            },
                        })
                        .collect(),
                }
            })
            .collect();
        Self { packages }
    }
}

/// Layer of a bounded-context crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Entities, value objects, invariants, events: pure Rust.
    Domain,
    /// Use cases and their ports.
    Application,
    /// Adapters: database, HTTP, clients.
    Infrastructure,
}

impl Layer {
    const ALL: [(Self, &'static str); 3] = [
        (Self::Domain, "domain"),
        (Self::Application, "application"),
        (Self::Infrastructure, "infrastructure"),
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Domain => "domain",
            Self::Application => "application",
            Self::Infrastructure => "infrastructure",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a crate is, judged by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrateClass {
    /// `hub-kernel`.
    Kernel,
    /// `hub-platform-*`.
    Platform,
    /// `hub-<context>-<layer>`; the context is in package-name form
    /// (`planning-charge` for the `planning_charge` context).
    Context {
        /// Bounded context, e.g. `chantiers`.
        context: String,
        /// Its layer.
        layer: Layer,
    },
    /// Any other `hub-*` crate: the application (`hub-chantier`), test crates.
    OtherWorkspace,
    /// A crate that is not ours.
    External,
}

/// Classifies a crate by its package name.
#[must_use]
pub fn classify(name: &str) -> CrateClass {
    if name == "hub-kernel" {
        return CrateClass::Kernel;
    }
    let Some(rest) = name.strip_prefix("hub-") else {
        return CrateClass::External;
    };
    if rest.starts_with("platform-") {
        return CrateClass::Platform;
    }
    for (layer, suffix) in Layer::ALL {
        if let Some(context) = rest.strip_suffix(suffix).and_then(|c| c.strip_suffix('-'))
            && !context.is_empty()
        {
            return CrateClass::Context {
                context: context.to_owned(),
                layer,
            };
        }
    }
    CrateClass::OtherWorkspace
}

/// Frameworks and runtimes that domain, application and kernel crates must not use.
#[must_use]
pub fn is_framework(name: &str) -> bool {
    const EXACT: &[&str] = &["reqwest", "tokio", "async-nats"];
    const PREFIXES: &[&str] = &[
        "diesel",
        "deadpool",
        "actix",
        "hickory",
        "tokio-",
        "utoipa",
        "hub-platform-",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Which rule a dependency breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A domain or application crate uses a framework, runtime or platform crate.
    FrameworkInPureLayer,
    /// A domain crate depends on an application or infrastructure crate.
    DomainOnOuterLayer,
    /// An application crate depends on an infrastructure crate.
    ApplicationOnInfrastructure,
    /// A crate of one context depends on a crate of another context.
    CrossContext,
    /// The kernel depends on a workspace crate or a framework.
    KernelDependency,
    /// A platform crate depends on a context crate.
    PlatformOnContext,
    /// A crate's name does not match where it lives, so it would escape the rules.
    Naming,
}

impl Rule {
    /// Human explanation of the rule.
    #[must_use]
    pub fn explanation(self) -> &'static str {
        match self {
            Self::FrameworkInPureLayer => {
                "domain and application crates must not depend on frameworks, runtimes or platform crates (normal/build dependencies)"
            }
            Self::DomainOnOuterLayer => {
                "a domain crate must not depend on an application or infrastructure crate"
            }
            Self::ApplicationOnInfrastructure => {
                "an application crate must not depend on an infrastructure crate"
            }
            Self::CrossContext => {
                "no crate of one bounded context may depend on a crate of another context (contexts talk through events)"
            }
            Self::KernelDependency => {
                "hub-kernel must not depend on workspace crates, nor on frameworks or runtimes (normal/build dependencies)"
            }
            Self::PlatformOnContext => "platform crates must not depend on context crates",
            Self::Naming => {
                "crates are classified by name: crates/<context>/<layer> must be hub-<context>-<layer> (`_` → `-`), crates/platform/* hub-platform-*, crates/kernel hub-kernel"
            }
        }
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The workspace crate at fault.
    pub krate: String,
    /// The dependency that breaks the rule (for [`Rule::Naming`], the expected name).
    pub dependency: String,
    /// Kind of that dependency (for [`Rule::Naming`], `Normal`).
    pub kind: DepKind,
    /// The rule.
    pub rule: Rule,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rule == Rule::Naming {
            write!(
                f,
                "{}: misnamed, expected {} — {}",
                self.krate,
                self.dependency,
                self.rule.explanation()
            )
        } else {
            write!(
                f,
                "{} -> {} ({} dependency): {}",
                self.krate,
                self.dependency,
                self.kind,
                self.rule.explanation()
            )
        }
    }
}

/// Every violation of the dependency rules in `graph`, in a stable order
/// (crate order, then dependency order). Empty means the graph is clean.
#[must_use]
pub fn check(graph: &Graph) -> Vec<Violation> {
    let mut out = Vec::new();
    for package in &graph.packages {
        if let Some(expected) = naming_problem(package) {
            out.push(Violation {
                krate: package.name.clone(),
                dependency: expected,
                kind: DepKind::Normal,
                rule: Rule::Naming,
            });
        }
        let from = classify(&package.name);
        for dep in &package.deps {
            for rule in broken_rules(&from, dep) {
                out.push(Violation {
                    krate: package.name.clone(),
                    dependency: dep.name.clone(),
                    kind: dep.kind,
                    rule,
                });
            }
        }
    }
    out
}

fn broken_rules(from: &CrateClass, dep: &Dep) -> Vec<Rule> {
    let to = classify(&dep.name);
    let mut rules = Vec::new();
    match from {
        CrateClass::Kernel => {
            let workspace = !matches!(to, CrateClass::External);
            if workspace || (dep.kind.is_shipped() && is_framework(&dep.name)) {
                rules.push(Rule::KernelDependency);
            }
        }
        CrateClass::Platform => {
            if matches!(to, CrateClass::Context { .. }) {
                rules.push(Rule::PlatformOnContext);
            }
        }
        CrateClass::Context { context, layer } => {
            if matches!(layer, Layer::Domain | Layer::Application)
                && dep.kind.is_shipped()
                && is_framework(&dep.name)
            {
                rules.push(Rule::FrameworkInPureLayer);
            }
            if let CrateClass::Context {
                context: to_context,
                layer: to_layer,
            } = &to
            {
                match (layer, to_layer) {
                    (Layer::Domain, Layer::Application | Layer::Infrastructure) => {
                        rules.push(Rule::DomainOnOuterLayer);
                    }
                    (Layer::Application, Layer::Infrastructure) => {
                        rules.push(Rule::ApplicationOnInfrastructure);
                    }
                    _ => {}
                }
                if to_context != context {
                    rules.push(Rule::CrossContext);
                }
            }
        }
        CrateClass::OtherWorkspace | CrateClass::External => {}
    }
    rules
}

/// The name a crate must carry given where it lives, when it does not.
fn naming_problem(package: &Package) -> Option<String> {
    let path = package.path.as_deref()?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["crates", "kernel"] => (package.name != "hub-kernel").then(|| "hub-kernel".to_owned()),
        ["crates", "platform", dir] => {
            let ok = classify(&package.name) == CrateClass::Platform;
            (!ok).then(|| format!("hub-platform-{dir}"))
        }
        ["crates", context, layer] => {
            let context = context.replace('_', "-");
            if Layer::ALL.iter().any(|(_, l)| l == layer) {
                let expected = format!("hub-{context}-{layer}");
                (package.name != expected).then_some(expected)
            } else {
                // Not a layer directory: the crate escapes classification.
                Some(format!(
                    "hub-{context}-{{domain|application|infrastructure}}"
                ))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name() {
        assert_eq!(classify("hub-kernel"), CrateClass::Kernel);
        assert_eq!(classify("hub-platform-postgres"), CrateClass::Platform);
        assert_eq!(
            classify("hub-planning-charge-domain"),
            CrateClass::Context {
                context: "planning-charge".into(),
                layer: Layer::Domain
            }
        );
        assert_eq!(
            classify("hub-planning-infrastructure"),
            CrateClass::Context {
                context: "planning".into(),
                layer: Layer::Infrastructure
            }
        );
        assert_eq!(classify("hub-chantier"), CrateClass::OtherWorkspace);
        assert_eq!(classify("hub-e2e-tests"), CrateClass::OtherWorkspace);
        assert_eq!(classify("hub-domain"), CrateClass::OtherWorkspace);
        assert_eq!(classify("serde"), CrateClass::External);
    }

    #[test]
    fn recognises_frameworks() {
        for name in [
            "diesel",
            "diesel-async",
            "diesel_migrations",
            "deadpool",
            "deadpool-runtime",
            "actix-web",
            "actix-rt",
            "reqwest",
            "hickory-resolver",
            "tokio",
            "tokio-util",
            "async-nats",
            "utoipa",
            "utoipa-actix-web",
            "hub-platform-event-bus",
        ] {
            assert!(is_framework(name), "{name}");
        }
        for name in [
            "serde",
            "uuid",
            "time",
            "thiserror",
            "async-trait",
            "hub-kernel",
        ] {
            assert!(!is_framework(name), "{name}");
        }
    }
}
