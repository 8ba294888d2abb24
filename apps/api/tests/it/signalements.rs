//! Signalements over HTTP: a critical report reaches a webhook signed (and
//! not a conducteur of another chantier), every route with an allowed and a
//! refused caller, and refusals that publish nothing.

use hub_webhook_signature::{Verifier, WebhookHeaders, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Receiver, Recorded, Role, TestHub, User, eventually};

const BASE: &str = "/api/v1/signalements";

/// Opens a chantier run by `conducteur` with `chef` as chef de chantier,
/// and waits until this context's read model knows it.
async fn chantier(hub: &TestHub, code: &str, conducteur: &str, chef: Option<&str>) -> String {
    let body = json!({
        "code": code, "nom": format!("Chantier {code}"), "adresse": "1 quai de Seine",
        "conducteur_ids": [conducteur], "chef_chantier_ids": chef.into_iter().collect::<Vec<_>>()
    });
    let created = hub
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    known(hub, "signalement_chantiers", "chantier_id", &id).await;
    id
}

/// Waits until `table` of the read models has the row `column = id`.
async fn known(hub: &TestHub, table: &str, column: &str, id: &str) {
    let sql = format!("SELECT count(*) FROM {table} WHERE {column} = '{id}'");
    eventually(&format!("{id} in {table}"), || async {
        hub.count(&sql).await == 1
    })
    .await;
}

