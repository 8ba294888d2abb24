//! The workspace's dependency rules: the real workspace is clean, and every
//! rule fires on a synthetic graph that breaks it.

use hub_architecture_tests::{DepKind, Graph, Rule, Violation, check};
use std::path::PathBuf;

use DepKind::{Build, Dev, Normal};

fn workspace_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")
}

fn report(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  - {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rules `check` reports for the dependency `krate -> dependency`.
fn rules_for(violations: &[Violation], krate: &str, dependency: &str) -> Vec<Rule> {
    violations
        .iter()
        .filter(|v| v.krate == krate && v.dependency == dependency)
        .map(|v| v.rule)
        .collect()
}

/// Asserts that `graph` yields exactly one violation, of `rule`, on `krate -> dependency`.
fn assert_single(graph: &Graph, krate: &str, dependency: &str, rule: Rule) {
    let violations = check(graph);
    assert_eq!(
        rules_for(&violations, krate, dependency),
        vec![rule],
        "expected {krate} -> {dependency} to break {rule:?}; got:\n{}",
        report(&violations)
    );
    assert_eq!(
        violations.len(),
        1,
        "unexpected extra violations:\n{}",
        report(&violations)
    );
}

/// A graph shaped like the intended workspace, breaking no rule.
fn clean_graph() -> Graph {
    Graph::new()
        .with_package_at(
            "hub-kernel",
            "crates/kernel",
            &[
                ("serde", Normal),
                ("uuid", Normal),
                ("time", Normal),
                ("async-trait", Normal),
                ("mockall", Normal),
                ("tokio", Dev),
                ("proptest", Dev),
            ],
        )
        .with_package_at(
            "hub-platform-postgres",
            "crates/platform/postgres",
            &[
                ("hub-kernel", Normal),
                ("diesel", Normal),
                ("diesel-async", Normal),
                ("deadpool", Normal),
                ("tokio", Normal),
            ],
        )
        .with_package_at(
            "hub-platform-test-db",
            "crates/platform/test-db",
            &[("hub-platform-postgres", Normal), ("diesel", Normal)],
        )
        .with_package_at(
            "hub-chantiers-domain",
            "crates/chantiers/domain",
            &[
                ("hub-kernel", Normal),
                ("serde", Normal),
                ("thiserror", Normal),
                ("proptest", Dev),
            ],
        )
        .with_package_at(
            "hub-chantiers-application",
            "crates/chantiers/application",
            &[
                ("hub-kernel", Normal),
                ("hub-chantiers-domain", Normal),
                ("async-trait", Normal),
                ("mockall", Dev),
                ("tokio", Dev),
            ],
        )
        .with_package_at(
            "hub-chantiers-infrastructure",
            "crates/chantiers/infrastructure",
            &[
                ("hub-kernel", Normal),
                ("hub-chantiers-domain", Normal),
                ("hub-chantiers-application", Normal),
                ("hub-platform-postgres", Normal),
                ("hub-platform-http", Normal),
                ("diesel", Normal),
                ("actix-web", Normal),
                ("tokio", Normal),
                ("hub-platform-test-db", Dev),
            ],
        )
        .with_package_at(
            "hub-planning-charge-domain",
            "crates/planning_charge/domain",
            &[("hub-kernel", Normal)],
        )
        .with_package_at(
            "hub-webhooks-infrastructure",
            "crates/webhooks/infrastructure",
            &[
                ("hub-kernel", Normal),
                ("reqwest", Normal),
                ("hickory-resolver", Normal),
            ],
        )
        .with_package_at(
            "hub-chantier",
            "apps/api",
            &[
                ("hub-chantiers-infrastructure", Normal),
                ("hub-webhooks-infrastructure", Normal),
                ("hub-identity-domain", Normal),
                ("actix-web", Normal),
                ("reqwest", Normal),
            ],
        )
        .with_package_at(
            "hub-e2e-tests",
            "tests/e2e",
            &[("hub-chantiers-domain", Dev), ("reqwest", Dev)],
        )
}

#[test]
fn real_workspace_respects_the_dependency_rules() {
    let manifest = workspace_manifest();
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .unwrap_or_else(|e| panic!("cargo metadata on {} failed: {e}", manifest.display()));
    let graph = Graph::from_metadata(&metadata);
    assert!(
        graph.packages.iter().any(|p| p.name == "hub-kernel"),
        "the workspace graph looks wrong (no hub-kernel): {:?}",
        graph.packages.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    assert!(
        graph
            .packages
            .iter()
            .any(|p| p.name == "hub-kernel" && p.path.as_deref() == Some("crates/kernel")),
        "manifest paths were not made relative to the workspace root"
    );
    let violations = check(&graph);
    assert!(
        violations.is_empty(),
        "{} dependency rule violation(s) in the workspace (see docs/ARCHITECTURE.md):\n{}",
        violations.len(),
        report(&violations)
    );
}

#[test]
fn real_metadata_of_a_violating_workspace_is_caught() {
    // The fixture `make deny` feeds to cargo-deny: hub-chantiers-domain -> diesel.
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/deny-violation/Cargo.toml");
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .unwrap_or_else(|e| panic!("cargo metadata on {} failed: {e}", manifest.display()));
    let violations = check(&Graph::from_metadata(&metadata));
    assert_eq!(
        rules_for(&violations, "hub-chantiers-domain", "diesel"),
        vec![Rule::FrameworkInPureLayer],
        "{}",
        report(&violations)
    );
}

#[test]
fn clean_synthetic_graph_passes() {
    let violations = check(&clean_graph());
    assert!(violations.is_empty(), "{}", report(&violations));
}

#[test]
fn empty_graph_passes() {
    assert!(check(&Graph::new()).is_empty());
}

#[test]
fn domain_on_diesel_is_refused() {
    let graph = clean_graph().with_package("hub-pointages-domain", &[("diesel", Normal)]);
    assert_single(
        &graph,
        "hub-pointages-domain",
        "diesel",
        Rule::FrameworkInPureLayer,
    );
}

#[test]
fn application_on_tokio_is_refused() {
    let graph = clean_graph().with_package("hub-planning-application", &[("tokio", Normal)]);
    assert_single(
        &graph,
        "hub-planning-application",
        "tokio",
        Rule::FrameworkInPureLayer,
    );
}

#[test]
fn every_framework_is_refused_in_domain_and_application() {
    for framework in [
        "diesel",
        "diesel-async",
        "diesel_migrations",
        "deadpool",
        "actix-web",
        "actix-rt",
        "reqwest",
        "hickory-resolver",
        "tokio",
        "tokio-util",
        "async-nats",
        "utoipa",
        "utoipa-actix-web",
        "hub-platform-postgres",
        "hub-platform-event-bus",
        "hub-platform-http",
        "hub-platform-test-db",
    ] {
        for krate in ["hub-documents-domain", "hub-documents-application"] {
            let graph = Graph::new().with_package(krate, &[(framework, Normal)]);
            assert_single(&graph, krate, framework, Rule::FrameworkInPureLayer);
        }
    }
}

#[test]
fn build_dependencies_count_as_shipped() {
    let graph = Graph::new().with_package("hub-logistique-domain", &[("tokio", Build)]);
    assert_single(
        &graph,
        "hub-logistique-domain",
        "tokio",
        Rule::FrameworkInPureLayer,
    );
}

#[test]
fn dev_dependencies_on_runtimes_are_allowed_in_pure_layers() {
    let graph = Graph::new()
        .with_package("hub-logistique-domain", &[("tokio", Dev)])
        .with_package(
            "hub-logistique-application",
            &[("tokio", Dev), ("mockall", Dev)],
        );
    let violations = check(&graph);
    assert!(violations.is_empty(), "{}", report(&violations));
}

#[test]
fn domain_on_its_application_or_infrastructure_is_refused() {
    let graph = Graph::new().with_package(
        "hub-signalements-domain",
        &[
            ("hub-signalements-application", Normal),
            ("hub-signalements-infrastructure", Dev),
        ],
    );
    let violations = check(&graph);
    assert_eq!(
        rules_for(
            &violations,
            "hub-signalements-domain",
            "hub-signalements-application"
        ),
        vec![Rule::DomainOnOuterLayer]
    );
    assert_eq!(
        rules_for(
            &violations,
            "hub-signalements-domain",
            "hub-signalements-infrastructure"
        ),
        vec![Rule::DomainOnOuterLayer]
    );
    assert_eq!(violations.len(), 2, "{}", report(&violations));
}

#[test]
fn application_on_its_infrastructure_is_refused() {
    let graph = clean_graph().with_package(
        "hub-identity-application",
        &[
            ("hub-identity-domain", Normal),
            ("hub-identity-infrastructure", Normal),
        ],
    );
    assert_single(
        &graph,
        "hub-identity-application",
        "hub-identity-infrastructure",
        Rule::ApplicationOnInfrastructure,
    );
}

#[test]
fn infrastructure_on_another_context_is_refused() {
    let graph = clean_graph().with_package(
        "hub-chantiers-infrastructure",
        &[("hub-identity-domain", Normal)],
    );
    assert_single(
        &graph,
        "hub-chantiers-infrastructure",
        "hub-identity-domain",
        Rule::CrossContext,
    );
}

#[test]
fn cross_context_is_refused_for_every_layer_and_dependency_kind() {
    for kind in [Normal, Build, Dev] {
        for (from, to) in [
            ("hub-planning-domain", "hub-chantiers-domain"),
            ("hub-planning-application", "hub-chantiers-domain"),
            ("hub-planning-infrastructure", "hub-chantiers-application"),
            (
                "hub-planning-infrastructure",
                "hub-chantiers-infrastructure",
            ),
            // `planning` and `planning-charge` are different contexts.
            ("hub-planning-charge-domain", "hub-planning-domain"),
            ("hub-planning-domain", "hub-planning-charge-domain"),
        ] {
            let graph = Graph::new().with_package(from, &[(to, kind)]);
            let violations = check(&graph);
            assert!(
                rules_for(&violations, from, to).contains(&Rule::CrossContext),
                "{from} -> {to} ({kind}) not refused:\n{}",
                report(&violations)
            );
        }
    }
}

#[test]
fn domain_on_another_contexts_application_breaks_two_rules() {
    let graph = Graph::new().with_package(
        "hub-documents-domain",
        &[("hub-chantiers-application", Normal)],
    );
    let violations = check(&graph);
    let mut rules = rules_for(
        &violations,
        "hub-documents-domain",
        "hub-chantiers-application",
    );
    rules.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(rules, vec![Rule::CrossContext, Rule::DomainOnOuterLayer]);
}

#[test]
fn kernel_on_a_platform_crate_is_refused() {
    let graph = Graph::new().with_package("hub-kernel", &[("hub-platform-event-bus", Normal)]);
    assert_single(
        &graph,
        "hub-kernel",
        "hub-platform-event-bus",
        Rule::KernelDependency,
    );
}

#[test]
fn kernel_on_any_workspace_crate_is_refused_whatever_the_kind() {
    for dep in [
        "hub-chantiers-domain",
        "hub-chantier",
        "hub-platform-test-db",
    ] {
        for kind in [Normal, Build, Dev] {
            let graph = Graph::new().with_package("hub-kernel", &[(dep, kind)]);
            assert_single(&graph, "hub-kernel", dep, Rule::KernelDependency);
        }
    }
}

#[test]
fn kernel_on_a_framework_is_refused_but_may_test_with_tokio() {
    let graph = Graph::new().with_package("hub-kernel", &[("actix-web", Normal), ("tokio", Dev)]);
    assert_single(&graph, "hub-kernel", "actix-web", Rule::KernelDependency);
}

#[test]
fn platform_on_a_context_crate_is_refused() {
    for kind in [Normal, Dev] {
        let graph =
            Graph::new().with_package("hub-platform-http", &[("hub-identity-application", kind)]);
        assert_single(
            &graph,
            "hub-platform-http",
            "hub-identity-application",
            Rule::PlatformOnContext,
        );
    }
}

#[test]
fn misnamed_crates_are_reported() {
    let graph = Graph::new()
        .with_package_at("chantiers-domain", "crates/chantiers/domain", &[])
        .with_package_at(
            "hub-planning-charge-domain",
            "crates/planning_charge/domain",
            &[],
        )
        .with_package_at("hub-postgres", "crates/platform/postgres", &[])
        .with_package_at("kernel", "crates/kernel", &[])
        .with_package_at("hub-webhooks-adapters", "crates/webhooks/adapters", &[]);
    let violations = check(&graph);
    let naming: Vec<(&str, &str)> = violations
        .iter()
        .filter(|v| v.rule == Rule::Naming)
        .map(|v| (v.krate.as_str(), v.dependency.as_str()))
        .collect();
    assert_eq!(
        naming,
        vec![
            ("chantiers-domain", "hub-chantiers-domain"),
            ("hub-postgres", "hub-platform-postgres"),
            ("kernel", "hub-kernel"),
            (
                "hub-webhooks-adapters",
                "hub-webhooks-{domain|application|infrastructure}"
            ),
        ],
        "{}",
        report(&violations)
    );
    assert_eq!(violations.len(), 4, "{}", report(&violations));
}

#[test]
fn the_application_and_test_crates_may_depend_on_everything() {
    let graph = Graph::new()
        .with_package(
            "hub-chantier",
            &[
                ("hub-identity-infrastructure", Normal),
                ("hub-chantiers-infrastructure", Normal),
                ("hub-platform-postgres", Normal),
                ("diesel", Normal),
                ("tokio", Normal),
            ],
        )
        .with_package(
            "hub-architecture-tests",
            &[("cargo_metadata", Normal), ("hub-kernel", Dev)],
        );
    let violations = check(&graph);
    assert!(violations.is_empty(), "{}", report(&violations));
}

#[test]
fn violations_are_readable() {
    let graph = Graph::new().with_package("hub-chantiers-domain", &[("diesel", Normal)]);
    let text = report(&check(&graph));
    assert!(
        text.contains("hub-chantiers-domain -> diesel (normal dependency)"),
        "{text}"
    );
}
