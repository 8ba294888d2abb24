//! Pointages over HTTP: the whole workflow through every route with an
//! allowed and a refused caller, scoped reads (another compagnon's hours
//! are a 404), nobody validating his own hours, refusals that publish
//! nothing, the one-per-day rule raced by concurrent requests, a signed
//! `heures.validated` webhook carrying the hours in minutes, variables de
//! paie (in the pointage, the feuille and the exports), the ERP export and
//! the feuille de route with the chantiers' addresses.

use std::io::Cursor;

use calamine::{DataType, Reader, Xlsx};
use hub_webhook_signature::{Verifier, WebhookHeaders, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Receiver, Reply, Role, TestHub, User, eventually};

const POINTAGES: &str = "/api/v1/pointages";

/// Opens a chantier run by `conducteur` (and `chef`, if any) and waits until
/// the pointages' read model knows it.
async fn chantier(hub: &TestHub, code: &str, conducteur: &str, chef: Option<&str>) -> String {
    let body = json!({
        "code": code, "nom": format!("Chantier {code}"), "adresse": "1 quai de Seine",
        "conducteur_ids": [conducteur], "chef_chantier_ids": chef.into_iter().collect::<Vec<_>>()
    });
    let created = hub
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    known(hub, "pointages_chantiers", "chantier_id", &id).await;
    id
}

/// Waits until the pointages' read model `table` has the row `column = id`.
async fn known(hub: &TestHub, table: &str, column: &str, id: &str) {
    let sql = format!("SELECT count(*) FROM {table} WHERE {column} = '{id}'");
    eventually(&format!("{id} in {table}"), || async {
        hub.count(&sql).await == 1
    })
    .await;
}

/// A user of `role` the pointages know.
async fn user(hub: &TestHub, role: Role) -> User {
    let user = hub.new_user(role).await;
    known(hub, "pointages_users", "user_id", &user.id).await;
    user
}

/// The hub's user of `role`, known to the pointages.
async fn role_user(hub: &TestHub, role: Role) -> String {
    let id = hub.user(role).await.id.clone();
    known(hub, "pointages_users", "user_id", &id).await;
    id
}

fn hours(user: &str, chantier: &str, date: &str, normales: &str) -> Value {
    json!({
        "utilisateur_id": user, "chantier_id": chantier, "date_pointage": date,
        "heures_normales": normales
    })
}