async fn webhook(hub: &TestHub, who: &User, url: &str) -> (String, String) {
    let body = json!({"url": url, "events": ["signalement.*", "signalement_reponse.*"]});
    let created = hub
        .expect(201, Method::POST, "/api/v1/webhooks", who, body)
        .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_signalement_reaches_its_conducteurs_webhook_signed_and_no_other() {
    let mut s = TestHub::builder()
        .env(&[("RATE_LIMITS", "off"), ("WEBHOOKS_POLL_INTERVAL", "100ms")])
        .local_receivers()
        .start()
        .await;
    let mine = s.new_user(Role::Conducteur).await;
    let other = s.new_user(Role::Conducteur).await;
    let compagnon = s.new_user(Role::Compagnon).await;
    let site = chantier(&s, "CH-SIG-1", &mine.id, Some(&compagnon.id)).await;
    let _elsewhere = chantier(&s, "CH-SIG-2", &other.id, None).await;
    let receiver = Receiver::ok().await;
    let (mine_hook, secret) = webhook(&s, &mine, &receiver.url("/mine")).await;
    let (other_hook, _) = webhook(&s, &other, &receiver.url("/other")).await;

    // A compagnon of the site reports a critical problem.
    let created = s
        .expect(
            201,
            Method::POST,
            BASE,
            &compagnon,
            json!({
                "chantier_id": site, "titre": "Garde-corps manquant au R+3",
                "description": "Côté rue, zone accessible", "priorite": "critique",
                "photo_url": "https://cdn.example.com/p/1.jpg", "localisation": "R+3"
            }),
        )
        .await;
    assert_eq!(created["statut"], "ouvert");
    assert_eq!(created["priorite_label"], "Critique (4h)");
    assert_eq!(created["est_en_retard"], false);
    let id = created["id"].as_str().unwrap();

    let requests = receiver.wait_for(1).await;
    let request = &requests[0];
    assert_eq!(request.path, "/mine");
    assert_eq!(
        request.header("x-hub-chantier-event"),
        Some("signalement.created")
    );
    let body = request.json();
    assert_eq!(body["data"]["signalement_id"], id);
    assert_eq!(body["data"]["chantier_id"], site.as_str());
    assert_eq!(body["data"]["priorite"], "critique");
    assert_eq!(body["data"]["created_by"], compagnon.id.as_str());
    let secret = WebhookSecret::parse(&secret).unwrap();
    Verifier::new(&secret)
        .verify_now(
            &WebhookHeaders::new(
                request.header("webhook-id").unwrap(),
                request.header("webhook-timestamp").unwrap(),
                request.header("webhook-signature").unwrap(),
            ),
            &request.body,
        )
        .unwrap();
    assert_eq!(
        s.events("signalement.").await[0].0,
        "signalement.created",
        "in the outbox"
    );

    // A reply reaches the same webhook.
    let path = format!("{BASE}/{id}/reponses");
    s.expect(
        201,
        Method::POST,
        &path,
        &mine,
        json!({"contenu": "J'arrive"}),
    )
    .await;
    let requests = receiver.wait_for(2).await;
    let reply = requests[1].json();
    assert_eq!(reply["event_type"], "signalement_reponse.created");
    assert_eq!(reply["data"]["chantier_id"], site.as_str());

    // The conducteur of the other chantier gets nothing of either.
    s.wait_for_dispatch().await;
    let deliveries =
        |hook: &str| format!("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{hook}'");
    assert_eq!(s.count(&deliveries(&other_hook)).await, 0);
    assert_eq!(s.count(&deliveries(&mine_hook)).await, 2);
    assert!(receiver.requests().iter().all(|r| r.path == "/mine"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_signalement_through_every_route_and_role() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.user(Role::Conducteur).await.clone();
    let chef = s.user(Role::ChefChantier).await.clone();
    let compagnon = s.user(Role::Compagnon).await.clone();
    let outsider = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, "CH-SIG-9", &conducteur.id, Some(&chef.id)).await;
    known(&s, "signalement_users", "user_id", &chef.id).await;

    // 401 without a token; a compagnon not on the site cannot report there.
    s.expect(401, Method::GET, BASE, As::Anonymous, None).await;
    let report = json!({"chantier_id": site, "titre": "Fuite", "description": "Au sous-sol"});
    let refused = s
        .expect(422, Method::POST, BASE, As::Compagnon, report.clone())
        .await;
    assert_eq!(refused["errors"][0]["code"], "unknown_chantier");
    let invalid = s
        .expect(
            422,
            Method::POST,
            BASE,
            As::ChefChantier,
            json!({"chantier_id": site, "titre": " ", "description": "x",
                   "priorite": "urgente", "photo_url": "javascript:alert(1)"}),
        )
        .await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["titre", "priorite", "photo_url"]);
    let past = s
        .expect(
            422,
            Method::POST,
            BASE,
            As::ChefChantier,
            json!({"chantier_id": site, "titre": "Fuite", "description": "x",
                   "date_resolution_souhaitee": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past["errors"][0]["code"], "in_the_past");

    let created = s
        .expect(201, Method::POST, BASE, As::ChefChantier, report)
        .await;
    assert_eq!(created["priorite"], "moyenne");
    assert_eq!(created["cree_par_nom"], "Lea Durand");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{BASE}/{id}");

    // Reads: the compagnon (not on the site) does not see it; conducteurs do.
    s.expect(404, Method::GET, &path, As::Compagnon, None).await;
    s.expect(200, Method::GET, &path, &outsider, None).await;
    let before = s.events("signalement.").await.len();

    // Closing an open one: 409, nothing published.
    let problem = s
        .expect(
            409,
            Method::POST,
            &format!("{path}/cloturer"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(s.events("signalement.").await.len(), before);

    // Assign: those who run the site only.
    let assign = format!("{path}/assigner?assigne_a={}", chef.id);
    s.expect(403, Method::POST, &assign, &outsider, None).await;
    let bad = format!("{path}/assigner?assigne_a={}", compagnon.id);
    let problem = s
        .expect(422, Method::POST, &bad, As::Conducteur, None)
        .await;
    assert_eq!(problem["errors"][0]["code"], "invalid_assignee");
    let assigned = s
        .expect(200, Method::POST, &assign, As::Conducteur, None)
        .await;
    assert_eq!(assigned["statut"], "en_cours");
    assert_eq!(assigned["assigne_a_nom"], "Lea Durand");

    // Edit: the reporter or a manager; a conducteur of another site may not.
    s.expect(
        403,
        Method::PUT,
        &path,
        &outsider,
        json!({"titre": "Autre"}),
    )
    .await;
    let edited = s
        .expect(
            200,
            Method::PUT,
            &path,
            As::ChefChantier,
            json!({"priorite": "critique", "localisation": "Sous-sol B"}),
        )
        .await;
    assert_eq!(edited["priorite"], "critique");

    // Treat (comment required), close, reply refused on a closed one.
    let problem = s
        .expect(
            422,
            Method::POST,
            &format!("{path}/traiter"),
            As::ChefChantier,
            json!({"commentaire": "  "}),
        )
        .await;
    assert_eq!(
        problem["errors"][0]["message"],
        "Le commentaire de traitement est obligatoire"
    );
    s.expect(
        403,
        Method::POST,
        &format!("{path}/traiter"),
        &outsider,
        json!({"commentaire": "fait"}),
    )
    .await;
    let treated = s
        .expect(
            200,
            Method::POST,
            &format!("{path}/traiter"),
            As::ChefChantier,
            json!({"commentaire": "Vanne changée"}),
        )
        .await;
    assert_eq!(treated["statut"], "traite");
    s.expect(
        403,
        Method::POST,
        &format!("{path}/cloturer"),
        &outsider,
        None,
    )
    .await;
    let closed = s
        .expect(
            200,
            Method::POST,
            &format!("{path}/cloturer"),
            As::ChefChantier,
            None,
        )
        .await;
    assert_eq!(closed["statut"], "cloture");
    let problem = s
        .expect(
            409,
            Method::POST,
            &format!("{path}/reponses"),
            As::ChefChantier,
            json!({"contenu": "Encore ?"}),
        )
        .await;
    assert_eq!(problem["code"], "signalement_closed");

    // Reopen: admin or conducteur of the site, with a motif.
    s.expect(
        403,
        Method::POST,
        &format!("{path}/reouvrir"),
        As::ChefChantier,
        None,
    )
    .await;
    let reopened = s
        .expect(
            200,
            Method::POST,
            &format!("{path}/reouvrir"),
            As::Conducteur,
            json!({"motif": "Fuite revenue"}),
        )
        .await;
    assert_eq!(reopened["statut"], "ouvert");
    assert_eq!(reopened["commentaire_traitement"], Value::Null);

    // Replies.
    let reponse = s
        .expect(
            201,
            Method::POST,
            &format!("{path}/reponses"),
            As::ChefChantier,
            json!({"contenu": "Je passe à 14h", "est_resolution": false}),
        )
        .await;
    let reponse_path = format!("{BASE}/reponses/{}", reponse["id"].as_str().unwrap());
    assert_eq!(reponse["auteur_nom"], "Lea Durand");
    s.expect(
        404,
        Method::POST,
        &format!("{path}/reponses"),
        As::Compagnon,
        json!({"contenu": "?"}),
    )
    .await;
    let list = s
        .expect(
            200,
            Method::GET,
            &format!("{path}/reponses"),
            &outsider,
            None,
        )
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["reponses"][0]["auteur_nom"], "Lea Durand");
    let empty = s
        .expect(
            200,
            Method::GET,
            &format!("{path}/reponses"),
            As::Compagnon,
            None,
        )
        .await;
    assert_eq!(empty["total"], 0, "out of sight: an empty list");
    s.expect(
        403,
        Method::PUT,
        &reponse_path,
        &outsider,
        json!({"contenu": "x"}),
    )
    .await;
    let edited = s
        .expect(
            200,
            Method::PUT,
            &reponse_path,
            As::ChefChantier,
            json!({"contenu": "Je passe à 15h"}),
        )
        .await;
    assert_eq!(edited["contenu"], "Je passe à 15h");
    s.expect(403, Method::DELETE, &reponse_path, &outsider, None)
        .await;
    s.expect(204, Method::DELETE, &reponse_path, As::Conducteur, None)
        .await;

    // Lists, statistics, late list.
    let by_site = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}/chantier/{site}?statut=ouvert"),
            As::ChefChantier,
            None,
        )
        .await;
    assert_eq!(by_site["total"], 1);
    s.expect(
        404,
        Method::GET,
        &format!("{BASE}/chantier/{site}"),
        As::Compagnon,
        None,
    )
    .await;
    let search = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}?query=fuite"),
            As::ChefChantier,
            None,
        )
        .await;
    assert_eq!(search["total"], 1);
    let hidden = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}?query=fuite"),
            As::Compagnon,
            None,
        )
        .await;
    assert_eq!(hidden["total"], 0, "scoped to the compagnon's chantiers");
    let stats = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}/stats/global?chantier_id={site}"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["par_priorite"], json!({"critique": 1}));
    assert_eq!(stats["taux_resolution"], 0.0);
    s.expect(
        404,
        Method::GET,
        &format!("{BASE}/stats/global?chantier_id={site}"),
        As::Compagnon,
        None,
    )
    .await;
    s.expect(
        401,
        Method::GET,
        &format!("{BASE}/alertes/en-retard"),
        As::Anonymous,
        None,
    )
    .await;
    let late = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}/alertes/en-retard"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(late["total"], 0);
    let problem = s
        .expect(
            400,
            Method::GET,
            &format!("{BASE}?limit=0"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(problem["code"], "invalid_query");

    // Delete: admin or conducteur of the site.
    s.expect(403, Method::DELETE, &path, As::ChefChantier, None)
        .await;
    s.expect(204, Method::DELETE, &path, As::Conducteur, None)
        .await;
    s.expect(404, Method::GET, &path, As::Admin, None).await;

    let types: Vec<String> = s
        .events("signalement")
        .await
        .into_iter()
        .map(|(t, data)| {
            assert!(data["chantier_id"] == site.as_str(), "{t}: {data}");
            assert!(data["priorite"].is_string(), "{t}: {data}");
            t
        })
        .collect();
    assert_eq!(
        types,
        [
            "signalement.created",
            "signalement.updated",
            "signalement.updated",
            "signalement.updated",
            "signalement.closed",
            "signalement.reopened",
            "signalement_reponse.created",
            "signalement_reponse.updated",
            "signalement_reponse.deleted",
            "signalement.deleted"
        ]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_escalates_a_late_signalement_once_per_level_to_the_webhook() {
    let mut s = TestHub::builder()
        .env(&[
            ("RATE_LIMITS", "off"),
            ("WEBHOOKS_POLL_INTERVAL", "100ms"),
            ("SIGNALEMENTS_ESCALATION_INTERVAL", "100ms"),
        ])
        .local_receivers()
        .start()
        .await;
    let conducteur = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, "CH-SIG-ESC", &conducteur.id, None).await;
    let receiver = Receiver::ok().await;
    webhook(&s, &conducteur, &receiver.url("/alertes")).await;
    // Two seconds allowed: 50 % after 1 s, 100 % after 2 s, 200 % after 4 s.
    let limite = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let limite = limite
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let created = s
        .expect(
            201,
            Method::POST,
            BASE,
            &conducteur,
            json!({"chantier_id": site, "titre": "Étai retiré", "description": "Zone B",
                   "priorite": "critique", "date_resolution_souhaitee": limite}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let requests = receiver.wait_for(4).await;
    let mut escalated: Vec<(u64, String)> = requests
        .iter()
        .map(Recorded::json)
        .filter(|b| b["event_type"] == "signalement.escalated")
        .map(|b| {
            assert_eq!(b["data"]["signalement_id"], id.as_str());
            assert_eq!(b["data"]["chantier_id"], site.as_str());
            (
                b["data"]["niveau"].as_u64().unwrap(),
                b["data"]["notified_role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Deliveries run concurrently: their arrival order is not the log's.
    escalated.sort();
    assert_eq!(
        escalated,
        [
            (1, "chef_chantier".to_owned()),
            (2, "conducteur".to_owned()),
            (3, "admin".to_owned())
        ]
    );
    let shown = s
        .expect(200, Method::GET, &format!("{BASE}/{id}"), &conducteur, None)
        .await;
    assert_eq!(shown["nb_escalades"], 3);
    assert_eq!(shown["est_en_retard"], true);
    // More rounds publish nothing more.
    s.stop().await;
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs WHERE event_type = 'signalement.escalated'")
            .await,
        3
    );
}

/// A clock the test sets, shared by both servers.
#[derive(Clone)]
struct TestClock(std::sync::Arc<std::sync::Mutex<time::OffsetDateTime>>);

impl hub_kernel::Clock for TestClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn set(&self, at: time::OffsetDateTime) {
        *self.0.lock().unwrap() = at;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_a_test_clock_publish_each_escalation_level_exactly_once() {
    use hub_chantier::server::{Application, Overrides};
    use hub_kernel::Clock as _;
    use std::sync::Arc;

    let t0 = hub_kernel::SystemClock.now();
    let clock = TestClock(Arc::new(std::sync::Mutex::new(t0)));
    let mut s = TestHub::builder()
        .env(&[
            ("RATE_LIMITS", "off"),
            ("SIGNALEMENTS_ESCALATION_INTERVAL", "50ms"),
        ])
        .clock(Arc::new(clock.clone()))
        .start()
        .await;
    // A second instance of the server on the same database and clock.
    let second = Application::build_with(
        s.config(&[]),
        Overrides {
            clock: Some(Arc::new(clock.clone())),
            ..Overrides::default()
        },
    )
    .await
    .unwrap();
    let (handle, task) = (second.handle(), tokio::spawn(second.run()));

    let conducteur = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, "CH-SIG-2X", &conducteur.id, None).await;
    s.expect(
        201,
        Method::POST,
        BASE,
        &conducteur,
        json!({"chantier_id": site, "titre": "Tranchée non blindée",
               "description": "Rue Pasteur", "priorite": "critique"}),
    )
    .await;
    let levels = "SELECT data->>'niveau' AS text FROM event_logs \
                  WHERE event_type = 'signalement.escalated' ORDER BY seq";
    // 4 hours allowed: levels at 2 h, 4 h and 8 h.
    for (hours, expected) in [(2, 1), (4, 2), (8, 3)] {
        clock.set(t0 + time::Duration::hours(hours));
        eventually(&format!("level {expected}"), || async {
            s.texts(levels).await.len() == expected
        })
        .await;
    }
    // Both servers keep running rounds (every 50 ms) on the same instant:
    // give them a few, then nothing more may have been published.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(s.texts(levels).await, ["1", "2", "3"]);
    handle.stop(true).await;
    task.await.unwrap().unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_protects_a_signalement_from_lost_updates() {
    let hub = TestHub::start().await;
    let conducteur = hub.user(Role::Conducteur).await.clone();
    let site = chantier(&hub, "CH-SIG-ETAG", &conducteur.id, None).await;
    let report = json!({"chantier_id": site, "titre": "Fuite", "description": "Au sous-sol"});
    let created = hub
        .expect(201, Method::POST, BASE, As::Conducteur, report)
        .await;
    let path = format!("{BASE}/{}", created["id"].as_str().unwrap());
    let read = hub.send(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(read.headers["etag"], "\"1\"");

    hub.expect(
        200,
        Method::PUT,
        &path,
        As::Admin,
        json!({"titre": "Fuite d'eau"}),
    )
    .await;
    let stale = hub
        .request(Method::POST, &format!("{path}/traiter"), As::Conducteur)
        .await
        .header("If-Match", "\"1\"")
        .json(&json!({"commentaire": "Réparé"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let current = hub.expect(200, Method::GET, &path, As::Admin, None).await;
    assert_eq!(current["statut"], "ouvert");

    let fresh = hub
        .request(Method::PUT, &path, As::Conducteur)
        .await
        .header("If-Match", "\"2\"")
        .json(&json!({"description": "Au sous-sol, côté est"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.headers()["etag"], "\"3\"");
}

/// What the other contexts' events let this one accept: a compagnon planned
/// on a site (planning's `affectation.*`) reports there, with a photo
/// uploaded on that site (documents' `document.*`); and the late list shows
/// each caller the sites he is on only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_compagnon_reports_with_an_uploaded_photo_and_sees_only_his_late_ones() {
    let s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.new_user(Role::Conducteur).await;
    let other = s.new_user(Role::Conducteur).await;
    let karim = s.new_user(Role::Compagnon).await;
    let site = chantier(&s, "CH-SIG-PH1", &conducteur.id, None).await;
    let elsewhere = chantier(&s, "CH-SIG-PH2", &other.id, None).await;
    known(&s, "documents_chantiers", "chantier_id", &site).await;
    known(&s, "documents_chantiers", "chantier_id", &elsewhere).await;
    let report = |photo: Option<&str>| {
        json!({
            "chantier_id": site, "titre": "Fissure sur voile",
            "description": "Voile nord, niveau -1", "priorite": "critique",
            "photo_document_id": photo
        })
    };

    // Not on the site yet: the site is not his to report on.
    let problem = s
        .expect(422, Method::POST, BASE, &karim, report(None))
        .await;
    assert_eq!(problem["errors"][0]["code"], "unknown_chantier");

    // Planned there through the planning API, he is.
    known(&s, "planning_chantiers", "chantier_id", &site).await;
    known(&s, "planning_users", "user_id", &karim.id).await;
    let affectation = json!({
        "utilisateur_id": karim.id, "chantier_id": site, "date": "2026-12-07",
        "heure_debut": "7:30", "heure_fin": "16:30"
    });
    s.expect(
        201,
        Method::POST,
        "/api/v1/planning/affectations",
        &conducteur,
        affectation,
    )
    .await;
    known(&s, "signalement_affectations", "utilisateur_id", &karim.id).await;

    // Photos uploaded through the documents API, on his site and elsewhere.
    let dossier = crate::documents::dossier(&s, &conducteur, &site, "Photos", "compagnon").await;
    let (status, photo) = crate::documents::upload(
        &s,
        &conducteur,
        &site,
        &dossier,
        "fissure.jpg",
        b"\xff\xd8\xff\xe0 not much of a jpeg",
    )
    .await;
    assert_eq!(status, 201, "{photo}");
    let photo = photo["id"].as_str().unwrap().to_owned();
    let (_, plan) =
        crate::documents::upload(&s, &conducteur, &site, &dossier, "plan.pdf", b"%PDF-1.4").await;
    let plan = plan["id"].as_str().unwrap().to_owned();
    let dossier_ailleurs =
        crate::documents::dossier(&s, &other, &elsewhere, "Photos", "compagnon").await;
    let (_, ailleurs) = crate::documents::upload(
        &s,
        &other,
        &elsewhere,
        &dossier_ailleurs,
        "autre.jpg",
        b"\xff\xd8\xff",
    )
    .await;
    let ailleurs = ailleurs["id"].as_str().unwrap().to_owned();
    for id in [&photo, &plan, &ailleurs] {
        known(&s, "signalement_documents", "document_id", id).await;
    }

    let before = s.events("signalement.").await.len();
    for (document, code) in [(&plan, "not_a_photo"), (&ailleurs, "unknown_document")] {
        let problem = s
            .expect(422, Method::POST, BASE, &karim, report(Some(document)))
            .await;
        assert_eq!(problem["errors"][0]["field"], "photo_document_id");
        assert_eq!(problem["errors"][0]["code"], code);
    }
    assert_eq!(
        s.events("signalement.").await.len(),
        before,
        "refusals publish nothing"
    );
    let created = s
        .expect(201, Method::POST, BASE, &karim, report(Some(&photo)))
        .await;
    assert_eq!(created["photo_document_id"], photo.as_str());
    let events = s.events("signalement.created").await;
    assert_eq!(
        events.last().unwrap().1["photo_document_id"],
        photo.as_str()
    );

    // A deleted photo can no longer be attached.
    s.expect(
        204,
        Method::DELETE,
        &format!("/api/v1/documents/documents/{photo}"),
        As::Admin,
        None,
    )
    .await;
    eventually("the deletion reaches the read model", || async {
        s.count(&format!(
            "SELECT count(*) FROM signalement_documents WHERE document_id = '{photo}' AND NOT active"
        ))
        .await
            == 1
    })
    .await;
    let id = created["id"].as_str().unwrap();
    let problem = s
        .expect(422, Method::POST, BASE, &karim, report(Some(&photo)))
        .await;
    assert_eq!(problem["errors"][0]["code"], "unknown_document");

    // Late: his report and one on a site he is not on, both past their
    // deadline. He sees his; the admin sees both.
    let theirs = s
        .expect(
            201,
            Method::POST,
            BASE,
            &other,
            json!({"chantier_id": elsewhere, "titre": "Benne", "description": "Pleine", "priorite": "critique"}),
        )
        .await;
    s.run_sql(
        "UPDATE signalements SET debut_delai = now() - interval '10 hours', \
         date_limite = now() - interval '6 hours'",
    )
    .await;
    let all = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}/alertes/en-retard"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(all["total"], 2);
    let mine = s
        .expect(
            200,
            Method::GET,
            &format!("{BASE}/alertes/en-retard"),
            &karim,
            None,
        )
        .await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["signalements"][0]["id"], id);
    assert_ne!(mine["signalements"][0]["id"], theirs["id"]);
}
