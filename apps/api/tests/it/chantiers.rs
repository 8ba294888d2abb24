//! Chantiers over HTTP: every route, every role, every error path, and the
//! events each change leaves in the outbox.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Role, TestHub};

/// Opens a chantier run by the hub's conducteur.
async fn create(hub: &TestHub, who: As<'_>, code: &str) -> Value {
    let body = json!({
        "code": code, "nom": format!("Chantier {code}"), "adresse": "1 quai de Seine, Paris",
        "conducteur_ids": [conducteur_id(hub).await]
    });
    hub.expect(201, Method::POST, "/api/v1/chantiers", who, body)
        .await
}

async fn conducteur_id(hub: &TestHub) -> String {
    hub.user(Role::Conducteur).await.id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_chantier_through_every_route() {
    let mut s = TestHub::start().await;
    let conducteur_id = conducteur_id(&s).await;
    let (status, created) = s
        .call(
            Method::POST,
            "/api/v1/chantiers",
            As::Conducteur,
            Some(json!({
                "code": "ch-2026-001", "nom": "Tour Alpha", "adresse": "1 quai de Seine\n75001 Paris",
                "couleur": "#ff8800", "coordonnees_gps": {"latitude": 48.8566, "longitude": 2.3522},
                "contact": {"nom": "M. Leroy", "telephone": "01 23 45 67 89"},
                "heures_estimees": 1200.5, "date_debut": "2026-12-01", "date_fin": "2027-06-30",
                "conducteur_ids": [conducteur_id]
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["code"], "CH-2026-001");
    assert_eq!(created["couleur"], "#FF8800");
    assert_eq!(created["statut"], "ouvert");
    assert_eq!(created["date_debut"], "2026-12-01");
    assert_eq!(created["coordonnees_gps"]["latitude"], 48.8566);
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/chantiers/{id}");

    // Admins and conducteurs read it, and read what the creation answered
    // (chefs and compagnons see only their own: see the scoping tests).
    for token in [As::Admin, As::Conducteur] {
        let (status, body) = s.call(Method::GET, &path, token, None).await;
        assert_eq!((status, body["id"].as_str()), (200, Some(id.as_str())));
        assert_eq!(body, created);
    }
    let (status, list) = s
        .call(
            Method::GET,
            "/api/v1/chantiers?statut=ouvert&q=alpha",
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(1)));

    let (status, patched) = s
        .call(
            Method::PATCH,
            &path,
            As::Conducteur,
            Some(json!({"nom": "Tour Alpha II", "date_fin": null, "contact": null})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (
            patched["nom"].as_str(),
            &patched["date_fin"],
            &patched["contact"]
        ),
        (Some("Tour Alpha II"), &Value::Null, &Value::Null)
    );

    let chef_id = uuid::Uuid::now_v7();
    let (status, assigned) = s
        .call(
            Method::PUT,
            &format!("{path}/responsables"),
            As::Admin,
            Some(json!({"conducteur_ids": [conducteur_id], "chef_chantier_ids": [chef_id]})),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["chef_chantier_ids"], json!([chef_id]));

    let (status, body) = s
        .call(
            Method::POST,
            &format!("{path}/demarrer"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!((status, body["statut"].as_str()), (200, Some("en_cours")));
    let body = s
        .expect(
            409,
            Method::POST,
            &format!("{path}/statut"),
            As::Conducteur,
            Some(json!({"statut": "ouvert"})),
        )
        .await;
    assert_eq!(body["code"], "invalid_transition");
    let (status, body) = s
        .call(
            Method::POST,
            &format!("{path}/receptionner"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(
        (status, body["statut"].as_str()),
        (200, Some("receptionne"))
    );
    let (status, body) = s
        .call(Method::POST, &format!("{path}/fermer"), As::Admin, None)
        .await;
    assert_eq!((status, body["statut"].as_str()), (200, Some("ferme")));
    let body = s
        .expect(
            409,
            Method::POST,
            &format!("{path}/fermer"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(body["code"], "invalid_transition");
    let body = s
        .expect(
            409,
            Method::PATCH,
            &path,
            As::Admin,
            Some(json!({"nom": "Trop tard"})),
        )
        .await;
    assert_eq!(body["code"], "chantier_closed");

    let (status, _) = s.call(Method::DELETE, &path, As::Admin, None).await;
    assert_eq!(status, 204);
    let body = s.expect(404, Method::GET, &path, As::Admin, None).await;
    assert_eq!(body["code"], "chantier_not_found");

    // Exactly one event per successful change, each with the site snapshot.
    let events = s.events("chantier.").await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "chantier.created",
            "chantier.updated",
            "chantier.responsable_assigned",
            "chantier.statut_changed",
            "chantier.statut_changed",
            "chantier.statut_changed",
            "chantier.deleted"
        ]
    );
    for (event_type, data) in &events {
        for field in [
            "chantier_id",
            "nom",
            "adresse",
            "statut",
            "conducteur_ids",
            "chef_chantier_ids",
        ] {
            assert!(
                data.get(field).is_some(),
                "{event_type} lacks {field}: {data}"
            );
        }
        assert_eq!(data["chantier_id"], id.as_str());
    }
    assert_eq!(
        events[1].1["changes"]["nom"],
        json!({"old": "Tour Alpha", "new": "Tour Alpha II"})
    );
    assert_eq!(
        events[1].1["changes"]["date_fin"],
        json!({"old": "2027-06-30", "new": null})
    );
    assert_eq!(events[3].1["ancien_statut"], "ouvert");
    assert_eq!(events[3].1["nouveau_statut"], "en_cours");
    assert_eq!(events[2].1["added"]["chef_chantier_ids"], json!([chef_id]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_enforces_its_roles() {
    let mut s = TestHub::start().await;
    let conducteur_id = conducteur_id(&s).await;
    let chantier = create(&s, As::Admin, "CH-ROLES").await;
    let path = format!("/api/v1/chantiers/{}", chantier["id"].as_str().unwrap());
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            Some(json!({"code": "CH-X", "nom": "X", "adresse": "Y"})),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"couleur": "#000000"})),
        ),
        (
            Method::PUT,
            format!("{path}/responsables"),
            Some(json!({"conducteur_ids": [conducteur_id], "chef_chantier_ids": []})),
        ),
        (
            Method::POST,
            format!("{path}/statut"),
            Some(json!({"statut": "en_cours"})),
        ),
        (Method::POST, format!("{path}/demarrer"), None),
        (Method::POST, format!("{path}/receptionner"), None),
        (Method::POST, format!("{path}/fermer"), None),
        (Method::DELETE, path.clone(), None),
    ];
    // Chefs de chantier and compagnons read but never write; nobody acts anonymously.
    for (method, route, body) in &writes {
        for token in [As::ChefChantier, As::Compagnon] {
            let answer = s
                .expect(403, method.clone(), route, token, body.clone())
                .await;
            assert_eq!(answer["code"], "forbidden", "{method} {route}");
        }
        let (status, _) = s
            .call(method.clone(), route, As::Anonymous, body.clone())
            .await;
        assert_eq!(status, 401, "{method} {route} without a token");
    }
    // Its conducteurs do everything but delete.
    for (method, route, body) in &writes[..writes.len() - 1] {
        let (status, answer) = s
            .call(method.clone(), route, As::Conducteur, body.clone())
            .await;
        let expected_conflict = route.ends_with("/demarrer"); // already en_cours after /statut
        assert!(
            status < 300 || expected_conflict && status == 409,
            "{method} {route}: {status} {answer}"
        );
    }
    let (status, _) = s.call(Method::DELETE, &path, As::Conducteur, None).await;
    assert_eq!(status, 403);
    let (status, _) = s.call(Method::DELETE, &path, As::Admin, None).await;
    assert_eq!(status, 204);
    for token in [As::ChefChantier, As::Compagnon] {
        let (status, _) = s.call(Method::GET, "/api/v1/chantiers", token, None).await;
        assert_eq!(status, 200);
    }
    let (status, _) = s
        .call(Method::GET, "/api/v1/chantiers", As::Anonymous, None)
        .await;
    assert_eq!(status, 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conducteur_cannot_take_over_a_chantier_he_does_not_run() {
    let mut s = TestHub::start().await;
    let conducteur_id = conducteur_id(&s).await;
    let chantier = create(&s, As::Admin, "CH-SCOPE").await;
    let id = chantier["id"].as_str().unwrap();
    let path = format!("/api/v1/chantiers/{id}");
    let other = s.new_user(Role::Conducteur).await;
    let other_id = &other.id;

    // He sees it (conducteurs see every chantier) ...
    let (status, _) = s.call(Method::GET, &path, &other, None).await;
    assert_eq!(status, 200);
    // ... but may neither make himself one of its conducteurs (which would
    // give his webhooks its events) nor change it.
    let attempts = [
        (
            Method::PUT,
            format!("{path}/responsables"),
            Some(json!({"conducteur_ids": [other_id], "chef_chantier_ids": []})),
        ),
        (Method::PATCH, path.clone(), Some(json!({"nom": "Pris"}))),
        (Method::POST, format!("{path}/demarrer"), None),
        (
            Method::POST,
            format!("{path}/statut"),
            Some(json!({"statut": "en_cours"})),
        ),
    ];
    for (method, route, body) in &attempts {
        let answer = s
            .expect(403, method.clone(), route, &other, body.clone())
            .await;
        assert_eq!(answer["code"], "forbidden", "{method} {route}: {answer}");
    }
    let (_, unchanged) = s.call(Method::GET, &path, As::Admin, None).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["conducteur_ids"], json!([conducteur_id]));
    assert_eq!(
        s.events("chantier.").await.len(),
        1,
        "only chantier.created"
    );

    // Its own conducteur may, and may hand it over.
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("{path}/responsables"),
            As::Conducteur,
            Some(json!({"conducteur_ids": [conducteur_id, other_id], "chef_chantier_ids": []})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .call(Method::POST, &format!("{path}/demarrer"), &other, None)
        .await;
    assert_eq!(status, 200, "now one of its conducteurs");

    // A conducteur who opens a chantier without naming himself runs it.
    let (status, opened) = s
        .call(
            Method::POST,
            "/api/v1/chantiers",
            &other,
            Some(json!({"code": "CH-OWN", "nom": "Le sien", "adresse": "2 rue"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(opened["conducteur_ids"], json!([other_id]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chefs_and_compagnons_read_only_the_chantiers_they_are_on() {
    let mut s = TestHub::start().await;
    let chef = s.new_user(Role::ChefChantier).await;
    let chef_id = &chef.id;
    let (status, theirs) = s
        .call(
            Method::POST,
            "/api/v1/chantiers",
            As::Admin,
            Some(
                json!({"code": "CH-CHEF", "nom": "Le sien", "adresse": "1 rue",
                        "chef_chantier_ids": [chef_id]}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    let other = create(&s, As::Admin, "CH-OTHER").await;

    let (_, list) = s.call(Method::GET, "/api/v1/chantiers", &chef, None).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["chantiers"][0]["code"], "CH-CHEF");
    let get = |id: &Value| format!("/api/v1/chantiers/{}", id.as_str().unwrap());
    let (status, _) = s.call(Method::GET, &get(&theirs["id"]), &chef, None).await;
    assert_eq!(status, 200);
    let answer = s
        .expect(404, Method::GET, &get(&other["id"]), &chef, None)
        .await;
    assert_eq!(answer["code"], "chantier_not_found");

    // A compagnon sees none until the planning context assigns him.
    let (_, list) = s
        .call(Method::GET, "/api/v1/chantiers", As::Compagnon, None)
        .await;
    assert_eq!(list["total"], 0);
    let (status, _) = s
        .call(Method::GET, &get(&theirs["id"]), As::Compagnon, None)
        .await;
    assert_eq!(status, 404);
    // Conducteurs and admins see both.
    for token in [As::Conducteur, As::Admin] {
        let (_, list) = s.call(Method::GET, "/api/v1/chantiers", token, None).await;
        assert_eq!(list["total"], 2);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_refused_with_field_errors_and_changes_nothing() {
    let mut s = TestHub::start().await;
    let existing = create(&s, As::Admin, "CH-1").await;
    let path = format!("/api/v1/chantiers/{}", existing["id"].as_str().unwrap());
    let events_before = s.events("chantier.").await.len();

    let body = s
        .expect(
            422,
            Method::POST,
            "/api/v1/chantiers",
            As::Admin,
            Some(json!({
                "code": "pas un code", "nom": "", "adresse": "a".repeat(501), "couleur": "rouge",
                "coordonnees_gps": {"latitude": 91, "longitude": 0}, "heures_estimees": -3
            })),
        )
        .await;
    assert_eq!(body["code"], "validation_failed", "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "code",
            "nom",
            "adresse",
            "couleur",
            "coordonnees_gps",
            "heures_estimees"
        ]
    );

    let cases: Vec<(Method, String, Value, u16, &str)> = vec![
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            json!({"code": "ch-1", "nom": "Doublon", "adresse": "x"}),
            409,
            "duplicate_code",
        ),
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            json!({"code": "CH-2", "nom": "N", "adresse": "A", "date_debut": "2027-01-02", "date_fin": "2027-01-01"}),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            json!({"code": "CH-2", "nom": "N", "adresse": "A", "date_debut": "02/01/2027"}),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            json!({"code": "CH-2", "nom": "N", "adresse": "A", "statut": "en_cours"}),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            json!({"code": "CH-2", "nom": "N"}),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/chantiers".into(),
            json!({"code": "CH-2", "nom": "N", "adresse": "A", "conducteur_ids": ["not-a-uuid"]}),
            422,
            "invalid_body",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({"date_fin": "2020-01-01", "date_debut": "2021-01-01"}),
            422,
            "validation_failed",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({"code": "CH-1", "nom": 5}),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{path}/statut"),
            json!({"statut": "termine"}),
            422,
            "invalid_body",
        ),
        (
            Method::PUT,
            format!("{path}/responsables"),
            json!({"conducteur_ids": []}),
            422,
            "invalid_body",
        ),
        (
            Method::PATCH,
            format!("/api/v1/chantiers/{}", uuid::Uuid::now_v7()),
            json!({"nom": "X"}),
            404,
            "chantier_not_found",
        ),
        (
            Method::POST,
            format!("/api/v1/chantiers/{}/demarrer", uuid::Uuid::now_v7()),
            Value::Null,
            404,
            "chantier_not_found",
        ),
    ];
    for (method, route, body, status, code) in cases {
        let body = (!body.is_null()).then_some(body);
        let (got, answer) = s.call(method.clone(), &route, As::Admin, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{method} {route}: {answer}"
        );
    }
    let body = s
        .expect(400, Method::GET, "/api/v1/chantiers/nope", As::Admin, None)
        .await;
    assert_eq!(body["code"], "invalid_path");
    let body = s
        .expect(
            400,
            Method::GET,
            "/api/v1/chantiers?statut=termine",
            As::Admin,
            None,
        )
        .await;
    assert_eq!(body["code"], "invalid_query");
    let (status, _) = s
        .call(Method::GET, "/api/v1/chantiers?limit=101", As::Admin, None)
        .await;
    assert_eq!(status, 400);

    assert_eq!(
        s.events("chantier.").await.len(),
        events_before,
        "failed requests publish nothing"
    );
    let (_, unchanged) = s.call(Method::GET, &path, As::Admin, None).await;
    assert_eq!(unchanged["version"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_searches() {
    let mut s = TestHub::start().await;
    for code in ["CH-3", "CH-1", "CH-2"] {
        create(&s, As::Conducteur, code).await;
    }
    let (_, page) = s
        .call(
            Method::GET,
            "/api/v1/chantiers?skip=1&limit=1",
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["chantiers"][0]["code"], "CH-2");
    let (_, search) = s
        .call(
            Method::GET,
            "/api/v1/chantiers?q=ch-3",
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(search["total"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chantier_routes_are_in_the_openapi_document() {
    let mut s = TestHub::start().await;
    let (_, document) = s
        .call(Method::GET, "/api/v1/openapi.json", As::Anonymous, None)
        .await;
    for path in [
        "/api/v1/chantiers",
        "/api/v1/chantiers/{id}",
        "/api/v1/chantiers/{id}/statut",
        "/api/v1/chantiers/{id}/demarrer",
        "/api/v1/chantiers/{id}/receptionner",
        "/api/v1/chantiers/{id}/fermer",
        "/api/v1/chantiers/{id}/responsables",
    ] {
        assert!(document["paths"][path].is_object(), "{path} missing");
    }
    for schema in [
        "Chantier",
        "CreateChantierRequest",
        "Statut",
        "CoordonneesGps",
    ] {
        let found = document["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains(schema));
        assert!(found, "{schema} schema missing");
    }
    s.stop().await;
}

/// Sends `body` to `path` with `If-Match: if_match`, as the conducteur (as
/// the administrator for a DELETE, which only he may send).
async fn conditional(
    hub: &TestHub,
    method: Method,
    path: &str,
    if_match: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let who = if method == Method::DELETE {
        As::Admin
    } else {
        As::Conducteur
    };
    let mut request = hub
        .request(method, path, who)
        .await
        .header("If-Match", if_match);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_protects_a_chantier_from_lost_updates() {
    let hub = TestHub::start().await;
    let created = create(&hub, As::Conducteur, "ETAG-1").await;
    let path = format!("/api/v1/chantiers/{}", created["id"].as_str().unwrap());

    // A read tells the version as a strong ETag.
    let read = hub.send(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(read.headers["etag"], "\"1\"");

    // Someone else changes it: the first reader's conditional change is
    // refused with 412 and changes nothing, whatever its shape.
    hub.expect(
        200,
        Method::PATCH,
        &path,
        As::Admin,
        json!({"nom": "Par l'admin"}),
    )
    .await;
    let events_before = hub.events("chantier.").await.len();
    for (method, target, body) in [
        (Method::PATCH, path.clone(), Some(json!({"nom": "Perdu"}))),
        (Method::POST, format!("{path}/demarrer"), None),
        (Method::DELETE, path.clone(), None),
    ] {
        let answer = conditional(&hub, method.clone(), &target, "\"1\"", body).await;
        assert_eq!(answer.status(), 412, "{method} {target}");
        let problem: Value = answer.json().await.unwrap();
        assert_eq!(problem["code"], "precondition_failed");
    }
    // Weak or foreign tags never match (strong comparison).
    for tag in ["W/\"2\"", "\"abc\"", "garbage"] {
        let answer = conditional(
            &hub,
            Method::PATCH,
            &path,
            tag,
            Some(json!({"nom": "Perdu"})),
        )
        .await;
        assert_eq!(answer.status(), 412, "If-Match: {tag}");
    }
    let current = hub.expect(200, Method::GET, &path, As::Admin, None).await;
    assert_eq!(
        (current["nom"].as_str(), current["version"].as_i64()),
        (Some("Par l'admin"), Some(2))
    );
    assert_eq!(hub.events("chantier.").await.len(), events_before);

    // With the current version (or any of a list, or `*`) it applies, and
    // the answer carries the new ETag.
    let answer = conditional(
        &hub,
        Method::PATCH,
        &path,
        "\"7\", \"2\"",
        Some(json!({"nom": "À jour"})),
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["etag"], "\"3\"");
    let answer = conditional(&hub, Method::POST, &format!("{path}/demarrer"), "*", None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["etag"], "\"4\"");

    // A conducteur who does not run it is told so, not about versions.
    let other = hub.new_user(Role::Conducteur).await;
    let answer = hub
        .request(Method::PATCH, &path, &other)
        .await
        .header("If-Match", "\"1\"")
        .json(&json!({"nom": "Intrus"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
}