fn path(id: &Value) -> String {
    format!("{POINTAGES}/{}", id.as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_pointage_through_every_route() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let chef = role_user(&s, Role::ChefChantier).await;
    let site = chantier(&s, "CH-PTG-1", &conducteur, Some(&chef)).await;
    let karim = user(&s, Role::Compagnon).await;
    let lea = user(&s, Role::Compagnon).await;

    // Without a token, every route is a 401.
    let some = format!("{POINTAGES}/{}", uuid::Uuid::now_v7());
    let routes = [
        (Method::GET, POINTAGES.to_owned()),
        (Method::POST, POINTAGES.to_owned()),
        (Method::GET, some.clone()),
        (Method::PUT, some.clone()),
        (Method::DELETE, some.clone()),
        (Method::POST, format!("{some}/sign")),
        (Method::POST, format!("{some}/submit")),
        (Method::POST, format!("{some}/validate")),
        (Method::POST, format!("{some}/reject")),
        (Method::POST, format!("{some}/correct")),
        (
            Method::GET,
            format!(
                "{POINTAGES}/feuilles/utilisateurs/{}?semaine_debut=2026-12-07",
                karim.id
            ),
        ),
        (
            Method::GET,
            format!("{POINTAGES}/vues/chantiers?semaine_debut=2026-12-07"),
        ),
        (
            Method::GET,
            format!("{POINTAGES}/vues/compagnons?semaine_debut=2026-12-07"),
        ),
        (Method::POST, format!("{POINTAGES}/export")),
        (Method::GET, format!("{POINTAGES}/feuilles")),
        (
            Method::GET,
            format!("{POINTAGES}/navigation?semaine_debut=2026-12-07"),
        ),
        (
            Method::GET,
            format!(
                "{POINTAGES}/stats/jauge-avancement/{}?semaine_debut=2026-12-07",
                karim.id
            ),
        ),
        (
            Method::GET,
            format!("{POINTAGES}/stats/comparaison-equipes?semaine_debut=2026-12-07"),
        ),
        (Method::POST, format!("{POINTAGES}/variables-paie")),
        (
            Method::GET,
            format!(
                "{POINTAGES}/feuille-route/{}?semaine_debut=2026-12-07",
                karim.id
            ),
        ),
    ];
    for (method, route) in routes {
        let (status, body) = s
            .call(method.clone(), &route, As::Anonymous, json!({}))
            .await;
        assert_eq!(status, 401, "{method} {route}: {body}");
    }

    // A compagnon enters his own hours.
    let mut body = hours(&karim.id, &site, "2026-12-07", "7:30");
    body["heures_supplementaires"] = json!("1:00");
    body["commentaire"] = json!("Coffrage");
    let answer = s.send(Method::POST, POINTAGES, &karim, body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let created = answer.body;
    let id = path(&created["id"]);
    assert_eq!(answer.headers["location"].to_str().unwrap(), id);
    assert_eq!(created["statut"], "brouillon");
    assert_eq!(created["heures_normales"], "07:30");
    assert_eq!(created["heures_supplementaires"], "01:00");
    assert_eq!(created["total_heures"], "08:30");
    assert_eq!(created["total_heures_decimal"], 8.5);
    assert_eq!(created["heures_normales_minutes"], 450);
    assert_eq!(created["created_by"], karim.id.as_str());
    assert_eq!(created["is_editable"], true);
    assert_eq!(created["utilisateur_nom"], "Lea Durand");
    assert_eq!(created["chantier_nom"], "Chantier CH-PTG-1");

    // Refusals change nothing: another's hours (403), a bad duration and an
    // unknown user (422), the same day again (409).
    let before = s.events("heures.").await.len();
    let other = s
        .expect(
            403,
            Method::POST,
            POINTAGES,
            &lea,
            hours(&karim.id, &site, "2026-12-08", "8:00"),
        )
        .await;
    assert_eq!(other["code"], "forbidden");
    let bad = s
        .expect(
            422,
            Method::POST,
            POINTAGES,
            &karim,
            hours(&karim.id, &site, "2026-12-08", "7:60"),
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "heures_normales");
    let nobody = s
        .expect(
            422,
            Method::POST,
            POINTAGES,
            As::Admin,
            hours(
                &uuid::Uuid::now_v7().to_string(),
                &site,
                "2026-12-08",
                "8:00",
            ),
        )
        .await;
    assert_eq!(nobody["code"], "utilisateur_inactive");
    let twice = s
        .expect(
            409,
            Method::POST,
            POINTAGES,
            As::Conducteur,
            hours(&karim.id, &site, "2026-12-07", "8:00"),
        )
        .await;
    assert_eq!(twice["code"], "pointage_conflict");
    assert!(twice["detail"].as_str().unwrap().contains("2026-12-07"));
    assert_eq!(s.events("heures.").await.len(), before);

    // Another compagnon neither sees nor lists these hours.
    let hidden = s.expect(404, Method::GET, &id, &lea, None).await;
    assert_eq!(hidden["code"], "pointage_not_found");
    s.expect(
        404,
        Method::PUT,
        &id,
        &lea,
        json!({"heures_normales": "1:00"}),
    )
    .await;
    let theirs = s.expect(200, Method::GET, POINTAGES, &lea, None).await;
    assert_eq!(theirs["total"], 0);
    // The chef and the conducteur of the site see them.
    for who in [As::ChefChantier, As::Conducteur, As::Admin] {
        let listed = s
            .expect(
                200,
                Method::GET,
                &format!("{POINTAGES}?chantier_id={site}&statut=brouillon"),
                who,
                None,
            )
            .await;
        assert_eq!(listed["total"], 1, "{who:?}");
        assert_eq!(listed["pointages"][0]["id"], created["id"]);
    }
    s.expect(
        400,
        Method::GET,
        &format!("{POINTAGES}?statut=perdu"),
        &karim,
        None,
    )
    .await;

    // Edit; sign (only the owner); submit.
    let edited = s
        .expect(
            200,
            Method::PUT,
            &id,
            &karim,
            json!({"heures_normales": "8:00", "commentaire": null}),
        )
        .await;
    assert_eq!(edited["heures_normales"], "08:00");
    assert_eq!(edited["commentaire"], Value::Null);
    assert_eq!(edited["version"], 2);
    let sign = json!({"signature": "data:image/png;base64,iVBORw0KGgo="});
    let not_his = s
        .expect(
            403,
            Method::POST,
            &format!("{id}/sign"),
            As::Conducteur,
            sign.clone(),
        )
        .await;
    assert_eq!(not_his["code"], "forbidden");
    let signed = s
        .expect(
            200,
            Method::POST,
            &format!("{id}/sign"),
            &karim,
            sign.clone(),
        )
        .await;
    assert_eq!(signed["signe"], true);
    assert!(signed["signature_date"].is_string());
    assert!(signed.get("signature_utilisateur").is_none());
    let again = s
        .expect(409, Method::POST, &format!("{id}/sign"), &karim, sign)
        .await;
    assert_eq!(again["code"], "already_signed");
    // Validating a brouillon is refused by the statut.
    let early = s
        .expect(
            409,
            Method::POST,
            &format!("{id}/validate"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(early["code"], "invalid_transition");
    let submitted = s
        .expect(200, Method::POST, &format!("{id}/submit"), &karim, None)
        .await;
    assert_eq!(submitted["statut"], "soumis");
    let frozen = s
        .expect(
            409,
            Method::PUT,
            &id,
            &karim,
            json!({"heures_normales": "9:00"}),
        )
        .await;
    assert_eq!(frozen["code"], "pointage_not_editable");

    // A compagnon cannot validate (nor reject); the chef rejects with a motif.
    for action in ["validate", "reject"] {
        let refused = s
            .expect(
                403,
                Method::POST,
                &format!("{id}/{action}"),
                &karim,
                json!({"motif": "non"}),
            )
            .await;
        assert_eq!(refused["code"], "forbidden");
    }
    let no_motif = s
        .expect(
            422,
            Method::POST,
            &format!("{id}/reject"),
            As::ChefChantier,
            json!({"motif": "  "}),
        )
        .await;
    assert_eq!(no_motif["errors"][0]["field"], "motif");
    let rejected = s
        .expect(
            200,
            Method::POST,
            &format!("{id}/reject"),
            As::ChefChantier,
            json!({"motif": "Heures sup non prévues"}),
        )
        .await;
    assert_eq!(rejected["statut"], "rejete");
    assert_eq!(rejected["motif_rejet"], "Heures sup non prévues");
    assert_eq!(rejected["validateur_id"], chef.as_str());

    // Corrected, edited, submitted again, validated by the conducteur.
    let corrected = s
        .expect(200, Method::POST, &format!("{id}/correct"), &karim, None)
        .await;
    assert_eq!(corrected["statut"], "brouillon");
    assert_eq!(corrected["signe"], false);
    s.expect(
        200,
        Method::PUT,
        &id,
        &karim,
        json!({"heures_supplementaires": "0:00"}),
    )
    .await;
    s.expect(200, Method::POST, &format!("{id}/submit"), &karim, None)
        .await;
    let validated = s
        .expect(
            200,
            Method::POST,
            &format!("{id}/validate"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(validated["statut"], "valide");
    assert_eq!(validated["validateur_id"], conducteur.as_str());
    assert_eq!(validated["motif_rejet"], Value::Null);
    assert_eq!(validated["is_editable"], false);
    let fin = s.expect(409, Method::DELETE, &id, &karim, None).await;
    assert_eq!(fin["code"], "pointage_not_editable");
    let read = s
        .expect(200, Method::GET, &id, As::ChefChantier, None)
        .await;
    assert_eq!(read, validated);

    // Nobody validates his own hours: not the conducteur, not an admin.
    let own = s
        .expect(
            201,
            Method::POST,
            POINTAGES,
            As::Conducteur,
            hours(&conducteur, &site, "2026-12-07", "9:00"),
        )
        .await;
    let own_path = path(&own["id"]);
    s.expect(
        200,
        Method::POST,
        &format!("{own_path}/submit"),
        As::Conducteur,
        None,
    )
    .await;
    let self_validation = s
        .expect(
            403,
            Method::POST,
            &format!("{own_path}/validate"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(self_validation["code"], "forbidden");
    let admin_id = role_user(&s, Role::Admin).await;
    let admin_own = s
        .expect(
            201,
            Method::POST,
            POINTAGES,
            As::Admin,
            hours(&admin_id, &site, "2026-12-07", "2:00"),
        )
        .await;
    let admin_path = path(&admin_own["id"]);
    s.expect(
        200,
        Method::POST,
        &format!("{admin_path}/submit"),
        As::Admin,
        None,
    )
    .await;
    s.expect(
        403,
        Method::POST,
        &format!("{admin_path}/validate"),
        As::Admin,
        None,
    )
    .await;
    // The admin validates the conducteur's hours.
    s.expect(
        200,
        Method::POST,
        &format!("{own_path}/validate"),
        As::Admin,
        None,
    )
    .await;

    // A brouillon is deleted by the conducteur of its site.
    let draft = s
        .expect(
            201,
            Method::POST,
            POINTAGES,
            As::Conducteur,
            hours(&lea.id, &site, "2026-12-08", "8:00"),
        )
        .await;
    let draft_path = path(&draft["id"]);
    let unseen = s
        .expect(404, Method::DELETE, &draft_path, &karim, None)
        .await;
    assert_eq!(unseen["code"], "pointage_not_found");
    s.expect(204, Method::DELETE, &draft_path, As::Conducteur, None)
        .await;
    s.expect(404, Method::GET, &draft_path, As::Admin, None)
        .await;

    // A closed chantier takes no more hours (422), and nothing is published.
    let closed = chantier(&s, "CH-PTG-FERME", &conducteur, None).await;
    for step in ["demarrer", "receptionner", "fermer"] {
        s.expect(
            200,
            Method::POST,
            &format!("/api/v1/chantiers/{closed}/{step}"),
            As::Admin,
            None,
        )
        .await;
    }
    let ferme = format!(
        "SELECT count(*) FROM pointages_chantiers WHERE chantier_id = '{closed}' AND statut = 'ferme'"
    );
    eventually("the closed chantier known", || async {
        s.count(&ferme).await == 1
    })
    .await;
    let refused = s
        .expect(
            422,
            Method::POST,
            POINTAGES,
            &karim,
            hours(&karim.id, &closed, "2026-12-07", "8:00"),
        )
        .await;
    assert_eq!(refused["code"], "chantier_closed");

    let types: Vec<String> = s
        .events("heures.")
        .await
        .into_iter()
        .map(|(event_type, _)| event_type)
        .collect();
    assert_eq!(
        types,
        [
            "heures.created",
            "heures.updated",
            "heures.updated",
            "heures.submitted",
            "heures.rejected",
            "heures.updated",
            "heures.updated",
            "heures.submitted",
            "heures.validated",
            "heures.created",
            "heures.submitted",
            "heures.created",
            "heures.submitted",
            "heures.validated",
            "heures.created",
            "heures.deleted",
        ]
    );
    s.stop().await;
}

/// `method path` as `who` with `If-Match: if_match`; the status, the
/// answer's `ETag` (if any) and its JSON body.
async fn if_match(
    hub: &TestHub,
    method: Method,
    path: &str,
    who: &User,
    if_match: &str,
    body: Value,
) -> (u16, Option<String>, Value) {
    let response = hub
        .request(method, path, who)
        .await
        .header("If-Match", if_match)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|tag| tag.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, etag, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_makes_a_change_conditional_on_the_version_last_read() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let chef_id = role_user(&s, Role::ChefChantier).await;
    let site = chantier(&s, "CH-PTG-ETAG", &conducteur, Some(&chef_id)).await;
    let karim = user(&s, Role::Compagnon).await;
    let lea = user(&s, Role::Compagnon).await;
    let chef = s.user(Role::ChefChantier).await;

    // Every answer carries the version as its ETag.
    let created = s
        .send(
            Method::POST,
            POINTAGES,
            &karim,
            hours(&karim.id, &site, "2026-12-14", "7:00"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.headers["etag"], "\"1\"");
    let id = path(&created.body["id"]);
    let read = s.send(Method::GET, &id, &karim, None).await;
    assert_eq!(read.headers["etag"], "\"1\"");

    // Edited meanwhile (version 2): a change made on version 1 is a 412
    // and changes nothing, whatever the operation.
    let edited = s
        .send(Method::PUT, &id, &karim, json!({"heures_normales": "8:00"}))
        .await;
    assert_eq!(edited.headers["etag"], "\"2\"");
    let before = s.events("heures.").await.len();
    for (method, route, body) in [
        (Method::PUT, id.clone(), json!({"heures_normales": "6:00"})),
        (
            Method::POST,
            format!("{id}/sign"),
            json!({"signature": "K"}),
        ),
        (Method::POST, format!("{id}/submit"), json!({})),
        (Method::DELETE, id.clone(), json!({})),
    ] {
        let (status, _, body) = if_match(&s, method.clone(), &route, &karim, "\"1\"", body).await;
        assert_eq!(status, 412, "{method} {route}: {body}");
        assert_eq!(body["code"], "precondition_failed");
    }
    // A weak or unreadable tag matches nothing either.
    for tag in ["W/\"2\"", "2"] {
        let (status, _, _) = if_match(
            &s,
            Method::POST,
            &format!("{id}/submit"),
            &karim,
            tag,
            json!({}),
        )
        .await;
        assert_eq!(status, 412, "{tag}");
    }
    // Someone who may not see the pointage learns nothing from the tag: 404.
    let (status, _, body) = if_match(
        &s,
        Method::POST,
        &format!("{id}/submit"),
        &lea,
        "\"1\"",
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("pointage_not_found"))
    );
    assert_eq!(s.events("heures.").await.len(), before);
    let current = s.expect(200, Method::GET, &id, &karim, None).await;
    assert_eq!(current["heures_normales"], "08:00");
    assert_eq!(current["statut"], "brouillon");

    // The version last read goes through and tags the answer; `*` means any.
    let (status, etag, body) = if_match(
        &s,
        Method::POST,
        &format!("{id}/submit"),
        &karim,
        "\"2\"",
        json!({}),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"3\"")), "{body}");
    let (status, _, _) = if_match(
        &s,
        Method::POST,
        &format!("{id}/reject"),
        chef,
        "\"2\"",
        json!({"motif": "Vu trop tard"}),
    )
    .await;
    assert_eq!(status, 412);
    let (status, etag, body) = if_match(
        &s,
        Method::POST,
        &format!("{id}/reject"),
        chef,
        "\"3\"",
        json!({"motif": "Heures du lundi"}),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"4\"")), "{body}");
    let (status, etag, _) = if_match(
        &s,
        Method::POST,
        &format!("{id}/correct"),
        &karim,
        "*",
        json!({}),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"5\"")));
    let (status, _, _) = if_match(
        &s,
        Method::POST,
        &format!("{id}/submit"),
        &karim,
        "\"5\"",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, etag, body) = if_match(
        &s,
        Method::POST,
        &format!("{id}/validate"),
        chef,
        "\"6\"",
        json!({}),
    )
    .await;
    assert_eq!((status, etag.as_deref()), (200, Some("\"7\"")), "{body}");
    assert_eq!(body["statut"], "valide");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_day_make_one_pointage() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let site = chantier(&s, "CH-PTG-RACE", &conducteur, None).await;
    let karim = user(&s, Role::Compagnon).await;
    let url = s.url(POINTAGES);
    let requests = (0..20).map(|n| {
        let request = crate::support::http()
            .post(url.clone())
            .bearer_auth(&karim.token)
            .json(&hours(
                &karim.id,
                &site,
                "2026-12-09",
                &format!("{}:00", n % 10),
            ));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    });
    let answers = futures::future::join_all(requests).await;
    let (mut created, mut conflicts) = (0, 0);
    for (status, body) in answers {
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(body["code"], "pointage_conflict", "{body}");
                conflicts += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    assert_eq!(s.count("SELECT count(*) FROM pointages").await, 1);
    assert_eq!(s.events("heures.").await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_reaches_the_sites_conducteur_signed_with_minutes() {
    let mut s = TestHub::builder()
        .env(&[("RATE_LIMITS", "off"), ("WEBHOOKS_POLL_INTERVAL", "100ms")])
        .local_receivers()
        .start()
        .await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let other = user(&s, Role::Conducteur).await;
    let site = chantier(&s, "CH-PTG-WH", &conducteur, None).await;
    let elsewhere = chantier(&s, "CH-PTG-WH2", &other.id, None).await;
    let karim = user(&s, Role::Compagnon).await;

    let ours = Receiver::start(|_| Reply::status(204)).await;
    let theirs = Receiver::start(|_| Reply::status(204)).await;
    let subscribe = |url: String| json!({"url": url, "events": ["heures.*"]});
    let webhook = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            subscribe(ours.url("/paie")),
        )
        .await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    s.expect(
        201,
        Method::POST,
        "/api/v1/webhooks",
        &other,
        subscribe(theirs.url("/paie")),
    )
    .await;

    let mut body = hours(&karim.id, &site, "2026-12-10", "7:30");
    body["heures_supplementaires"] = json!("1:15");
    let created = s.expect(201, Method::POST, POINTAGES, &karim, body).await;
    let id = path(&created["id"]);
    s.expect(200, Method::POST, &format!("{id}/submit"), &karim, None)
        .await;
    s.expect(
        200,
        Method::POST,
        &format!("{id}/validate"),
        As::Conducteur,
        None,
    )
    .await;

    let requests = ours.wait_for(3).await;
    let validated = requests
        .iter()
        .find(|r| r.header("x-hub-chantier-event") == Some("heures.validated"))
        .expect("heures.validated delivered");
    let data = validated.json()["data"].clone();
    assert_eq!(data["heures_id"], created["id"]);
    assert_eq!(data["utilisateur_id"], karim.id.as_str());
    assert_eq!(data["chantier_id"], site.as_str());
    assert_eq!(data["date"], "2026-12-10");
    assert_eq!(data["heures_normales"], 450);
    assert_eq!(data["heures_supplementaires"], 75);
    assert_eq!(data["validated_by"], conducteur.as_str());
    let parsed = WebhookSecret::parse(&secret).unwrap();
    Verifier::new(&parsed)
        .verify_now(
            &WebhookHeaders::new(
                validated.header("webhook-id").unwrap(),
                validated.header("webhook-timestamp").unwrap(),
                validated.header("webhook-signature").unwrap(),
            ),
            &validated.body,
        )
        .unwrap();

    // The other site's conducteur only receives his own site's hours.
    s.expect(
        201,
        Method::POST,
        POINTAGES,
        &other,
        hours(&karim.id, &elsewhere, "2026-12-10", "1:00"),
    )
    .await;
    let theirs_got = theirs.wait_for(1).await;
    assert_eq!(
        theirs_got[0].json()["data"]["chantier_id"],
        elsewhere.as_str()
    );
    s.wait_for_dispatch().await;
    assert_eq!(theirs.requests().len(), 1);
    assert_eq!(ours.requests().len(), 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_views_total_per_day_chantier_and_week_and_recompute_the_statut() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let nord = chantier(&s, "CH-PTG-N", &conducteur, None).await;
    let sud = chantier(&s, "CH-PTG-S", &conducteur, None).await;
    let karim = user(&s, Role::Compagnon).await;
    let lea = user(&s, Role::Compagnon).await;
    let mut monday = hours(&karim.id, &nord, "2026-12-07", "7:30");
    monday["heures_supplementaires"] = json!("1:00");
    let mut ids = Vec::new();
    for body in [
        monday,
        hours(&karim.id, &nord, "2026-12-08", "8:00"),
        hours(&karim.id, &sud, "2026-12-09", "4:00"),
        // Another week: in no total below.
        hours(&karim.id, &nord, "2026-12-14", "8:00"),
    ] {
        let created = s.expect(201, Method::POST, POINTAGES, &karim, body).await;
        ids.push(path(&created["id"]));
    }
    s.expect(
        201,
        Method::POST,
        POINTAGES,
        &lea,
        hours(&lea.id, &nord, "2026-12-07", "6:00"),
    )
    .await;

    // Karim's feuille, asked with a Wednesday.
    let feuille_path = format!(
        "{POINTAGES}/feuilles/utilisateurs/{}?semaine_debut=2026-12-09",
        karim.id
    );
    let feuille = s
        .expect(200, Method::GET, &feuille_path, &karim, None)
        .await;
    assert_eq!(feuille["semaine_debut"], "2026-12-07");
    assert_eq!(feuille["semaine_fin"], "2026-12-13");
    assert_eq!(feuille["semaine_iso"], "2026-W50");
    assert_eq!(feuille["label_semaine"], "Semaine 50 - 2026");
    assert_eq!(feuille["utilisateur_nom"], "Lea Durand");
    assert_eq!(feuille["statut_global"], "brouillon");
    assert_eq!(feuille["total_heures_normales"], "19:30");
    assert_eq!(feuille["total_heures_supplementaires"], "01:00");
    assert_eq!(feuille["total_heures"], "20:30");
    assert_eq!(feuille["total_minutes"], 1230);
    assert_eq!(feuille["is_complete"], false);
    assert_eq!(feuille["pointages"].as_array().unwrap().len(), 3);
    assert_eq!(feuille["pointages"][2]["jour_semaine"], "mercredi");
    assert_eq!(feuille["pointages"][2]["chantier_nom"], "Chantier CH-PTG-S");
    assert_eq!(feuille["totaux_par_jour"]["lundi"], "08:30");
    assert_eq!(feuille["totaux_par_jour"]["mercredi"], "04:00");
    assert_eq!(feuille["totaux_par_jour"]["dimanche"], "00:00");
    let par_chantier: Vec<(&str, &str)> = feuille["totaux_par_chantier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["chantier_nom"].as_str().unwrap(),
                t["total_heures"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![
        ("Chantier CH-PTG-N", "16:30"),
        ("Chantier CH-PTG-S", "04:00"),
    ];
    if nord > sud {
        expected.reverse();
    }
    assert_eq!(par_chantier, expected);
    // Another compagnon cannot read it.
    let hidden = s.expect(404, Method::GET, &feuille_path, &lea, None).await;
    assert_eq!(hidden["code"], "feuille_not_found");

    // The global statut follows the rows: submitted, then one rejected.
    for id in &ids[..3] {
        s.expect(200, Method::POST, &format!("{id}/submit"), &karim, None)
            .await;
    }
    let soumise = s
        .expect(200, Method::GET, &feuille_path, As::Conducteur, None)
        .await;
    assert_eq!(soumise["statut_global"], "soumis");
    s.expect(
        200,
        Method::POST,
        &format!("{}/validate", ids[0]),
        As::Conducteur,
        None,
    )
    .await;
    s.expect(
        200,
        Method::POST,
        &format!("{}/reject", ids[1]),
        As::Conducteur,
        json!({"motif": "Mauvais chantier"}),
    )
    .await;
    let rejetee = s
        .expect(200, Method::GET, &feuille_path, &karim, None)
        .await;
    assert_eq!(rejetee["statut_global"], "rejete");
    assert_eq!(rejetee["total_heures"], "20:30");

    // Per chantier: both users; per user: each per chantier.
    let vue = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/vues/chantiers?semaine_debut=2026-12-13"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(vue["semaine_debut"], "2026-12-07");
    let chantiers = vue["chantiers"].as_array().unwrap();
    assert_eq!(chantiers.len(), 2);
    let nord_vue = chantiers
        .iter()
        .find(|c| c["chantier_id"] == nord.as_str())
        .unwrap();
    assert_eq!(nord_vue["total_heures"], "22:30");
    assert_eq!(nord_vue["totaux_par_jour"]["lundi"], "14:30");
    assert_eq!(
        nord_vue["pointages_par_jour"]["lundi"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let only_sud = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/vues/chantiers?semaine_debut=2026-12-07&chantier_ids={sud}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(only_sud["chantiers"].as_array().unwrap().len(), 1);
    assert_eq!(only_sud["chantiers"][0]["total_minutes"], 240);
    let bad = s
        .expect(
            422,
            Method::GET,
            &format!("{POINTAGES}/vues/chantiers?semaine_debut=2026-12-07&chantier_ids=x"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "chantier_ids");

    let compagnons = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/vues/compagnons?semaine_debut=2026-12-07"),
            As::Admin,
            None,
        )
        .await;
    let list = compagnons["compagnons"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let karim_vue = list
        .iter()
        .find(|c| c["utilisateur_id"] == karim.id.as_str())
        .unwrap();
    assert_eq!(karim_vue["total_heures"], "20:30");
    assert_eq!(karim_vue["chantiers"].as_array().unwrap().len(), 2);
    assert_eq!(karim_vue["totaux_par_jour"]["mardi"], "08:00");
    // A compagnon's view holds only himself.
    let own = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/vues/compagnons?semaine_debut=2026-12-07"),
            &lea,
            None,
        )
        .await;
    assert_eq!(own["compagnons"].as_array().unwrap().len(), 1);
    assert_eq!(own["compagnons"][0]["utilisateur_id"], lea.id.as_str());
    assert_eq!(own["compagnons"][0]["total_heures"], "06:00");

    // The list of feuilles: each user's week, with its recomputed statut;
    // a compagnon sees only his own.
    const FEUILLES: &str = "/api/v1/pointages/feuilles";
    let all = s.expect(200, Method::GET, FEUILLES, As::Admin, None).await;
    // Karim's weeks 50 and 51, Léa's week 50; the latest week first.
    assert_eq!(all["total"], 3);
    assert_eq!(all["feuilles"][0]["semaine_iso"], "2026-W51");
    assert_eq!(all["feuilles"][0]["statut_global"], "brouillon");
    let karim_feuille = all["feuilles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["utilisateur_id"] == karim.id.as_str() && f["semaine_iso"] == "2026-W50")
        .unwrap();
    assert_eq!(karim_feuille["statut_global"], "rejete");
    assert_eq!(karim_feuille["total_heures"], "20:30");
    assert_eq!(karim_feuille["semaine_iso"], "2026-W50");
    let rejected = s
        .expect(
            200,
            Method::GET,
            &format!("{FEUILLES}?statut=rejete&annee=2026&numero_semaine=50"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(rejected["total"], 1);
    assert_eq!(rejected["feuilles"][0]["utilisateur_id"], karim.id.as_str());
    let other_week = s
        .expect(
            200,
            Method::GET,
            &format!("{FEUILLES}?annee=2026&numero_semaine=51"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(other_week["total"], 1);
    assert_eq!(other_week["feuilles"][0]["total_heures"], "08:00");
    let own = s.expect(200, Method::GET, FEUILLES, &lea, None).await;
    assert_eq!(own["total"], 1);
    assert_eq!(own["feuilles"][0]["utilisateur_id"], lea.id.as_str());
    let hidden = s
        .expect(
            200,
            Method::GET,
            &format!("{FEUILLES}?utilisateur_id={}", karim.id),
            &lea,
            None,
        )
        .await;
    assert_eq!(hidden["total"], 0);
    let paged = s
        .expect(
            200,
            Method::GET,
            &format!("{FEUILLES}?skip=1&limit=1"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(paged["total"], 3);
    assert_eq!(paged["feuilles"].as_array().unwrap().len(), 1);
    let bad = s
        .expect(
            422,
            Method::GET,
            &format!("{FEUILLES}?numero_semaine=54"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "numero_semaine");
    let too_many = s
        .expect(
            400,
            Method::GET,
            &format!("{FEUILLES}?limit=51"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(too_many["code"], "invalid_query");
    let (status, _) = s.call(Method::GET, FEUILLES, As::Anonymous, None).await;
    assert_eq!(status, 401);

    // Navigation: the week of a day and its neighbours, across a year.
    let nav = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/navigation?semaine_debut=2026-12-30"),
            &lea,
            None,
        )
        .await;
    assert_eq!(nav["semaine_courante"], "2026-12-28");
    assert_eq!(nav["semaine_precedente"], "2026-12-21");
    assert_eq!(nav["semaine_suivante"], "2027-01-04");
    assert_eq!(nav["semaine_iso"], "2026-W53");
    assert_eq!(nav["label"], "Semaine 53 - 2026");

    // Karim's gauge: 20:30 of 35 h planned is 58.6 %, late; of 20 h, normal.
    let jauge = format!("{POINTAGES}/stats/jauge-avancement/{}", karim.id);
    let late = s
        .expect(
            200,
            Method::GET,
            &format!("{jauge}?semaine_debut=2026-12-09"),
            &karim,
            None,
        )
        .await;
    assert_eq!(late["heures_realisees"], 20.5);
    assert_eq!(late["heures_planifiees"], 35.0);
    assert_eq!(late["taux_completion"], 58.6);
    assert_eq!(late["status"], "en_retard");
    assert_eq!(late["semaine"], "Semaine 50 - 2026");
    let normal = s
        .expect(
            200,
            Method::GET,
            &format!("{jauge}?semaine_debut=2026-12-09&heures_planifiees=20"),
            As::Conducteur,
            None,
        )
        .await;
    assert_eq!(normal["status"], "normal");
    let hidden = s
        .expect(
            404,
            Method::GET,
            &format!("{jauge}?semaine_debut=2026-12-09"),
            &lea,
            None,
        )
        .await;
    assert_eq!(hidden["code"], "feuille_not_found");
    let bad = s
        .expect(
            422,
            Method::GET,
            &format!("{jauge}?semaine_debut=2026-12-09&heures_planifiees=-1"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "heures_planifiees");

    // Teams: nord 22:30 for two users (70 h planned), sud 4:00 for one.
    let comparaison = format!("{POINTAGES}/stats/comparaison-equipes?semaine_debut=2026-12-07");
    let teams = s
        .expect(200, Method::GET, &comparaison, As::Conducteur, None)
        .await;
    let equipes = teams["equipes"].as_array().unwrap();
    assert_eq!(equipes.len(), 2);
    let nord_team = equipes
        .iter()
        .find(|e| e["chantier_id"] == nord.as_str())
        .unwrap();
    assert_eq!(nord_team["nombre_utilisateurs"], 2);
    assert_eq!(nord_team["heures_planifiees"], 70.0);
    assert_eq!(nord_team["heures_realisees"], 22.5);
    assert_eq!(nord_team["taux_completion"], 32.1);
    assert_eq!(nord_team["chantier_nom"], "Chantier CH-PTG-N");
    let ecarts = teams["ecarts_detectes"].as_array().unwrap();
    assert_eq!(ecarts.len(), 2);
    assert!(ecarts.iter().all(|e| e["type_ecart"] == "deficit"));
    let nord_ecart = ecarts
        .iter()
        .find(|e| e["chantier_id"] == nord.as_str())
        .unwrap();
    assert_eq!(nord_ecart["ecart_heures"], 47.5);
    for who in [As::Compagnon, As::ChefChantier] {
        s.expect(403, Method::GET, &comparaison, who, None).await;
    }
    s.stop().await;
}

/// Waits until the planning's read models know `user` and `chantier`.
async fn planning_knows(hub: &TestHub, user: &str, chantier: &str) {
    known(hub, "planning_users", "user_id", user).await;
    known(hub, "planning_chantiers", "chantier_id", chantier).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planning_pre_fills_drafts_once_and_takes_back_unsigned_ones() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let site = chantier(&s, "CH-PTG-PLN", &conducteur, None).await;
    let karim = user(&s, Role::Compagnon).await;
    planning_knows(&s, &karim.id, &site).await;
    const AFFECTATIONS: &str = "/api/v1/planning/affectations";

    // One day with times: a brouillon of 9 hours appears for that day.
    let monday = s
        .expect(
            201,
            Method::POST,
            AFFECTATIONS,
            As::Conducteur,
            json!({"utilisateur_id": karim.id, "chantier_id": site, "date": "2026-12-07",
                   "heure_debut": "7:30", "heure_fin": "16:30"}),
        )
        .await;
    let drafts = |date: &'static str| {
        format!(
            "SELECT count(*) FROM pointages WHERE utilisateur_id = '{}' AND date_pointage = '{date}' \
             AND statut = 'brouillon' AND affectation_id IS NOT NULL",
            karim.id
        )
    };
    eventually("the monday draft", || async {
        s.count(&drafts("2026-12-07")).await == 1
    })
    .await;
    let listed = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}?date_debut=2026-12-07&date_fin=2026-12-07"),
            &karim,
            None,
        )
        .await;
    assert_eq!(listed["total"], 1);
    let draft = &listed["pointages"][0];
    assert_eq!(draft["affectation_id"], monday["id"]);
    assert_eq!(draft["heures_normales"], "09:00");
    assert_eq!(draft["statut"], "brouillon");
    assert_eq!(draft["created_by"], conducteur.as_str());
    let caused = "SELECT count(*) FROM event_logs h JOIN event_logs a ON h.causation_id = a.event_id \
                  WHERE h.event_type = 'heures.created' AND a.event_type = 'affectation.created'";
    assert_eq!(s.count(caused).await, 1);

    // A day range without times (one bulk event): 8-hour drafts Tue–Thu.
    s.expect(
        201,
        Method::POST,
        &format!("{AFFECTATIONS}/bulk"),
        As::Conducteur,
        json!({"utilisateur_id": karim.id, "chantier_id": site, "date": "2026-12-08",
               "date_fin": "2026-12-10"}),
    )
    .await;
    eventually("the tuesday to thursday drafts", || async {
        s.count(&format!(
            "SELECT count(*) FROM pointages WHERE utilisateur_id = '{}' \
             AND heures_normales_minutes = 480 AND affectation_id IS NOT NULL",
            karim.id
        ))
        .await
            == 3
    })
    .await;

    // Karim signs Tuesday's draft; then Monday is deleted and Tuesday
    // cancelled in the planning: the unsigned Monday goes, Tuesday stays.
    let tuesday = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}?date_debut=2026-12-08&date_fin=2026-12-08"),
            &karim,
            None,
        )
        .await;
    let tuesday_pointage = path(&tuesday["pointages"][0]["id"]);
    let tuesday_affectation = tuesday["pointages"][0]["affectation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.expect(
        200,
        Method::POST,
        &format!("{tuesday_pointage}/sign"),
        &karim,
        json!({"signature": "Karim"}),
    )
    .await;
    s.expect(
        204,
        Method::DELETE,
        &format!("{AFFECTATIONS}/{}", monday["id"].as_str().unwrap()),
        As::Conducteur,
        None,
    )
    .await;
    s.expect(
        200,
        Method::POST,
        &format!("{AFFECTATIONS}/{tuesday_affectation}/cancel"),
        As::Conducteur,
        json!({"raison": "Intempéries"}),
    )
    .await;
    eventually("the monday draft removed", || async {
        s.count(&drafts("2026-12-07")).await == 0
    })
    .await;
    s.wait_for_dispatch().await;
    assert_eq!(s.count(&drafts("2026-12-08")).await, 1, "signed: kept");
    let removed = "SELECT count(*) FROM event_logs h JOIN event_logs a ON h.causation_id = a.event_id \
                   WHERE h.event_type = 'heures.deleted' AND a.event_type = 'affectation.deleted'";
    assert_eq!(s.count(removed).await, 1);

    // Replaying every planning event changes nothing.
    let heures = s.events("heures.").await.len();
    let rows = s.count("SELECT count(*) FROM pointages").await;
    s.run_sql("UPDATE event_logs SET dispatched_at = NULL WHERE event_type LIKE 'affectation.%'")
        .await;
    s.wait_for_dispatch().await;
    assert_eq!(s.events("heures.").await.len(), heures);
    assert_eq!(s.count("SELECT count(*) FROM pointages").await, rows);
    assert_eq!(rows, 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_a_thousand_pointages_exports_as_csv_and_xlsx_with_the_views_totals() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    // 10 users × 20 chantiers × 5 days, written straight to the table: the
    // HTTP path of one pointage is covered above, the export is under test.
    s.run_sql(
        "INSERT INTO pointages (id, utilisateur_id, chantier_id, date_pointage, \
         heures_normales_minutes, heures_supplementaires_minutes, statut, version, created_at, updated_at) \
         SELECT gen_random_uuid(), u.id, c.id, d::date, 360 + (random() * 120)::int, \
                (random() * 45)::int, 'brouillon', 1, now(), now() \
         FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, 10)) u, \
              (SELECT gen_random_uuid() AS id FROM generate_series(1, 20)) c, \
              generate_series('2026-12-07'::date, '2026-12-11'::date, '1 day') d",
    )
    .await;
    assert_eq!(s.count("SELECT count(*) FROM pointages").await, 1000);
    const EXPORT: &str = "/api/v1/pointages/export";
    let body = |format: &str| json!({"semaine": "2026-W50", "format": format});

    // Refused: a compagnon or a chef (403), a week that is not one (422);
    // nothing published.
    for who in [As::Compagnon, As::ChefChantier] {
        s.expect(403, Method::POST, EXPORT, who, body("csv")).await;
    }
    let bad = s
        .expect(
            422,
            Method::POST,
            EXPORT,
            As::Admin,
            json!({"semaine": "2026-50", "format": "csv"}),
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "semaine");
    assert!(s.events("feuille_heures.").await.is_empty());

    // The weekly view's totals per user.
    let vue = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/vues/compagnons?semaine_debut=2026-12-07"),
            As::Admin,
            None,
        )
        .await;
    let mut expected: Vec<(String, String)> = vue["compagnons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["utilisateur_id"].as_str().unwrap().to_owned(),
                c["total_heures"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 10);
    let week_minutes: u64 = vue["compagnons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["total_minutes"].as_u64().unwrap())
        .sum();

    // CSV: BOM, `;`, one line per pointage, a total per user, the week's total.
    let response = s
        .request(Method::POST, EXPORT, As::Admin)
        .await
        .json(&body("csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"feuilles_heures_2026-W50.csv\""
    );
    // Streamed: sent in chunks as it is read, its length unknown up front.
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().get("content-length").is_none());
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<Vec<&str>> = text
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| line.split(';').collect())
        .collect();
    assert_eq!(lines[0][0], "Date");
    assert_eq!(lines.len(), 1 + 1000 + 10 + 1);
    // The variables de paie's column comes last (included by default).
    assert_eq!(lines[0].last(), Some(&"Variables de paie"));
    assert!(lines[1..].iter().all(|cells| cells.len() == 12));
    let mut totals: Vec<(String, String)> = lines
        .iter()
        .filter(|cells| cells[0] == "Total utilisateur")
        .map(|cells| (cells[2].to_owned(), cells[8].to_owned()))
        .collect();
    totals.sort();
    assert_eq!(totals, expected);
    let last = lines.last().unwrap();
    assert_eq!(last[0], "Total semaine");
    assert_eq!(
        last[8],
        format!("{:02}:{:02}", week_minutes / 60, week_minutes % 60)
    );

    // XLSX: a spreadsheet (a zip), as an attachment.
    let response = s
        .request(Method::POST, EXPORT, As::Admin)
        .await
        .json(&body("xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with("feuilles_heures_2026-W50.xlsx\"")
    );
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let xlsx = response.bytes().await.unwrap();
    assert_eq!(&xlsx[..2], b"PK");
    // Read back with a spreadsheet reader: the same lines, and the same
    // totals per user as the view, in `HH:MM` and as decimal hours.
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.to_vec())).unwrap();
    let sheet = workbook.worksheet_range("2026-W50").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| cell.as_string().unwrap_or_default())
                .collect()
        })
        .collect();
    assert_eq!(rows[0][0], "Date");
    assert_eq!(rows.len(), 1 + 1000 + 10 + 1);
    let mut sheet_totals: Vec<(String, String)> = rows
        .iter()
        .filter(|cells| cells[0] == "Total utilisateur")
        .map(|cells| (cells[2].clone(), cells[8].clone()))
        .collect();
    sheet_totals.sort();
    assert_eq!(sheet_totals, expected);
    let decimal_totals: f64 = sheet
        .rows()
        .filter(|row| row[0].as_string().as_deref() == Some("Total utilisateur"))
        .map(|row| row[9].get_float().unwrap())
        .sum();
    assert!((decimal_totals - week_minutes as f64 / 60.0).abs() < 1e-6);
    let last = rows.last().unwrap();
    assert_eq!(last[0], "Total semaine");
    assert_eq!(
        last[8],
        format!("{:02}:{:02}", week_minutes / 60, week_minutes % 60)
    );
    // Every pointage line of the sheet is one of the CSV's, in the same order.
    let csv_pointages: Vec<(&str, &str, &str, &str)> = lines[1..]
        .iter()
        .filter(|cells| !cells[0].starts_with("Total"))
        .map(|cells| (cells[0], cells[2], cells[4], cells[8]))
        .collect();
    let sheet_pointages: Vec<(&str, &str, &str, &str)> = rows[1..]
        .iter()
        .filter(|cells| !cells[0].starts_with("Total"))
        .map(|cells| {
            (
                cells[0].as_str(),
                cells[2].as_str(),
                cells[4].as_str(),
                cells[8].as_str(),
            )
        })
        .collect();
    assert_eq!(csv_pointages.len(), 1000);
    assert_eq!(sheet_pointages, csv_pointages);

    // A conducteur exports only what he may see: here, nothing but the total.
    let response = s
        .request(Method::POST, EXPORT, As::Conducteur)
        .await
        .json(&body("csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let own = response.text().await.unwrap();
    assert_eq!(own.trim_end().split("\r\n").count(), 2, "{own}");

    let exports = s.events("feuille_heures.").await;
    assert_eq!(exports.len(), 3);
    assert_eq!(exports[0].0, "feuille_heures.exported");
    assert_eq!(exports[0].1["semaine"], "2026-W50");
    assert_eq!(exports[0].1["format"], "csv");
    assert_eq!(exports[1].1["format"], "xlsx");
    assert_eq!(exports[0].1["chantier_id"], Value::Null);
    let admin = s.user(Role::Admin).await.id.clone();
    assert_eq!(exports[0].1["exported_by"], admin.as_str());
    s.stop().await;
}

// -- variables de paie, ERP export, feuille de route ---------------------------

const EXPORT: &str = "/api/v1/pointages/export";

/// The variable de paie to add to `pointage`.
fn variable(pointage: &Value, type_variable: &str, valeur: Value) -> Value {
    json!({
        "pointage_id": pointage["id"], "type_variable": type_variable, "valeur": valeur,
        "date_application": pointage["date_pointage"]
    })
}

/// A CSV export's lines, BOM dropped, split on `;`.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    std::str::from_utf8(&bytes[3..])
        .unwrap()
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| line.split(';').map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_de_paie_go_with_their_pointage_into_the_feuille_and_the_exports() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let chef = role_user(&s, Role::ChefChantier).await;
    let site = chantier(&s, "CH-VAR-1", &conducteur, Some(&chef)).await;
    let karim = user(&s, Role::Compagnon).await;
    let lea = user(&s, Role::Compagnon).await;
    let created = s
        .expect(
            201,
            Method::POST,
            POINTAGES,
            &karim,
            hours(&karim.id, &site, "2026-12-07", "7:30"),
        )
        .await;
    let id = path(&created["id"]);
    const VARIABLES: &str = "/api/v1/pointages/variables-paie";

    // The user adds one (the type in any case, the value a JSON number);
    // a responsable of the chantier another.
    let panier = s
        .expect(
            201,
            Method::POST,
            VARIABLES,
            &karim,
            variable(&created, "PANIER_REPAS", json!(9.4)),
        )
        .await;
    assert_eq!(panier["pointage_id"], created["id"]);
    assert_eq!(panier["type_variable"], "panier_repas");
    assert_eq!(panier["type_variable_libelle"], "Panier repas");
    assert_eq!(panier["valeur"], "9.40");
    assert_eq!(panier["date_application"], "2026-12-07");
    assert_eq!(panier["created_by"], karim.id.as_str());
    let mut salissure = variable(&created, "prime_salissure", json!(3));
    salissure["commentaire"] = json!("Décoffrage");
    let salissure = s
        .expect(201, Method::POST, VARIABLES, As::ChefChantier, salissure)
        .await;
    assert_eq!(salissure["valeur"], "3.00");
    assert_eq!(salissure["commentaire"], "Décoffrage");
    s.expect(
        201,
        Method::POST,
        VARIABLES,
        &karim,
        variable(&created, "panier_repas", json!(0.6)),
    )
    .await;

    // Refused, changing nothing: another compagnon (404), bad fields (422
    // naming each), an unknown pointage (404).
    let before = s.events("").await.len();
    let hidden = s
        .expect(
            404,
            Method::POST,
            VARIABLES,
            &lea,
            variable(&created, "rtt", json!(1)),
        )
        .await;
    assert_eq!(hidden["code"], "pointage_not_found");
    let bad = s
        .expect(
            422,
            Method::POST,
            VARIABLES,
            &karim,
            variable(&created, "prime", json!(-1)),
        )
        .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["type_variable", "valeur"]);
    let precise = s
        .expect(
            422,
            Method::POST,
            VARIABLES,
            &karim,
            variable(&created, "rtt", json!(1.234)),
        )
        .await;
    assert_eq!(precise["errors"][0]["field"], "valeur");
    let mut ghost = variable(&created, "rtt", json!(1));
    ghost["pointage_id"] = json!(uuid::Uuid::now_v7());
    s.expect(404, Method::POST, VARIABLES, As::Admin, ghost)
        .await;
    assert_eq!(s.events("").await.len(), before);

    // Listed with the pointage, summed per type in the feuille.
    let read = s.expect(200, Method::GET, &id, &karim, None).await;
    let listed: Vec<(&str, &str)> = read["variables_paie"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["type_variable"].as_str().unwrap(),
                v["valeur"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("panier_repas", "9.40"),
            ("prime_salissure", "3.00"),
            ("panier_repas", "0.60")
        ]
    );
    let feuille = s
        .expect(
            200,
            Method::GET,
            &format!(
                "{POINTAGES}/feuilles/utilisateurs/{}?semaine_debut=2026-12-09",
                karim.id
            ),
            &karim,
            None,
        )
        .await;
    assert_eq!(
        feuille["variables_paie"],
        json!([
            {"type_variable": "panier_repas", "type_variable_libelle": "Panier repas", "total": "10.00"},
            {"type_variable": "prime_salissure", "type_variable_libelle": "Prime salissure", "total": "3.00"}
        ])
    );

    // One event per variable, on the pointage's aggregate.
    let events = s.events("variable_paie.").await;
    assert_eq!(events.len(), 3);
    let (event_type, data) = &events[0];
    assert_eq!(event_type, "variable_paie.created");
    assert_eq!(data["variable_id"], panier["id"]);
    assert_eq!(data["heures_id"], created["id"]);
    assert_eq!(data["utilisateur_id"], karim.id.as_str());
    assert_eq!(data["chantier_id"], site.as_str());
    assert_eq!(data["type_variable"], "panier_repas");
    assert_eq!(data["valeur"], "9.40");
    assert_eq!(data["date_application"], "2026-12-07");
    let aggregates = s
        .count(&format!(
            "SELECT count(*) FROM event_logs WHERE event_type = 'variable_paie.created' \
             AND aggregate_type = 'heures' AND aggregate_id = '{}'",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(aggregates, 3);

    // Submitted, then validated: no more variables (409), nothing logged.
    s.expect(200, Method::POST, &format!("{id}/submit"), &karim, None)
        .await;
    let before = s.events("").await.len();
    let frozen = s
        .expect(
            409,
            Method::POST,
            VARIABLES,
            &karim,
            variable(&created, "rtt", json!(1)),
        )
        .await;
    assert_eq!(frozen["code"], "pointage_not_editable");
    s.expect(
        200,
        Method::POST,
        &format!("{id}/validate"),
        As::ChefChantier,
        None,
    )
    .await;
    let before_final = s.events("").await.len();
    let final_ = s
        .expect(
            409,
            Method::POST,
            VARIABLES,
            As::Admin,
            variable(&created, "rtt", json!(1)),
        )
        .await;
    assert_eq!(final_["code"], "pointage_not_editable");
    assert_eq!(s.events("").await.len(), before_final);
    assert_eq!(before_final, before + 1, "only heures.validated");

    // The CSV carries them (by default) in a last column, summed per user
    // and per week; asked without, the column is gone.
    let csv = s
        .request(Method::POST, EXPORT, As::Admin)
        .await
        .json(&json!({"semaine": "2026-W50", "format": "csv"}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let rows = csv_rows(&csv);
    assert_eq!(rows[0].last().unwrap(), "Variables de paie");
    assert!(rows.iter().all(|cells| cells.len() == 12));
    let expected = "Panier repas = 9,40 | Prime salissure = 3,00 | Panier repas = 0,60";
    assert_eq!(rows[1][11], expected);
    let totals = "Panier repas = 10,00 | Prime salissure = 3,00";
    assert_eq!(rows[2][0], "Total utilisateur");
    assert_eq!(rows[2][11], totals);
    assert_eq!(rows[3][0], "Total semaine");
    assert_eq!(rows[3][11], totals);
    let without = s
        .request(Method::POST, EXPORT, As::Admin)
        .await
        .json(&json!({"semaine": "2026-W50", "format": "csv", "inclure_variables_paie": false}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(csv_rows(&without).iter().all(|cells| cells.len() == 11));
    // The ERP file: the meals in PANIER.
    let erp = s
        .request(Method::POST, EXPORT, As::Admin)
        .await
        .json(&json!({"semaine": "2026-W50", "format": "erp"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line: Vec<&str> = erp.split("\r\n").nth(1).unwrap().split('|').collect();
    assert_eq!(line[5], "10.00");
    assert_eq!(line[6], "");

    // A deleted pointage takes its variables with it.
    let draft = s
        .expect(
            201,
            Method::POST,
            POINTAGES,
            &karim,
            hours(&karim.id, &site, "2026-12-08", "8:00"),
        )
        .await;
    s.expect(
        201,
        Method::POST,
        VARIABLES,
        &karim,
        variable(&draft, "deplacement", json!(12.3)),
    )
    .await;
    let of_draft = format!(
        "SELECT count(*) FROM variables_paie WHERE pointage_id = '{}'",
        draft["id"].as_str().unwrap()
    );
    assert_eq!(s.count(&of_draft).await, 1);
    s.expect(204, Method::DELETE, &path(&draft["id"]), &karim, None)
        .await;
    assert_eq!(s.count(&of_draft).await, 0);
    s.stop().await;
}

/// Minutes of an `HH:MM` duration.
fn minutes(text: &str) -> u64 {
    let (h, m) = text.split_once(':').unwrap();
    h.parse::<u64>().unwrap() * 60 + m.parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_erp_export_carries_the_validated_hours_with_the_views_totals() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let chef = role_user(&s, Role::ChefChantier).await;
    let tour = chantier(&s, "CH-ERP-1", &conducteur, Some(&chef)).await;
    let quai = chantier(&s, "CH-ERP-2", &conducteur, None).await;
    let karim = user(&s, Role::Compagnon).await;
    let lea = user(&s, Role::Compagnon).await;
    // Hours in quarters, exact in two decimals; all validated but one.
    let mut entered = Vec::new();
    for (who, site, day, normales, sup) in [
        (&karim, &tour, "2026-12-07", "7:30", "1:15"),
        (&karim, &quai, "2026-12-08", "8:00", "0:00"),
        (&karim, &tour, "2026-12-09", "6:45", "0:30"),
        (&lea, &tour, "2026-12-07", "7:00", "2:00"),
        (&lea, &quai, "2026-12-10", "8:15", "0:45"),
    ] {
        let mut body = hours(&who.id, site, day, normales);
        body["heures_supplementaires"] = json!(sup);
        let p = s.expect(201, Method::POST, POINTAGES, who, body).await;
        entered.push(p);
    }
    for p in &entered[..4] {
        let id = path(&p["id"]);
        s.expect(200, Method::POST, &format!("{id}/submit"), As::Admin, None)
            .await;
        s.expect(
            200,
            Method::POST,
            &format!("{id}/validate"),
            As::Conducteur,
            None,
        )
        .await;
    }

    // Refused: a compagnon or a chef (403), nothing published.
    let erp = json!({"semaine": "2026-W50", "format": "erp"});
    for who in [As::Compagnon, As::ChefChantier] {
        s.expect(403, Method::POST, EXPORT, who, erp.clone()).await;
    }
    assert!(s.events("feuille_heures.").await.is_empty());

    let response = s
        .request(Method::POST, EXPORT, As::Admin)
        .await
        .json(&erp)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        response.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"export_erp_2026-12-07_2026-12-13.txt\""
    );
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let bytes = response.bytes().await.unwrap();
    // UTF-8 without BOM; a header; one line per validated pointage.
    assert_eq!(&bytes[..16], b"CODE_UTILISATEUR");
    let text = std::str::from_utf8(&bytes).unwrap();
    let lines: Vec<Vec<&str>> = text
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| line.split('|').collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "CODE_UTILISATEUR",
            "DATE",
            "CODE_CHANTIER",
            "HEURES_NORMALES",
            "HEURES_SUP",
            "PANIER",
            "TRANSPORT"
        ]
    );
    assert_eq!(lines.len(), 1 + 4);
    let code = |prefix: &str, id: &str| {
        format!(
            "{prefix}{}",
            uuid::Uuid::parse_str(id)
                .unwrap()
                .simple()
                .to_string()
                .to_uppercase()
        )
    };
    assert!(lines[1..].iter().any(|cells| {
        cells[..5]
            == [
                code("USER", &karim.id).as_str(),
                "20261207",
                code("CHT", &tour).as_str(),
                "7.50",
                "1.25",
            ]
    }));
    // Lea's brouillon on Thursday is not paid.
    assert!(!lines.iter().any(|cells| cells[1] == "20261210"));

    // Per user, the ERP's hours are the weekly view's validated hours.
    let vue = s
        .expect(
            200,
            Method::GET,
            &format!("{POINTAGES}/vues/compagnons?semaine_debut=2026-12-07"),
            As::Admin,
            None,
        )
        .await;
    let mut from_view: Vec<(String, u64)> = vue["compagnons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let valide: u64 = c["chantiers"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|ch| ch["pointages_par_jour"].as_object().unwrap().values())
                .flat_map(|jour| jour.as_array().unwrap())
                .filter(|p| p["statut"] == "valide")
                .map(|p| minutes(p["total_heures"].as_str().unwrap()))
                .sum();
            (code("USER", c["utilisateur_id"].as_str().unwrap()), valide)
        })
        .collect();
    from_view.sort();
    let mut from_erp: Vec<(String, u64)> = Vec::new();
    for cells in &lines[1..] {
        let hundredths = |text: &str| {
            let (units, cents) = text.split_once('.').unwrap();
            units.parse::<u64>().unwrap() * 100 + cents.parse::<u64>().unwrap()
        };
        // Quarters: exact in hundredths of an hour.
        let line_minutes = (hundredths(cells[3]) + hundredths(cells[4])) * 60 / 100;
        match from_erp.iter_mut().find(|(user, _)| user == cells[0]) {
            Some((_, total)) => *total += line_minutes,
            None => from_erp.push((cells[0].to_owned(), line_minutes)),
        }
    }
    from_erp.sort();
    assert_eq!(from_erp, from_view);
    assert_eq!(from_view.iter().map(|(_, m)| m).sum::<u64>(), 1980);

    let exports = s.events("feuille_heures.").await;
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0].1["format"], "erp");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feuille_de_route_lists_the_sites_with_their_addresses_in_the_callers_view() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = role_user(&s, Role::Conducteur).await;
    let chef = role_user(&s, Role::ChefChantier).await;
    let tour = chantier(&s, "CH-FDR-1", &conducteur, Some(&chef)).await;
    let quai = chantier(&s, "CH-FDR-2", &conducteur, None).await;
    let karim = user(&s, Role::Compagnon).await;
    let lea = user(&s, Role::Compagnon).await;
    // The second site moves: its new address reaches the read model.
    s.expect(
        200,
        Method::PATCH,
        &format!("/api/v1/chantiers/{quai}"),
        As::Admin,
        json!({"adresse": "12 rue des Tilleuls, 69003 Lyon"}),
    )
    .await;
    eventually("the new address in pointages_chantiers", || async {
        s.count(&format!(
            "SELECT count(*) FROM pointages_chantiers WHERE chantier_id = '{quai}' \
             AND adresse = '12 rue des Tilleuls, 69003 Lyon'"
        ))
        .await
            == 1
    })
    .await;
    for (site, day, normales) in [
        (&tour, "2026-12-07", "7:30"),
        (&tour, "2026-12-09", "8:00"),
        (&quai, "2026-12-08", "6:00"),
    ] {
        s.expect(
            201,
            Method::POST,
            POINTAGES,
            &karim,
            hours(&karim.id, site, day, normales),
        )
        .await;
    }
    let route = format!(
        "{POINTAGES}/feuille-route/{}?semaine_debut=2026-12-10",
        karim.id
    );

    let own = s.expect(200, Method::GET, &route, &karim, None).await;
    assert_eq!(own["utilisateur_id"], karim.id.as_str());
    assert_eq!(own["utilisateur_nom"], "Lea Durand");
    assert_eq!(own["semaine"], "Semaine 50 - 2026");
    assert_eq!(own["semaine_debut"], "2026-12-07");
    assert_eq!(own["total_heures"], "21:30");
    assert!(own["generated_at"].is_string());
    let chantiers = own["chantiers"].as_array().unwrap();
    assert_eq!(chantiers.len(), 2);
    let of = |id: &str| {
        chantiers
            .iter()
            .find(|c| c["chantier_id"] == id)
            .unwrap()
            .clone()
    };
    let t = of(&tour);
    assert_eq!(t["chantier_nom"], "Chantier CH-FDR-1");
    assert_eq!(t["adresse"], "1 quai de Seine");
    assert_eq!(t["jours"], json!(["lundi", "mercredi"]));
    assert_eq!(t["heures_par_jour"]["lundi"], "07:30");
    assert_eq!(t["heures_par_jour"]["mardi"], "00:00");
    assert_eq!(t["total_heures"], "15:30");
    let q = of(&quai);
    assert_eq!(q["adresse"], "12 rue des Tilleuls, 69003 Lyon");
    assert_eq!(q["jours"], json!(["mardi"]));
    assert_eq!(q["total_minutes"], 360);

    // The chef of the tower sees that site only; the admin both.
    let chefs = s
        .expect(200, Method::GET, &route, As::ChefChantier, None)
        .await;
    let sites: Vec<&str> = chefs["chantiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chantier_id"].as_str().unwrap())
        .collect();
    assert_eq!(sites, [tour.as_str()]);
    assert_eq!(chefs["total_heures"], "15:30");
    let admins = s.expect(200, Method::GET, &route, As::Admin, None).await;
    assert_eq!(admins["chantiers"].as_array().unwrap().len(), 2);
    // Another compagnon: not found; a day that is not one: the query's 400.
    let theirs = s.expect(404, Method::GET, &route, &lea, None).await;
    assert_eq!(theirs["code"], "feuille_not_found");
    let bad = s
        .expect(
            400,
            Method::GET,
            &format!("{POINTAGES}/feuille-route/{}?semaine_debut=lundi", karim.id),
            &karim,
            None,
        )
        .await;
    assert_eq!(bad["code"], "invalid_query");
    s.stop().await;
}
