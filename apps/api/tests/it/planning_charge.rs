//! Planning de charge over HTTP: affectations planned through the planning
//! API show as planned hours in the grid, with the spec's occupation rate,
//! people to hire and to place; every besoin route with allowed and
//! refused callers, its events, the cell rule under concurrent requests;
//! a besoin event reaching the site's conducteur's webhook, signed, and
//! not another conducteur's.

use hub_webhook_signature::{Verifier, WebhookHeaders, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Receiver, Reply, Role, TestHub, User, eventually};

const BESOINS: &str = "/api/v1/planning-charge/besoins";

/// Waits until `table` holds `id` in `column`.
async fn known(hub: &TestHub, table: &str, column: &str, id: &str) {
    let sql = format!("SELECT count(*) FROM {table} WHERE {column} = '{id}'");
    eventually(&format!("{id} in {table}"), || async {
        hub.count(&sql).await == 1
    })
    .await;
}

/// A chantier run by `conducteur` (and `chef`, if any), known to the
/// planning and to the planning de charge.
async fn chantier(hub: &TestHub, conducteur: &str, chef: Option<&str>, code: &str) -> String {
    let body = json!({
        "code": code, "nom": format!("Chantier {code}"), "adresse": "1 quai de Seine, Paris",
        "conducteur_ids": [conducteur], "chef_chantier_ids": chef.into_iter().collect::<Vec<_>>()
    });
    let created = hub
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    known(hub, "planning_chantiers", "chantier_id", &id).await;
    known(hub, "planning_charge_chantiers", "chantier_id", &id).await;
    id
}

/// A user of `role` known to the planning and to the planning de charge.
async fn person(hub: &TestHub, role: Role) -> User {
    let user = hub.new_user(role).await;
    known(hub, "planning_users", "user_id", &user.id).await;
    known(hub, "planning_charge_users", "user_id", &user.id).await;
    user
}

fn besoin(chantier: &str, semaine: &str, metier: &str, heures: f64) -> Value {
    json!({"chantier_id": chantier, "semaine": semaine, "type_metier": metier,
           "besoin_heures": heures, "note": "Voiles R+1"})
}

