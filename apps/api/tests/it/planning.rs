//! Planning over HTTP: every route with an allowed and a refused caller,
//! the events each change leaves in the outbox, the one-per-day rule under
//! 50 concurrent requests, and a recurrence reaching a subscribed webhook,
//! signed, while a conducteur of another chantier receives nothing.

use hub_webhook_signature::{Verifier, WebhookHeaders, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{As, Receiver, Reply, Role, TestHub, User, eventually};

/// A chantier run by `conducteur`, open for planning; returns its id once
/// the planning's read model knows it.
async fn chantier(hub: &TestHub, conducteur: &str, code: &str) -> String {
    let body = json!({
        "code": code, "nom": format!("Chantier {code}"), "adresse": "1 quai de Seine, Paris",
        "conducteur_ids": [conducteur]
    });
    let created = hub
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    known(hub, "planning_chantiers", "chantier_id", &id).await;
    id
}

/// Waits until the planning's read model `table` holds `id`.
async fn known(hub: &TestHub, table: &str, column: &str, id: &str) {
    let sql = format!("SELECT count(*) FROM {table} WHERE {column} = '{id}'");
    eventually(&format!("{id} in {table}"), || async {
        hub.count(&sql).await == 1
    })
    .await;
}

/// Closes the chantier (its conducteur does); returns once the planning's
/// read model knows it is `ferme`.
async fn close(hub: &TestHub, chantier: &str) {
    hub.expect(
        200,
        Method::POST,
        &format!("/api/v1/chantiers/{chantier}/fermer"),
        As::Conducteur,
        None,
    )
    .await;
    eventually("the planning sees the site closed", || async {
        hub.count(&format!(
            "SELECT count(*) FROM planning_chantiers WHERE chantier_id = '{chantier}' AND statut = 'ferme'"
        ))
        .await
            == 1
    })
    .await;
}

/// A compagnon the planning knows.
async fn compagnon(hub: &TestHub) -> User {
    let user = hub.new_user(Role::Compagnon).await;
    known(hub, "planning_users", "user_id", &user.id).await;
    user
}

async fn conducteur_id(hub: &TestHub) -> String {
    hub.user(Role::Conducteur).await.id.clone()
}

fn one_day(user: &str, chantier: &str, date: &str) -> Value {
    json!({
        "utilisateur_id": user, "chantier_id": chantier, "date": date,
        "heure_debut": "7:30", "heure_fin": "16:30", "note": "Banches"
    })
}

const AFFECTATIONS: &str = "/api/v1/planning/affectations";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurrence_reaches_the_sites_conducteur_signed_and_no_other_conducteur() {
    let mut s = TestHub::builder()
        .env(&[("RATE_LIMITS", "off"), ("WEBHOOKS_POLL_INTERVAL", "100ms")])
        .local_receivers()
        .start()
        .await;
    let conducteur = conducteur_id(&s).await;
    let other = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, &conducteur, "CH-PLN-1").await;
    let elsewhere = chantier(&s, &other.id, "CH-PLN-2").await;
    let karim = compagnon(&s).await;

    let ours = Receiver::start(|_| Reply::status(204)).await;
    let theirs = Receiver::start(|_| Reply::status(204)).await;
    let subscribe = |url: String| json!({"url": url, "events": ["affectation.*"]});
    let webhook = s
        .expect(
            201,
            Method::POST,
            "/api/v1/webhooks",
            As::Conducteur,
            subscribe(ours.url("/planning")),
        )
        .await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    let ours_id = webhook["id"].as_str().unwrap().to_owned();
    s.expect(
        201,
        Method::POST,
        "/api/v1/webhooks",
        &other,
        subscribe(theirs.url("/planning")),
    )
    .await;

    // Mondays and Wednesdays of two weeks.
    let mut body = one_day(&karim.id, &site, "2026-12-07");
    body["type_affectation"] = json!("recurrente");
    body["jours_recurrence"] = json!([0, 2]);
    body["date_fin_recurrence"] = json!("2026-12-20");
    let created = s
        .expect(
            201,
            Method::POST,
            &format!("{AFFECTATIONS}/bulk"),
            As::Conducteur,
            body,
        )
        .await;
    assert_eq!(created["total"], 4);
    let dates: Vec<&str> = created["affectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2026-12-07", "2026-12-09", "2026-12-14", "2026-12-16"]
    );
    assert_eq!(created["affectations"][0]["type_affectation"], "recurrente");
    assert_eq!(
        created["affectations"][0]["jours_recurrence"],
        json!([0, 2])
    );

    let events = s.events("affectation.").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (event_type, data) = &events[0];
    assert_eq!(event_type, "affectation.bulk_created");
    assert_eq!(data["source"], "recurrence");
    assert_eq!(data["count"], 4);
    assert_eq!(data["chantier_id"], site.as_str());
    assert_eq!(data["utilisateur_id"], karim.id.as_str());
    assert_eq!(data["affectations"][2]["date"], "2026-12-14");
    assert_eq!(data["affectations"][2]["heure_debut"], "07:30");

    let requests = ours.wait_for(1).await;
    let request = &requests[0];
    assert_eq!(
        request.header("x-hub-chantier-event"),
        Some("affectation.bulk_created")
    );
    let delivered = request.json();
    assert_eq!(delivered["data"], *data);
    let parsed = WebhookSecret::parse(&secret).unwrap();
    Verifier::new(&parsed)
        .verify_now(
            &WebhookHeaders::new(
                request.header("webhook-id").unwrap(),
                request.header("webhook-timestamp").unwrap(),
                request.header("webhook-signature").unwrap(),
            ),
            &request.body,
        )
        .unwrap();

    // The other conducteur's webhook gets the events of his own site only:
    // once his own arrives, nothing of ours came before it.
    s.expect(
        201,
        Method::POST,
        AFFECTATIONS,
        &other,
        one_day(&karim.id, &elsewhere, "2026-12-08"),
    )
    .await;
    let theirs_got = theirs.wait_for(1).await;
    assert_eq!(theirs_got.len(), 1);
    assert_eq!(
        theirs_got[0].header("x-hub-chantier-event"),
        Some("affectation.created")
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_one_day_make_one_affectation() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = conducteur_id(&s).await;
    let site = chantier(&s, &conducteur, "CH-RACE").await;
    let karim = compagnon(&s).await;
    let token = s.token(As::Conducteur).await.unwrap();
    let url = s.url(AFFECTATIONS);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (url, token) = (url.clone(), token.clone());
        let body = one_day(&karim.id, &site, "2026-12-07");
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
                assert_eq!(body["code"], "affectation_conflict", "{body}");
                conflicts += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, 49));
    assert_eq!(s.count("SELECT count(*) FROM affectations").await, 1);
    assert_eq!(s.events("affectation.").await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_an_affectation_through_every_route() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = conducteur_id(&s).await;
    let site = chantier(&s, &conducteur, "CH-LIFE").await;
    let second = chantier(&s, &conducteur, "CH-LIFE-2").await;
    let karim = compagnon(&s).await;
    let lea = compagnon(&s).await;

    // One day.
    let answer = s
        .send(
            Method::POST,
            AFFECTATIONS,
            As::Conducteur,
            one_day(&karim.id, &site, "2026-12-07"),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let created = answer.body;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        answer.headers["location"].to_str().unwrap(),
        format!("{AFFECTATIONS}/{id}")
    );
    assert_eq!(created["heure_debut"], "07:30");
    assert_eq!(created["note"], "Banches");
    assert_eq!(created["statut"], "planifiee");
    assert_eq!(created["created_by"], conducteur.as_str());
    assert_eq!(created["utilisateur_nom"], "Lea Durand");
    assert_eq!(created["chantier_nom"], "Chantier CH-LIFE");
    let path = format!("{AFFECTATIONS}/{id}");

    // A day range: Tuesday to Friday.
    let mut range = one_day(&karim.id, &site, "2026-12-08");
    range["date_fin"] = json!("2026-12-11");
    let first = s
        .expect(201, Method::POST, AFFECTATIONS, As::Admin, range)
        .await;
    assert_eq!(first["date"], "2026-12-08");

    // The same day again is a conflict naming the day.
    let conflict = s
        .expect(
            409,
            Method::POST,
            AFFECTATIONS,
            As::Conducteur,
            one_day(&karim.id, &second, "2026-12-09"),
        )
        .await;
    assert_eq!(conflict["code"], "affectation_conflict");
    assert!(conflict["detail"].as_str().unwrap().contains("2026-12-09"));

    // Read: by id, by week, by user, by chantier.
    let read = s
        .expect(200, Method::GET, &path, As::Conducteur, None)
        .await;
    assert_eq!(read, created);
    let week = s
        .expect(
            200,
            Method::GET,
            &format!("{AFFECTATIONS}?date_debut=2026-12-07&date_fin=2026-12-13&limit=2"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(week["total"], 5);
    assert_eq!(week["affectations"].as_array().unwrap().len(), 2);
    let by_user = format!(
        "/api/v1/planning/utilisateurs/{}/affectations?date_debut=2026-12-07&date_fin=2026-12-13",
        karim.id
    );
    assert_eq!(
        s.expect(200, Method::GET, &by_user, &karim, None).await["total"],
        5
    );
    assert_eq!(
        s.expect(200, Method::GET, &by_user, &lea, None).await["total"],
        0,
        "another compagnon's planning is empty, not forbidden"
    );
    let by_site = format!(
        "/api/v1/planning/chantiers/{site}/affectations?date_debut=2026-12-07&date_fin=2026-12-13"
    );
    assert_eq!(
        s.expect(200, Method::GET, &by_site, As::Conducteur, None)
            .await["total"],
        5
    );

    // Move (drag and drop) to the other site, another time.
    let moved = s
        .expect(
            200,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"chantier_id": second, "heure_fin": "15:00", "note": null}),
        )
        .await;
    assert_eq!(moved["chantier_id"], second.as_str());
    assert_eq!(moved["heure_fin"], "15:00");
    assert_eq!(moved["note"], Value::Null);
    assert_eq!(moved["version"], 2);
    // A move onto a taken day is a conflict; a pair of times out of order a 422.
    let taken = s
        .expect(
            409,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"date": "2026-12-08"}),
        )
        .await;
    assert_eq!(taken["code"], "affectation_conflict");
    let bad = s
        .expect(
            422,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"heure_debut": "16:00"}),
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "heure_fin");
    // Move to another user and back; an unknown user is refused.
    let to_lea = s
        .expect(
            200,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"utilisateur_id": lea.id}),
        )
        .await;
    assert_eq!(to_lea["utilisateur_id"], lea.id.as_str());
    assert_eq!(to_lea["version"], 3);
    let nobody = s
        .expect(
            422,
            Method::PUT,
            &path,
            As::Conducteur,
            json!({"utilisateur_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(nobody["code"], "utilisateur_inactive");
    s.expect(
        200,
        Method::PUT,
        &path,
        As::Conducteur,
        json!({"utilisateur_id": karim.id}),
    )
    .await;

    // Stretch the Monday block to Sunday 6th – Monday 7th; copy the week.
    let stretched = s
        .expect(
            200,
            Method::POST,
            &format!("{path}/resize"),
            As::Conducteur,
            json!({"date_debut": "2026-12-06", "date_fin": "2026-12-07"}),
        )
        .await;
    assert_eq!(stretched["total"], 2);
    // Beyond 366 days, a stretch or a copy is refused and writes nothing
    // (the event list at the end has no trace of them either).
    let rows = "SELECT count(*) FROM affectations";
    let before = s.count(rows).await;
    let too_long = s
        .expect(
            422,
            Method::POST,
            &format!("{path}/resize"),
            As::Conducteur,
            json!({"date_debut": "2026-12-07", "date_fin": "2027-12-08"}),
        )
        .await;
    assert_eq!(too_long["errors"][0]["code"], "too_many_days");
    let too_long = s
        .expect(
            422,
            Method::POST,
            &format!("{AFFECTATIONS}/duplicate"),
            As::Conducteur,
            json!({"utilisateur_id": karim.id, "source_date_debut": "2026-12-07",
                   "source_date_fin": "2027-12-08", "target_date_debut": "2027-12-09"}),
        )
        .await;
    assert_eq!(too_long["errors"][0]["code"], "too_many_days");
    assert_eq!(s.count(rows).await, before);
    let copied = s
        .expect(
            201,
            Method::POST,
            &format!("{AFFECTATIONS}/duplicate"),
            As::Conducteur,
            json!({"utilisateur_id": karim.id, "source_date_debut": "2026-12-07",
                   "source_date_fin": "2026-12-11", "target_date_debut": "2026-12-14"}),
        )
        .await;
    assert_eq!(copied["total"], 5);
    let copied_again = s
        .expect(
            409,
            Method::POST,
            &format!("{AFFECTATIONS}/duplicate"),
            As::Conducteur,
            json!({"utilisateur_id": karim.id, "source_date_debut": "2026-12-07",
                   "source_date_fin": "2026-12-11", "target_date_debut": "2026-12-14"}),
        )
        .await;
    assert_eq!(copied_again["code"], "affectation_conflict");

    // Cancel with a reason: it stays, visible, and frees the day.
    let cancelled = s
        .expect(
            200,
            Method::POST,
            &format!("{path}/cancel"),
            As::Conducteur,
            json!({"raison": "Intempéries"}),
        )
        .await;
    assert_eq!(cancelled["statut"], "annulee");
    assert_eq!(cancelled["annulation"]["raison"], "Intempéries");
    assert_eq!(cancelled["annulation"]["par"], conducteur.as_str());
    let again = s
        .expect(
            409,
            Method::POST,
            &format!("{path}/cancel"),
            As::Conducteur,
            json!({"raison": "Encore"}),
        )
        .await;
    assert_eq!(again["code"], "affectation_cancelled");
    let replanned = s
        .expect(
            201,
            Method::POST,
            AFFECTATIONS,
            As::Conducteur,
            one_day(&karim.id, &site, "2026-12-07"),
        )
        .await;

    // Who is free that week.
    let free = s
        .expect(
            200,
            Method::GET,
            "/api/v1/planning/non-planifies?date_debut=2026-12-07&date_fin=2026-12-13",
            As::Conducteur,
            None,
        )
        .await;
    let free_ids = free["utilisateur_ids"].as_array().unwrap();
    assert!(free_ids.contains(&json!(lea.id)));
    assert!(!free_ids.contains(&json!(karim.id)));

    // Bulk delete the copies, then delete the cancelled one.
    let copies: Vec<Value> = copied["affectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    let deleted = s
        .expect(
            200,
            Method::POST,
            &format!("{AFFECTATIONS}/bulk-delete"),
            As::Conducteur,
            json!({"ids": copies}),
        )
        .await;
    assert_eq!(deleted["count"], 5);
    let answer = s.send(Method::DELETE, &path, As::Conducteur, None).await;
    assert_eq!(answer.status, 204);
    let gone = s.expect(404, Method::GET, &path, As::Admin, None).await;
    assert_eq!(gone["code"], "affectation_not_found");

    let types: Vec<String> = s
        .events("affectation.")
        .await
        .into_iter()
        .map(|(event_type, _)| event_type)
        .collect();
    assert_eq!(
        types,
        [
            "affectation.created",
            "affectation.bulk_created",
            "affectation.updated",
            "affectation.updated",
            "affectation.updated",
            "affectation.bulk_created",
            "affectation.bulk_created",
            "affectation.bulk_created",
            "affectation.cancelled",
            "affectation.created",
            "affectation.bulk_deleted",
            "affectation.bulk_deleted",
            "affectation.deleted",
        ]
    );
    let events = s.events("affectation.").await;
    assert_eq!(
        events[2].1["changes"],
        json!({"chantier_id": {"old": site, "new": second},
               "heure_fin": {"old": "16:30", "new": "15:00"},
               "note": {"old": "Banches", "new": null}})
    );
    assert_eq!(events[2].1["previous_chantier_id"], site.as_str());
    assert_eq!(events[3].1["previous_chantier_id"], Value::Null);
    assert_eq!(
        events[3].1["changes"],
        json!({"utilisateur_id": {"old": karim.id, "new": lea.id}})
    );
    assert_eq!(events[3].1["utilisateur_id"], lea.id.as_str());
    assert_eq!(events[4].1["utilisateur_id"], karim.id.as_str());
    assert_eq!(events[5].1["source"], "bulk");
    // The copied week spans both sites: one event per site.
    assert_eq!(events[6].1["source"], "duplicate_week");
    assert_eq!(events[6].1["chantier_id"], second.as_str());
    assert_eq!(events[7].1["source"], "duplicate_week");
    assert_eq!(events[7].1["chantier_id"], site.as_str());
    assert_eq!(events[7].1["count"], 4);
    assert_eq!(events[8].1["raison"], "Intempéries");
    // The bulk delete: one event per site, each with its ids and source.
    let mut deleted_ids = Vec::new();
    for (_, data) in &events[10..12] {
        assert_eq!(data["source"], "bulk", "{data}");
        assert_eq!(
            data["count"],
            data["affectation_ids"].as_array().unwrap().len()
        );
        deleted_ids.extend(data["affectation_ids"].as_array().unwrap().clone());
    }
    deleted_ids.sort_by_key(|id| id.as_str().unwrap().to_owned());
    let mut copy_ids = copies.clone();
    copy_ids.sort_by_key(|id| id.as_str().unwrap().to_owned());
    assert_eq!(deleted_ids, copy_ids);

    // Once the site is closed, nothing on it moves; a note may still change.
    close(&s, &site).await;
    let replanned = format!("{AFFECTATIONS}/{}", replanned["id"].as_str().unwrap());
    let refused = s
        .expect(
            422,
            Method::PUT,
            &replanned,
            As::Conducteur,
            json!({"date": "2026-12-21"}),
        )
        .await;
    assert_eq!(refused["code"], "chantier_not_plannable");
    let noted = s
        .expect(
            200,
            Method::PUT,
            &replanned,
            As::Conducteur,
            json!({"note": "Chantier fermé"}),
        )
        .await;
    assert_eq!(noted["date"], "2026-12-07");
    assert_eq!(noted["note"], "Chantier fermé");
    assert_eq!(s.events("affectation.").await.len(), events.len() + 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_answers_its_allowed_callers_and_refuses_the_others() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = conducteur_id(&s).await;
    let chef = s.user(Role::ChefChantier).await.id.clone();
    let other = s.new_user(Role::Conducteur).await;
    // The hub's chef de chantier is a responsable of the site.
    let body = json!({
        "code": "CH-ROLES", "nom": "Roles", "adresse": "1 quai",
        "conducteur_ids": [conducteur], "chef_chantier_ids": [chef]
    });
    let site = s
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    known(&s, "planning_chantiers", "chantier_id", &site).await;
    let elsewhere = chantier(&s, &other.id, "CH-ROLES-2").await;
    let karim = compagnon(&s).await;
    let lea = compagnon(&s).await;

    let mine = s
        .expect(
            201,
            Method::POST,
            AFFECTATIONS,
            As::Conducteur,
            one_day(&karim.id, &site, "2026-12-07"),
        )
        .await;
    let theirs = s
        .expect(
            201,
            Method::POST,
            AFFECTATIONS,
            &other,
            one_day(&lea.id, &elsewhere, "2026-12-07"),
        )
        .await;
    let path = format!("{AFFECTATIONS}/{}", mine["id"].as_str().unwrap());
    let their_path = format!("{AFFECTATIONS}/{}", theirs["id"].as_str().unwrap());
    let before = s.events("affectation.").await.len();

    // Writes: compagnons and chefs are forbidden, anonymous callers
    // unauthorised, a conducteur of another site forbidden.
    let writes = [
        (
            Method::POST,
            AFFECTATIONS.to_owned(),
            Some(one_day(&karim.id, &site, "2026-12-08")),
        ),
        (
            Method::POST,
            format!("{AFFECTATIONS}/bulk"),
            Some(one_day(&karim.id, &site, "2026-12-08")),
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"heure_debut": "6:00"})),
        ),
        (Method::DELETE, path.clone(), None),
        (
            Method::POST,
            format!("{path}/cancel"),
            Some(json!({"raison": "non"})),
        ),
        (
            Method::POST,
            format!("{path}/resize"),
            Some(json!({"date_debut": "2026-12-07", "date_fin": "2026-12-08"})),
        ),
        (
            Method::POST,
            format!("{AFFECTATIONS}/duplicate"),
            Some(
                json!({"utilisateur_id": karim.id, "source_date_debut": "2026-12-07", "source_date_fin": "2026-12-07", "target_date_debut": "2026-12-08"}),
            ),
        ),
        (
            Method::POST,
            format!("{AFFECTATIONS}/bulk-delete"),
            Some(json!({"ids": [mine["id"]]})),
        ),
    ];
    for (method, route, body) in &writes {
        for who in [As::Compagnon, As::ChefChantier] {
            let (status, answer) = s.call(method.clone(), route, who, body.clone()).await;
            assert_eq!(status, 403, "{method} {route} as {who:?}: {answer}");
        }
        let (status, _) = s
            .call(method.clone(), route, As::Anonymous, body.clone())
            .await;
        assert_eq!(status, 401, "{method} {route}");
        let (status, answer) = s.call(method.clone(), route, &other, body.clone()).await;
        assert_eq!(
            status, 403,
            "{method} {route} by another conducteur: {answer}"
        );
    }
    assert_eq!(
        s.events("affectation.").await.len(),
        before,
        "nothing written"
    );
    let (status, _) = s
        .call(
            Method::GET,
            "/api/v1/planning/non-planifies?date_debut=2026-12-07&date_fin=2026-12-07",
            As::Compagnon,
            None,
        )
        .await;
    assert_eq!(status, 403);

    // Reads: the chef sees his site's affectations (without the private
    // note) but not another site's; a compagnon sees his own only.
    let seen = s
        .expect(200, Method::GET, &path, As::ChefChantier, None)
        .await;
    assert_eq!(seen["note"], Value::Null, "the note is private");
    assert_eq!(
        s.expect(200, Method::GET, &path, &karim, None).await["note"],
        "Banches"
    );
    for (who, route) in [
        (As::ChefChantier, &their_path),
        (As::from(&karim), &their_path),
        (As::from(&lea), &path),
    ] {
        let answer = s.expect(404, Method::GET, route, who, None).await;
        assert_eq!(answer["code"], "affectation_not_found");
    }
    let week = format!("{AFFECTATIONS}?date_debut=2026-12-07&date_fin=2026-12-13");
    assert_eq!(
        s.expect(200, Method::GET, &week, As::Admin, None).await["total"],
        2
    );
    assert_eq!(
        s.expect(200, Method::GET, &week, &other, None).await["total"],
        2
    );
    let chef_view = s
        .expect(200, Method::GET, &week, As::ChefChantier, None)
        .await;
    assert_eq!(chef_view["total"], 1);
    assert_eq!(chef_view["affectations"][0]["id"], mine["id"]);
    let lea_view = s.expect(200, Method::GET, &week, &lea, None).await;
    assert_eq!(lea_view["affectations"][0]["id"], theirs["id"]);
    assert_eq!(lea_view["total"], 1);
    let reads = [
        week.clone(),
        path.clone(),
        format!(
            "/api/v1/planning/chantiers/{site}/affectations?date_debut=2026-12-07&date_fin=2026-12-13"
        ),
        format!(
            "/api/v1/planning/utilisateurs/{}/affectations?date_debut=2026-12-07&date_fin=2026-12-13",
            karim.id
        ),
        "/api/v1/planning/non-planifies?date_debut=2026-12-07&date_fin=2026-12-13".to_owned(),
    ];
    for route in &reads {
        let (status, _) = s.call(Method::GET, route, As::Anonymous, None).await;
        assert_eq!(status, 401, "{route}");
    }
    // The chef reads his site's planning; a compagnon reads nothing of it
    // but his own (none here).
    let site_week = &reads[2];
    assert_eq!(
        s.expect(200, Method::GET, site_week, As::ChefChantier, None)
            .await["total"],
        1
    );
    assert_eq!(
        s.expect(200, Method::GET, site_week, &lea, None).await["total"],
        0
    );
    let unknown = format!("{AFFECTATIONS}/{}", uuid::Uuid::now_v7());
    let answer = s
        .expect(
            404,
            Method::PUT,
            &unknown,
            As::Conducteur,
            json!({"note": "x"}),
        )
        .await;
    assert_eq!(answer["code"], "affectation_not_found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_commands_are_refused_with_stable_codes_and_change_nothing() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = conducteur_id(&s).await;
    let site = chantier(&s, &conducteur, "CH-BAD").await;
    let closed = chantier(&s, &conducteur, "CH-CLOSED").await;
    close(&s, &closed).await;
    let karim = compagnon(&s).await;
    let gone = compagnon(&s).await;
    s.expect(
        200,
        Method::POST,
        &format!("/api/v1/users/{}/deactivate", gone.id),
        As::Admin,
        None,
    )
    .await;
    eventually("the planning sees the user inactive", || async {
        s.count(&format!(
            "SELECT count(*) FROM planning_users WHERE user_id = '{}' AND NOT is_active",
            gone.id
        ))
        .await
            == 1
    })
    .await;

    let post = |body: Value| s.call(Method::POST, AFFECTATIONS, As::Conducteur, Some(body));
    let (status, answer) = post(one_day(&gone.id, &site, "2026-12-07")).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("utilisateur_inactive"))
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    let (status, answer) = post(one_day(&unknown, &site, "2026-12-07")).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("utilisateur_inactive"))
    );
    let (status, answer) = post(one_day(&karim.id, &closed, "2026-12-07")).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("chantier_not_plannable"))
    );

    let mut bad = one_day(&karim.id, &site, "2026-12-07");
    bad["heure_debut"] = json!("25:00");
    bad["heure_fin"] = json!("7h");
    bad["note"] = json!("x".repeat(501));
    let (status, answer) = post(bad).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["heure_debut", "heure_fin", "note"]);

    let mut too_long = one_day(&karim.id, &site, "2026-12-07");
    too_long["date_fin"] = json!("2028-01-01");
    let (status, answer) = post(too_long).await;
    assert_eq!(
        (status, answer["errors"][0]["code"].as_str()),
        (422, Some("too_many_days"))
    );

    let mut no_day = one_day(&karim.id, &site, "2026-12-07");
    no_day["type_affectation"] = json!("recurrente");
    no_day["jours_recurrence"] = json!([6]);
    no_day["date_fin_recurrence"] = json!("2026-12-12");
    let (status, answer) = post(no_day).await;
    assert_eq!(
        (status, answer["errors"][0]["code"].as_str()),
        (422, Some("no_matching_date"))
    );

    let (status, _) = post(
        json!({"utilisateur_id": karim.id, "chantier_id": site, "date": "2026-12-07", "extra": 1}),
    )
    .await;
    assert_eq!(status, 422);

    for query in [
        "date_debut=2026-12-13&date_fin=2026-12-07",
        "date_debut=2026-01-01&date_fin=2026-12-31",
        "date_fin=2026-12-07",
        "date_debut=2026-12-07&date_fin=2026-12-08&limit=500",
    ] {
        let (status, answer) = s
            .call(
                Method::GET,
                &format!("{AFFECTATIONS}?{query}"),
                As::Admin,
                None,
            )
            .await;
        assert!(matches!(status, 400 | 422), "{query}: {status} {answer}");
    }
    assert_eq!(s.count("SELECT count(*) FROM affectations").await, 0);
    assert!(s.events("affectation.").await.is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_spans_chantiers_all_or_nothing_and_planned_staff_see_their_site() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = conducteur_id(&s).await;
    let other = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, &conducteur, "CH-BATCH").await;
    let elsewhere = chantier(&s, &other.id, "CH-BATCH-2").await;
    let karim = compagnon(&s).await;
    let lea = compagnon(&s).await;
    let batch = format!("{AFFECTATIONS}/batch");
    let items = json!({"affectations": [
        one_day(&karim.id, &site, "2026-12-07"),
        one_day(&lea.id, &elsewhere, "2026-12-07"),
        one_day(&lea.id, &site, "2026-12-08"),
    ]});

    // A conducteur may not plan on another's site, even within a batch;
    // compagnons may not plan at all.
    let refused = s
        .expect(403, Method::POST, &batch, As::Conducteur, items.clone())
        .await;
    assert_eq!(refused["code"], "forbidden");
    s.expect(403, Method::POST, &batch, As::Compagnon, items.clone())
        .await;
    // One invalid item refuses the whole batch, naming it.
    let mut bad = items.clone();
    bad["affectations"][2]["heure_fin"] = json!("6:00");
    let invalid = s.expect(422, Method::POST, &batch, As::Admin, bad).await;
    assert_eq!(invalid["errors"][0]["field"], "affectations[2].heure_fin");
    assert!(s.events("affectation.").await.is_empty());

    // A compagnon sees no site before he is planned on it.
    let site_path = format!("/api/v1/chantiers/{site}");
    s.expect(404, Method::GET, &site_path, &karim, None).await;

    let created = s
        .expect(201, Method::POST, &batch, As::Admin, items.clone())
        .await;
    assert_eq!(created["total"], 3);
    let events = s.events("affectation.").await;
    assert_eq!(events.len(), 2, "one bulk event per chantier");
    assert!(
        events
            .iter()
            .all(|(t, d)| t == "affectation.bulk_created" && d["source"] == "bulk")
    );
    assert_eq!(events[0].1["chantier_id"], site.as_str());
    assert_eq!(events[0].1["count"], 2);
    assert_eq!(events[1].1["chantier_id"], elsewhere.as_str());

    // The same batch again: every day is taken, nothing more is made.
    let conflict = s.expect(409, Method::POST, &batch, As::Admin, items).await;
    assert_eq!(conflict["code"], "affectation_conflict");
    assert_eq!(s.count("SELECT count(*) FROM affectations").await, 3);

    // The chantiers context learns who is planned where from the events.
    eventually("karim sees the site he is planned on", || async {
        s.call(Method::GET, &site_path, &karim, None).await.0 == 200
    })
    .await;
    s.expect(
        404,
        Method::GET,
        &format!("/api/v1/chantiers/{elsewhere}"),
        &karim,
        None,
    )
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_protects_an_affectation_from_lost_updates() {
    let hub = TestHub::start().await;
    let site = chantier(&hub, &conducteur_id(&hub).await, "CH-PLN-ETAG").await;
    let karim = compagnon(&hub).await;
    let created = hub
        .expect(
            201,
            Method::POST,
            AFFECTATIONS,
            As::Conducteur,
            one_day(&karim.id, &site, "2027-02-01"),
        )
        .await;
    let path = format!("{AFFECTATIONS}/{}", created["id"].as_str().unwrap());
    let read = hub.send(Method::GET, &path, As::Conducteur, None).await;
    assert_eq!(read.headers["etag"], "\"1\"");

    hub.expect(
        200,
        Method::PUT,
        &path,
        As::Admin,
        json!({"note": "Coffrage"}),
    )
    .await;
    let stale = hub
        .request(Method::PUT, &path, As::Conducteur)
        .await
        .header("If-Match", "\"1\"")
        .json(&json!({"note": "Perdu"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let current = hub.expect(200, Method::GET, &path, As::Admin, None).await;
    assert_eq!(current["note"], "Coffrage");

    let fresh = hub
        .request(Method::POST, &format!("{path}/cancel"), As::Conducteur)
        .await
        .header("If-Match", "\"2\"")
        .json(&json!({"raison": "Intempéries"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.headers()["etag"], "\"3\"");
}