fn grid(debut: &str, fin: &str) -> String {
    format!("/api/v1/planning-charge?semaine_debut={debut}&semaine_fin={fin}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn affectations_planned_through_the_planning_api_show_in_the_grid() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.user(Role::Conducteur).await.id.clone();
    // The workforce: one chef and two compagnons, 3 × 35 = 105 h a week.
    let chef = person(&s, Role::ChefChantier).await;
    let karim = person(&s, Role::Compagnon).await;
    let lea = person(&s, Role::Compagnon).await;
    let site = chantier(&s, &conducteur, Some(&chef.id), "CH-CHG-1").await;

    let plan = |user: &str, date: &str, fin: Option<&str>, heures: Option<(&str, &str)>| {
        let mut body = json!({"utilisateur_id": user, "chantier_id": site, "date": date});
        if let Some(fin) = fin {
            body["date_fin"] = json!(fin);
        }
        if let Some((debut, fin)) = heures {
            body["heure_debut"] = json!(debut);
            body["heure_fin"] = json!(fin);
        }
        body
    };
    // Karim, Monday to Friday of 2026-W50, 7:30–16:00: 5 × 8.5 = 42.5 h.
    s.expect(
        201,
        Method::POST,
        "/api/v1/planning/affectations",
        As::Conducteur,
        plan(
            &karim.id,
            "2026-12-07",
            Some("2026-12-11"),
            Some(("7:30", "16:00")),
        ),
    )
    .await;
    // Léa, Monday to Wednesday without times (3 × 7 h), Thursday 8:00–18:00: 31 h.
    s.expect(
        201,
        Method::POST,
        "/api/v1/planning/affectations",
        As::Conducteur,
        plan(&lea.id, "2026-12-07", Some("2026-12-09"), None),
    )
    .await;
    s.expect(
        201,
        Method::POST,
        "/api/v1/planning/affectations",
        As::Conducteur,
        plan(&lea.id, "2026-12-10", None, Some(("8:00", "18:00"))),
    )
    .await;
    // Needs: 84 h of masonry and 42 h of formwork = 126 h.
    for (metier, heures) in [("macon", 84.0), ("coffreur", 42.0)] {
        s.expect(
            201,
            Method::POST,
            BESOINS,
            As::Conducteur,
            besoin(&site, "2026-W50", metier, heures),
        )
        .await;
    }
    s.wait_for_dispatch().await;

    let grille = s
        .expect(
            200,
            Method::GET,
            &grid("2026-W50", "2026-W51"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(grille["semaines"], json!(["2026-W50", "2026-W51"]));
    assert_eq!(grille["total_chantiers"], 1);
    assert_eq!(grille["effectif"], 3);
    let row = &grille["chantiers"][0];
    assert_eq!(row["chantier_id"], site.as_str());
    assert_eq!(row["code"], "CH-CHG-1");
    let cell = &row["semaines"][0];
    assert_eq!(cell["planifie_heures"], 73.5);
    assert_eq!(cell["besoin_heures"], 126.0);
    assert_eq!(cell["besoin_non_couvert"], 52.5);
    assert_eq!(
        (cell["has_besoin"].as_bool(), cell["est_couvert"].as_bool()),
        (Some(true), Some(false))
    );

    // 73.5 h of 105 h: exactly 70 %, the first "normal" rate.
    let w50 = &grille["footer"][0];
    assert_eq!(w50["capacite_heures"], 105.0);
    assert!(
        (w50["taux_occupation"].as_f64().unwrap() - 70.0).abs() < 1e-9,
        "{w50}"
    );
    assert_eq!(w50["niveau"], "normal");
    assert_eq!(w50["taux_label"], "Normal");
    assert_eq!(w50["taux_couleur"], "#3498DB");
    assert_eq!(w50["alerte_surcharge"], false);
    // (126 − 105) / 35 = 0.6 → 1 to hire; the chef is planned nowhere → 1 to place.
    assert_eq!(w50["a_recruter"], 1);
    assert_eq!(w50["a_placer"], 1);
    let w51 = &grille["footer"][1];
    assert_eq!(
        (w51["taux_occupation"].as_f64(), w51["a_placer"].as_u64()),
        (Some(0.0), Some(3))
    );
    assert_eq!(grille["planifie_total"], 73.5);
    assert_eq!(grille["capacite_totale"], 210.0);

    // Per trade: the métiers identity keeps (the chef has none: employe).
    for (user, metier) in [(&karim, "Maçon"), (&lea, "Grutier")] {
        s.expect(
            200,
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            As::Admin,
            json!({"metier": metier}),
        )
        .await;
    }
    s.wait_for_dispatch().await;
    let occupation = s
        .expect(
            200,
            Method::GET,
            "/api/v1/planning-charge/occupation/2026-W50",
            As::Conducteur,
            None,
        )
        .await;
    let types: Vec<_> = occupation["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type_metier"].as_str().unwrap().to_owned(),
                t["planifie_heures"].as_f64().unwrap(),
                t["besoin_heures"].as_f64().unwrap(),
                t["capacite_heures"].as_f64().unwrap(),
            )
        })
        .collect();
    let row = |t: &str, p: f64, b: f64, c: f64| (t.to_owned(), p, b, c);
    assert_eq!(
        types,
        [
            row("employe", 0.0, 0.0, 35.0),
            row("macon", 42.5, 84.0, 35.0),
            row("coffreur", 0.0, 42.0, 0.0),
            row("grutier", 31.0, 0.0, 35.0),
        ]
    );
    let macon = &occupation["types"][1];
    // 42.5 / 35 = 121 %: critique; (84 − 35) / 35 = 1.4 → 1 to hire.
    assert_eq!(macon["niveau"], "critique");
    assert_eq!(macon["alerte"], true);
    assert_eq!(
        (macon["a_recruter"].as_u64(), macon["a_placer"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        occupation["types"][0]["a_placer"], 1,
        "the chef is planned nowhere"
    );
    // The totals are the grid's footer for that week.
    for (total, footer) in [
        ("planifie_total", "planifie_heures"),
        ("besoin_total", "besoin_heures"),
        ("capacite_totale", "capacite_heures"),
        ("taux_global", "taux_occupation"),
        ("niveau_global", "niveau"),
        ("a_recruter", "a_recruter"),
        ("a_placer", "a_placer"),
    ] {
        assert_eq!(occupation[total], w50[footer], "{total}");
    }
    s.expect(
        403,
        Method::GET,
        "/api/v1/planning-charge/occupation/2026-W50",
        &karim,
        None,
    )
    .await;
    let refused = s
        .expect(
            422,
            Method::GET,
            "/api/v1/planning-charge/occupation/2027-W53",
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(refused["errors"][0]["code"], "invalid_semaine", "{refused}");

    // Léa's Thursday cancelled in the planning: 63.5 h, 60.476…%, sous-charge.
    let thursday = s
        .expect(
            200,
            Method::GET,
            &format!(
                "/api/v1/planning/utilisateurs/{}/affectations?date_debut=2026-12-10&date_fin=2026-12-10",
                lea.id
            ),
            As::Conducteur,
            None,
        )
        .await;
    let id = thursday["affectations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.expect(
        200,
        Method::POST,
        &format!("/api/v1/planning/affectations/{id}/cancel"),
        As::Conducteur,
        json!({"raison": "Intempéries"}),
    )
    .await;
    s.wait_for_dispatch().await;
    let grille = s
        .expect(200, Method::GET, &grid("2026-W50", "2026-W50"), &chef, None)
        .await;
    let w50 = &grille["footer"][0];
    assert_eq!(w50["planifie_heures"], 63.5);
    assert!((w50["taux_occupation"].as_f64().unwrap() - 63.5 / 105.0 * 100.0).abs() < 1e-9);
    assert_eq!(w50["niveau"], "sous_charge");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_besoin_through_every_route() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.user(Role::Conducteur).await.id.clone();
    let chef = person(&s, Role::ChefChantier).await;
    let other_chef = person(&s, Role::ChefChantier).await;
    let site = chantier(&s, &conducteur, Some(&chef.id), "CH-CHG-A").await;
    let elsewhere = chantier(&s, &conducteur, Some(&other_chef.id), "CH-CHG-B").await;

    // Create: 201 with Location, the besoin as shown, its event.
    let answer = s
        .send(
            Method::POST,
            BESOINS,
            As::Conducteur,
            besoin(&site, "2026-W53", "Sous-traitant", 70.5),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let created = answer.body;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{BESOINS}/{id}");
    assert_eq!(answer.headers["location"].to_str().unwrap(), path);
    assert_eq!(created["semaine"], "2026-W53");
    assert_eq!(created["type_metier"], "sous_traitant");
    assert_eq!(created["type_metier_label"], "Sous-traitant");
    assert_eq!(created["besoin_heures"], 70.5);
    assert_eq!(created["besoin_jours_homme"], 70.5 / 7.0);
    assert_eq!(created["created_by"], conducteur.as_str());
    let events = s.events("besoin_charge.").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "besoin_charge.created");
    assert_eq!(
        events[0].1,
        json!({"besoin_id": id, "chantier_id": site, "semaine": "2026-W53",
               "type_metier": "sous_traitant", "besoin_heures": 70.5, "note": "Voiles R+1"})
    );

    // The same cell again: 409; refused callers and bad input change nothing.
    let taken = s
        .expect(
            409,
            Method::POST,
            BESOINS,
            As::Admin,
            besoin(&site, "2026-W53", "sous_traitant", 7.0),
        )
        .await;
    assert_eq!(taken["code"], "besoin_exists");
    let body = besoin(&site, "2026-W50", "macon", 7.0);
    s.expect(401, Method::POST, BESOINS, As::Anonymous, body.clone())
        .await;
    s.expect(403, Method::POST, BESOINS, &chef, body.clone())
        .await;
    s.expect(403, Method::POST, BESOINS, As::Compagnon, body.clone())
        .await;
    let invalid = s
        .expect(
            422,
            Method::POST,
            BESOINS,
            As::Conducteur,
            besoin(&site, "2027-W53", "plombier", -1.0),
        )
        .await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["semaine", "type_metier", "besoin_heures"],
        "{invalid}"
    );
    let unknown = s
        .expect(
            422,
            Method::POST,
            BESOINS,
            As::Conducteur,
            besoin(&uuid(), "2026-W50", "macon", 7.0),
        )
        .await;
    assert_eq!(unknown["errors"][0]["code"], "unknown_chantier");
    // A chantier handed over (receptionne) takes no more besoins.
    let handed_over = chantier(&s, &conducteur, None, "CH-CHG-C").await;
    for step in ["demarrer", "receptionner"] {
        s.expect(
            200,
            Method::POST,
            &format!("/api/v1/chantiers/{handed_over}/{step}"),
            As::Admin,
            None,
        )
        .await;
    }
    let sql = format!(
        "SELECT count(*) FROM planning_charge_chantiers WHERE chantier_id = '{handed_over}' \
         AND statut = 'receptionne'"
    );
    eventually("the chantier handed over", || async {
        s.count(&sql).await == 1
    })
    .await;
    let closed = s
        .expect(
            422,
            Method::POST,
            BESOINS,
            As::Conducteur,
            besoin(&handed_over, "2026-W50", "macon", 7.0),
        )
        .await;
    assert_eq!(closed["errors"][0]["code"], "chantier_not_open");
    assert_eq!(s.events("besoin_charge.").await.len(), 1);

    // Read: admin, conducteur, the site's chef; another chef: 404; compagnon: 403.
    for who in [As::Admin, As::Conducteur, As::from(&chef)] {
        assert_eq!(s.expect(200, Method::GET, &path, who, None).await, created);
    }
    s.expect(404, Method::GET, &path, &other_chef, None).await;
    s.expect(403, Method::GET, &path, As::Compagnon, None).await;

    // Update: the hours and the note; a trade onto a taken cell is a 409.
    let coffreur = s
        .expect(
            201,
            Method::POST,
            BESOINS,
            As::Admin,
            besoin(&site, "2026-W53", "coffreur", 14.0),
        )
        .await;
    let clash = s
        .expect(
            409,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"type_metier": "coffreur"}),
        )
        .await;
    assert_eq!(clash["code"], "besoin_exists");
    s.expect(403, Method::PUT, &path, &chef, json!({"besoin_heures": 1}))
        .await;
    s.expect(
        422,
        Method::PUT,
        &path,
        As::Conducteur,
        json!({"besoin_heures": 7.333}),
    )
    .await;
    let updated = s
        .expect(
            200,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"besoin_heures": 77, "note": null, "type_metier": "grutier"}),
        )
        .await;
    assert_eq!(
        (
            updated["besoin_heures"].as_f64(),
            updated["version"].as_i64()
        ),
        (Some(77.0), Some(2))
    );
    assert_eq!(
        (updated["type_metier"].as_str(), updated["note"].as_str()),
        (Some("grutier"), None)
    );
    let events = s.events("besoin_charge.").await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].0, "besoin_charge.updated");
    assert_eq!(
        events[2].1["changes"],
        json!({"besoin_heures": {"old": 70.5, "new": 77.0},
               "note": {"old": "Voiles R+1", "new": null},
               "type_metier": {"old": "sous_traitant", "new": "grutier"}})
    );

    // A chantier's list, paged and scoped.
    let list = format!(
        "/api/v1/planning-charge/chantiers/{site}/besoins?semaine_debut=2026-W50&semaine_fin=2027-W02&limit=1"
    );
    let page = s.expect(200, Method::GET, &list, &chef, None).await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["besoins"][0]["type_metier"], "coffreur");
    s.expect(404, Method::GET, &list, &other_chef, None).await;
    s.expect(403, Method::GET, &list, As::Compagnon, None).await;
    let reversed = s
        .expect(
            422,
            Method::GET,
            &format!("/api/v1/planning-charge/chantiers/{site}/besoins?semaine_debut=2026-W50&semaine_fin=2026-W40"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(reversed["errors"][0]["code"], "before_semaine_debut");

    // The grid: a chef sees his site's row only; ranges are checked.
    s.expect(
        201,
        Method::POST,
        BESOINS,
        As::Admin,
        besoin(&elsewhere, "2026-W53", "macon", 35.0),
    )
    .await;
    let all = s
        .expect(
            200,
            Method::GET,
            &grid("2026-W53", "2026-W53"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(all["total_chantiers"], 2);
    assert_eq!(all["besoin_total"], 77.0 + 14.0 + 35.0);
    let his = s
        .expect(200, Method::GET, &grid("2026-W53", "2026-W53"), &chef, None)
        .await;
    assert_eq!(his["total_chantiers"], 1);
    assert_eq!(his["chantiers"][0]["chantier_id"], site.as_str());
    assert_eq!(his["besoin_total"], 91.0);
    let searched = s
        .expect(
            200,
            Method::GET,
            &format!("{}&recherche=chg-b", grid("2026-W53", "2026-W53")),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(searched["chantiers"][0]["chantier_id"], elsewhere.as_str());
    s.expect(
        403,
        Method::GET,
        &grid("2026-W50", "2026-W51"),
        As::Compagnon,
        None,
    )
    .await;
    s.expect(
        401,
        Method::GET,
        &grid("2026-W50", "2026-W51"),
        As::Anonymous,
        None,
    )
    .await;
    let too_long = s
        .expect(
            422,
            Method::GET,
            &grid("2026-W01", "2028-W01"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(too_long["errors"][0]["code"], "too_many_weeks");
    let bad = s
        .expect(
            422,
            Method::GET,
            &grid("S05-2026", "2026-W05"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "semaine_debut");

    // Delete: refused to a chef; then gone, and its cell free again.
    s.expect(403, Method::DELETE, &path, &chef, None).await;
    let coffreur_path = format!("{BESOINS}/{}", coffreur["id"].as_str().unwrap());
    s.expect(204, Method::DELETE, &coffreur_path, As::Admin, None)
        .await;
    s.expect(404, Method::GET, &coffreur_path, As::Admin, None)
        .await;
    s.expect(404, Method::DELETE, &coffreur_path, As::Admin, None)
        .await;
    s.expect(
        404,
        Method::PUT,
        &coffreur_path,
        As::Admin,
        json!({"besoin_heures": 1}),
    )
    .await;
    s.expect(
        201,
        Method::POST,
        BESOINS,
        As::Admin,
        besoin(&site, "2026-W53", "coffreur", 7.0),
    )
    .await;
    let types: Vec<String> = s
        .events("besoin_charge.")
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        types,
        [
            "besoin_charge.created",
            "besoin_charge.created",
            "besoin_charge.updated",
            "besoin_charge.created",
            "besoin_charge.deleted",
            "besoin_charge.created",
        ]
    );
    let deleted = &s.events("besoin_charge.deleted").await[0].1;
    assert_eq!(deleted["type_metier"], "coffreur");
    assert_eq!(deleted["semaine"], "2026-W53");
    s.stop().await;
}

fn uuid() -> String {
    "0193b1c4-2d6e-7f80-9a1b-3c5d7e9f0a2b".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_one_cell_make_one_besoin() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.user(Role::Conducteur).await.id.clone();
    let site = chantier(&s, &conducteur, None, "CH-CHG-RACE").await;
    let token = s.token(As::Conducteur).await.unwrap();
    let url = s.url(BESOINS);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (url, token) = (url.clone(), token.clone());
        let body = besoin(&site, "2026-W50", "macon", f64::from(i));
        tasks.spawn(async move {
            let response = crate::support::http()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        });
    }
    let (mut created, mut conflicts) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(body["code"], "besoin_exists", "{body}");
                conflicts += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, 49));
    assert_eq!(s.count("SELECT count(*) FROM besoins_charge").await, 1);
    assert_eq!(s.events("besoin_charge.").await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_besoin_reaches_the_sites_conducteur_signed_and_no_other_conducteur() {
    let mut s = TestHub::builder()
        .env(&[("RATE_LIMITS", "off"), ("WEBHOOKS_POLL_INTERVAL", "100ms")])
        .local_receivers()
        .start()
        .await;
    let conducteur = s.user(Role::Conducteur).await.id.clone();
    let other = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, &conducteur, None, "CH-CHG-HOOK-1").await;
    let elsewhere = chantier(&s, &other.id, None, "CH-CHG-HOOK-2").await;

    let ours = Receiver::start(|_| Reply::status(204)).await;
    let theirs = Receiver::start(|_| Reply::status(204)).await;
    let subscribe = |url: String| json!({"url": url, "events": ["besoin_charge.*"]});
    let webhook = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            subscribe(ours.url("/charge")),
        )
        .await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    let ours_id = webhook["id"].as_str().unwrap().to_owned();
    s.expect(
        201,
        Method::POST,
        "/api/v1/webhooks",
        &other,
        subscribe(theirs.url("/charge")),
    )
    .await;

    s.expect(
        201,
        Method::POST,
        BESOINS,
        As::Conducteur,
        besoin(&site, "2026-W50", "macon", 70.0),
    )
    .await;
    let requests = ours.wait_for(1).await;
    let request = &requests[0];
    assert_eq!(
        request.header("x-hub-chantier-event"),
        Some("besoin_charge.created")
    );
    let (_, data) = &s.events("besoin_charge.created").await[0];
    assert_eq!(request.json()["data"], *data);
    Verifier::new(&WebhookSecret::parse(&secret).unwrap())
        .verify_now(
            &WebhookHeaders::new(
                request.header("webhook-id").unwrap(),
                request.header("webhook-timestamp").unwrap(),
                request.header("webhook-signature").unwrap(),
            ),
            &request.body,
        )
        .unwrap();

    // The other conducteur gets his own site's besoin only.
    s.expect(
        201,
        Method::POST,
        BESOINS,
        &other,
        besoin(&elsewhere, "2026-W50", "macon", 7.0),
    )
    .await;
    let theirs_got = theirs.wait_for(1).await;
    assert_eq!(
        theirs_got[0].json()["data"]["chantier_id"],
        elsewhere.as_str()
    );
    s.wait_for_dispatch().await;
    let jobs = format!("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{ours_id}'");
    assert_eq!(s.count(&jobs).await, 1, "not the other site's event");
    assert_eq!(ours.requests().len(), 1);
    assert_eq!(theirs.requests().len(), 1);
    s.stop().await;
}
