//! Logistique over HTTP: twenty concurrent bookings of one slot leave one
//! (the database's exclusion constraint), a booking's events reach its
//! valideur's webhook signed (and not a conducteur of another chantier),
//! a closed chantier takes no booking and its future ones are cancelled,
//! the day-before reminder is published once with two servers running,
//! and every route with an allowed and a refused caller.

use std::sync::Arc;

use hub_webhook_signature::{Verifier, WebhookHeaders, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};

use crate::support::{As, Receiver, Recorded, Role, TestHub, User, eventually};

const BASE: &str = "/api/v1/logistique";

/// Opens a chantier run by `conducteur` (and `chef`), and waits until this
/// context's read model knows it.
async fn chantier(hub: &TestHub, code: &str, conducteur: &str, chef: Option<&str>) -> String {
    let body = json!({
        "code": code, "nom": format!("Chantier {code}"), "adresse": "1 quai de Seine",
        "conducteur_ids": [conducteur], "chef_chantier_ids": chef.into_iter().collect::<Vec<_>>()
    });
    let created = hub
        .expect(201, Method::POST, "/api/v1/chantiers", As::Admin, body)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let sql = format!("SELECT count(*) FROM logistique_chantiers WHERE chantier_id = '{id}'");
    eventually(&format!("{id} in logistique_chantiers"), || async {
        hub.count(&sql).await == 1
    })
    .await;
    id
}

/// A ressource of `categorie` (engin_levage: bookings wait for a
/// valideur; vehicule: validated at once).
async fn ressource(hub: &TestHub, code: &str, categorie: &str) -> String {
    let created = hub
        .expect(
            201,
            Method::POST,
            &format!("{BASE}/ressources"),
            As::Admin,
            json!({"code": code, "nom": format!("Engin {code}"), "categorie": categorie}),
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

fn day(offset: i64) -> Date {
    OffsetDateTime::now_utc().date() + Duration::days(offset)
}

fn booking(ressource: &str, chantier: &str, date: Date, debut: &str, fin: &str) -> Value {
    json!({"ressource_id": ressource, "chantier_id": chantier, "date_reservation": date.to_string(),
           "heure_debut": debut, "heure_fin": fin})
}

async fn webhook(hub: &TestHub, who: &User, url: &str) -> (String, String) {
    let body = json!({"url": url, "events": ["reservation.*"]});
    let created = hub
        .expect(201, Method::POST, "/api/v1/webhooks", who, body)
        .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_bookings_of_one_slot_make_one_201_and_nineteen_409() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, "CH-LOG-RACE", &conducteur.id, None).await;
    let grue = ressource(&s, "GRUE-RACE", "engin_levage").await;
    let date = day(3);
    // Twenty different slots that all overlap 10:00-10:30.
    let requests = (0..20).map(|i| {
        let debut = format!("{:02}:{:02}", 8 + i / 12, (i % 12) * 5);
        let body = booking(&grue, &site, date, &debut, "10:30");
        let s = &s;
        let conducteur = &conducteur;
        async move {
            s.call(
                Method::POST,
                &format!("{BASE}/reservations"),
                conducteur,
                body,
            )
            .await
        }
    });
    let answers = futures::future::join_all(requests).await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let winner = created[0]["id"].as_str().unwrap();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 409)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(refused.len(), 19, "{answers:?}");
    for body in refused {
        assert_eq!(body["code"], "reservation_conflict");
        assert!(
            body["detail"].as_str().unwrap().contains(winner),
            "the 409 names the booking in the way: {body}"
        );
    }
    assert_eq!(s.count("SELECT count(*) FROM reservations").await, 1);
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs WHERE event_type = 'reservation.created'")
            .await,
        1
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_reaches_its_valideurs_webhook_created_then_validated_signed_and_no_other() {
    let mut s = TestHub::builder()
        .env(&[("RATE_LIMITS", "off"), ("WEBHOOKS_POLL_INTERVAL", "100ms")])
        .local_receivers()
        .start()
        .await;
    let mine = s.new_user(Role::Conducteur).await;
    let other = s.new_user(Role::Conducteur).await;
    let compagnon = s.new_user(Role::Compagnon).await;
    let site = chantier(&s, "CH-LOG-1", &mine.id, None).await;
    let _elsewhere = chantier(&s, "CH-LOG-2", &other.id, None).await;
    let grue = ressource(&s, "GRUE-01", "engin_levage").await;
    let receiver = Receiver::ok().await;
    let (mine_hook, secret) = webhook(&s, &mine, &receiver.url("/mine")).await;
    let (other_hook, _) = webhook(&s, &other, &receiver.url("/other")).await;

    let created = s
        .expect(
            201,
            Method::POST,
            &format!("{BASE}/reservations"),
            &compagnon,
            booking(&grue, &site, day(2), "08:00", "12:00"),
        )
        .await;
    assert_eq!(created["statut"], "en_attente");
    assert_eq!(created["ressource_code"], "GRUE-01");
    assert_eq!(created["chantier_nom"], "Chantier CH-LOG-1");
    let id = created["id"].as_str().unwrap().to_owned();
    let requests = receiver.wait_for(1).await;
    let first = &requests[0];
    assert_eq!(first.path, "/mine");
    assert_eq!(
        first.header("x-hub-chantier-event"),
        Some("reservation.created")
    );
    let body = first.json();
    assert_eq!(body["data"]["reservation_id"], id.as_str());
    assert_eq!(body["data"]["chantier_id"], site.as_str());
    assert_eq!(body["data"]["statut"], "en_attente");
    assert_eq!(body["data"]["demandeur_id"], compagnon.id.as_str());
    let secret = WebhookSecret::parse(&secret).unwrap();
    let verify = |request: &Recorded| {
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
    };
    verify(first);

    let validated = s
        .expect(
            200,
            Method::POST,
            &format!("{BASE}/reservations/{id}/valider"),
            &mine,
            None,
        )
        .await;
    assert_eq!(validated["statut"], "validee");
    assert_eq!(validated["valideur_id"], mine.id.as_str());
    let requests = receiver.wait_for(2).await;
    let second = &requests[1];
    assert_eq!(second.path, "/mine");
    let body = second.json();
    assert_eq!(body["event_type"], "reservation.validated");
    assert_eq!(body["data"]["valideur_id"], mine.id.as_str());
    assert_eq!(body["data"]["demandeur_id"], compagnon.id.as_str());
    verify(second);

    // The conducteur of the other chantier gets nothing.
    s.wait_for_dispatch().await;
    let deliveries =
        |hook: &str| format!("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{hook}'");
    assert_eq!(s.count(&deliveries(&other_hook)).await, 0);
    assert_eq!(s.count(&deliveries(&mine_hook)).await, 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_chantier_takes_no_booking_and_its_future_ones_are_cancelled() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.new_user(Role::Conducteur).await;
    let site = chantier(&s, "CH-LOG-F", &conducteur.id, None).await;
    let gone = chantier(&s, "CH-LOG-D", &conducteur.id, None).await;
    let camion = ressource(&s, "CAM-01", "vehicule").await;
    let path = format!("{BASE}/reservations");
    let held = s
        .expect(
            201,
            Method::POST,
            &path,
            &conducteur,
            booking(&camion, &site, day(5), "08:00", "10:00"),
        )
        .await;
    assert_eq!(held["statut"], "validee", "vehicules need no validation");
    let on_deleted = s
        .expect(
            201,
            Method::POST,
            &path,
            &conducteur,
            booking(&camion, &gone, day(6), "08:00", "10:00"),
        )
        .await;

    s.expect(
        200,
        Method::POST,
        &format!("/api/v1/chantiers/{site}/fermer"),
        As::Admin,
        None,
    )
    .await;
    let held_id = held["id"].as_str().unwrap();
    eventually("the closed chantier's booking to be cancelled", || async {
        s.count(&format!(
            "SELECT count(*) FROM reservations WHERE id = '{held_id}' AND statut = 'annulee'"
        ))
        .await
            == 1
    })
    .await;
    let sql = format!(
        "SELECT count(*) FROM logistique_chantiers WHERE chantier_id = '{site}' AND statut = 'ferme'"
    );
    eventually("the read model to know it closed", || async {
        s.count(&sql).await == 1
    })
    .await;
    let events_before = s.count("SELECT count(*) FROM event_logs").await;
    let refused = s
        .expect(
            422,
            Method::POST,
            &path,
            &conducteur,
            booking(&camion, &site, day(7), "08:00", "10:00"),
        )
        .await;
    assert_eq!(refused["code"], "chantier_ferme");
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs").await,
        events_before
    );

    s.expect(
        204,
        Method::DELETE,
        &format!("/api/v1/chantiers/{gone}"),
        As::Admin,
        None,
    )
    .await;
    let deleted_id = on_deleted["id"].as_str().unwrap();
    eventually("the deleted chantier's booking to be cancelled", || async {
        s.count(&format!(
            "SELECT count(*) FROM reservations WHERE id = '{deleted_id}' AND statut = 'annulee'"
        ))
        .await
            == 1
    })
    .await;
    s.wait_for_dispatch().await;
    let cancelled: Vec<Value> = s
        .events("reservation.cancelled")
        .await
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    assert_eq!(cancelled.len(), 2, "{cancelled:?}");
    assert_eq!(cancelled[0]["reservation_id"], held_id);
    assert_eq!(cancelled[0]["motif"], "Chantier fermé");
    assert_eq!(cancelled[0]["cancelled_by"], Value::Null);
    assert_eq!(cancelled[1]["reservation_id"], deleted_id);
    assert_eq!(cancelled[1]["motif"], "Chantier supprimé");
    let shown = s
        .expect(
            200,
            Method::GET,
            &format!("{path}/{held_id}"),
            &conducteur,
            None,
        )
        .await;
    assert_eq!(shown["statut"], "annulee");
    assert_eq!(shown["motif_annulation"], "Chantier fermé");
    s.stop().await;
}

/// A clock the test sets, shared by both servers.
#[derive(Clone)]
struct TestClock(Arc<std::sync::Mutex<OffsetDateTime>>);

impl hub_kernel::Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap() = at;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_publish_the_day_before_reminder_once_per_booking() {
    use hub_chantier::server::{Application, Overrides};

    let t0 = OffsetDateTime::now_utc();
    let clock = TestClock(Arc::new(std::sync::Mutex::new(t0)));
    let mut s = TestHub::builder()
        .env(&[
            ("RATE_LIMITS", "off"),
            ("LOGISTIQUE_RAPPEL_INTERVAL", "50ms"),
        ])
        .clock(Arc::new(clock.clone()))
        .start()
        .await;
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
    let site = chantier(&s, "CH-LOG-R", &conducteur.id, None).await;
    let camion = ressource(&s, "CAM-R", "vehicule").await;
    let grue = ressource(&s, "GRUE-R", "engin_levage").await;
    let path = format!("{BASE}/reservations");
    let in_three_days = t0.date() + Duration::days(3);
    let validated = s
        .expect(
            201,
            Method::POST,
            &path,
            &conducteur,
            booking(&camion, &site, in_three_days, "07:00", "09:00"),
        )
        .await;
    // Pending: nothing to remind of.
    s.expect(
        201,
        Method::POST,
        &path,
        &conducteur,
        booking(&grue, &site, in_three_days, "07:00", "09:00"),
    )
    .await;
    let reminders = "SELECT data->>'reservation_id' AS text FROM event_logs \
                     WHERE event_type = 'reservation.reminder_due' ORDER BY seq";
    // Three days ahead: not due; rounds run and publish nothing.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(s.texts(reminders).await.is_empty());

    clock.set(t0 + Duration::days(2));
    eventually("the reminder", || async {
        !s.texts(reminders).await.is_empty()
    })
    .await;
    // Both servers keep running rounds on the same day: nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        s.texts(reminders).await,
        [validated["id"].as_str().unwrap()]
    );
    let (_, data) = s.events("reservation.reminder_due").await.remove(0);
    assert_eq!(data["chantier_id"], site.as_str());
    assert_eq!(data["demandeur_id"], conducteur.id.as_str());
    assert_eq!(data["date_reservation"], in_three_days.to_string());
    assert_eq!(data["heure_debut"], "07:00");
    handle.stop(true).await;
    task.await.unwrap().unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_an_allowed_and_a_refused_caller() {
    let mut s = TestHub::start_with(&[("RATE_LIMITS", "off")]).await;
    let conducteur = s.new_user(Role::Conducteur).await;
    let chef = s.new_user(Role::ChefChantier).await;
    let outsider = s.new_user(Role::Conducteur).await;
    let compagnon = s.new_user(Role::Compagnon).await;
    let site = chantier(&s, "CH-LOG-R1", &conducteur.id, Some(&chef.id)).await;
    let ressources = format!("{BASE}/ressources");
    let reservations = format!("{BASE}/reservations");

    // The catalogue: admins write, everyone reads.
    let body = json!({"code": "nac-01", "nom": "Nacelle 12 m", "categorie": "engin_levage",
                      "heure_debut_defaut": "07:00", "heure_fin_defaut": "17:00"});
    s.expect(403, Method::POST, &ressources, &conducteur, body.clone())
        .await;
    s.expect(401, Method::POST, &ressources, As::Anonymous, body.clone())
        .await;
    let events_before = s.count("SELECT count(*) FROM event_logs").await;
    let invalid = s
        .expect(
            422,
            Method::POST,
            &ressources,
            As::Admin,
            json!({"code": "nac 01", "nom": "", "categorie": "grue"}),
        )
        .await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "nom", "categorie"]);
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs").await,
        events_before
    );
    let nacelle = s
        .expect(201, Method::POST, &ressources, As::Admin, body.clone())
        .await;
    assert_eq!(nacelle["code"], "NAC-01");
    assert_eq!(nacelle["validation_requise"], true);
    assert_eq!(nacelle["heure_debut_defaut"], "07:00");
    let taken = s
        .expect(409, Method::POST, &ressources, As::Admin, body)
        .await;
    assert_eq!(taken["code"], "ressource_code_taken");
    let id = nacelle["id"].as_str().unwrap().to_owned();
    let one = format!("{ressources}/{id}");
    s.expect(200, Method::GET, &one, &compagnon, None).await;
    let listed = s
        .expect(
            200,
            Method::GET,
            &format!("{ressources}?categorie=engin_levage"),
            &compagnon,
            None,
        )
        .await;
    assert_eq!(listed["total"], 1);
    s.expect(
        422,
        Method::GET,
        &format!("{ressources}?categorie=grue"),
        &compagnon,
        None,
    )
    .await;
    s.expect(
        403,
        Method::PUT,
        &one,
        &conducteur,
        json!({"nom": "Nacelle"}),
    )
    .await;
    let renamed = s
        .expect(
            200,
            Method::PUT,
            &one,
            As::Admin,
            json!({"nom": "Nacelle 14 m"}),
        )
        .await;
    assert_eq!(renamed["nom"], "Nacelle 14 m");

    // Bookings: anyone books; the valideurs of the chantier decide.
    let date = day(4);
    let created = s
        .expect(
            201,
            Method::POST,
            &reservations,
            &compagnon,
            booking(&id, &site, date, "08:00", "10:00"),
        )
        .await;
    let booking_id = created["id"].as_str().unwrap().to_owned();
    let this = format!("{reservations}/{booking_id}");
    let past = s
        .expect(
            422,
            Method::POST,
            &reservations,
            &compagnon,
            booking(&id, &site, day(-1), "08:00", "10:00"),
        )
        .await;
    assert_eq!(past["code"], "date_passee");
    let backwards = s
        .expect(
            422,
            Method::POST,
            &reservations,
            &compagnon,
            booking(&id, &site, date, "10:00", "08:00"),
        )
        .await;
    assert_eq!(backwards["errors"][0]["field"], "heure_fin");
    let unknown = booking(
        &id,
        "0190a000-0000-7000-8000-000000000000",
        date,
        "12:00",
        "13:00",
    );
    let refused = s
        .expect(422, Method::POST, &reservations, &compagnon, unknown)
        .await;
    assert_eq!(refused["errors"][0]["code"], "unknown_chantier");
    let missing = booking(
        "0190a000-0000-7000-8000-000000000000",
        &site,
        date,
        "12:00",
        "13:00",
    );
    let refused = s
        .expect(404, Method::POST, &reservations, &compagnon, missing)
        .await;
    assert_eq!(refused["code"], "ressource_not_found");

    // Sight: the demandeur and the valideurs; others are told "not found".
    s.expect(200, Method::GET, &this, &compagnon, None).await;
    s.expect(200, Method::GET, &this, &chef, None).await;
    let hidden = s.expect(404, Method::GET, &this, &outsider, None).await;
    assert_eq!(hidden["code"], "reservation_not_found");
    s.expect(
        404,
        Method::POST,
        &format!("{this}/valider"),
        &outsider,
        None,
    )
    .await;
    // Only the demandeur edits it.
    s.expect(
        403,
        Method::PUT,
        &this,
        &conducteur,
        json!({"heure_fin": "11:00"}),
    )
    .await;
    let moved = s
        .expect(
            200,
            Method::PUT,
            &this,
            &compagnon,
            json!({"heure_fin": "11:00"}),
        )
        .await;
    assert_eq!(moved["heure_fin"], "11:00");
    // A second booking in the way of a move is a named conflict.
    let second = s
        .expect(
            201,
            Method::POST,
            &reservations,
            &conducteur,
            booking(&id, &site, date, "13:00", "15:00"),
        )
        .await;
    let second_id = second["id"].as_str().unwrap();
    let clash = s
        .expect(
            409,
            Method::PUT,
            &this,
            &compagnon,
            json!({"heure_fin": "14:00"}),
        )
        .await;
    assert_eq!(clash["code"], "reservation_conflict");
    assert!(clash["detail"].as_str().unwrap().contains(second_id));

    // Pending ones: the valideurs see theirs; a compagnon decides nothing.
    let pending = s
        .expect(
            200,
            Method::GET,
            &format!("{reservations}/en-attente"),
            &chef,
            None,
        )
        .await;
    assert_eq!(pending["total"], 2);
    let pending = s
        .expect(
            200,
            Method::GET,
            &format!("{reservations}/en-attente"),
            &outsider,
            None,
        )
        .await;
    assert_eq!(pending["total"], 0);
    s.expect(
        403,
        Method::GET,
        &format!("{reservations}/en-attente"),
        &compagnon,
        None,
    )
    .await;

    // Deciding: not one's own request, a motif to refuse.
    s.expect(
        403,
        Method::POST,
        &format!("{BASE}/reservations/{second_id}/valider"),
        &conducteur,
        None,
    )
    .await;
    s.expect(
        403,
        Method::POST,
        &format!("{this}/valider"),
        &compagnon,
        None,
    )
    .await;
    let no_motif = s
        .expect(
            422,
            Method::POST,
            &format!("{this}/refuser"),
            &chef,
            json!({"motif": " "}),
        )
        .await;
    assert_eq!(no_motif["errors"][0]["field"], "motif");
    let refused = s
        .expect(
            200,
            Method::POST,
            &format!("{this}/refuser"),
            &chef,
            json!({"motif": "Nacelle en révision"}),
        )
        .await;
    assert_eq!(refused["statut"], "refusee");
    assert_eq!(refused["motif_refus"], "Nacelle en révision");
    let again = s
        .expect(409, Method::POST, &format!("{this}/valider"), &chef, None)
        .await;
    assert_eq!(again["code"], "invalid_transition");
    s.expect(
        200,
        Method::POST,
        &format!("{BASE}/reservations/{second_id}/annuler"),
        &conducteur,
        None,
    )
    .await;
    s.expect(
        404,
        Method::POST,
        &format!("{this}/annuler"),
        &outsider,
        None,
    )
    .await;

    // The ressource's views.
    let planning = s
        .expect(
            200,
            Method::GET,
            &format!("{one}/planning?date_debut={date}"),
            &compagnon,
            None,
        )
        .await;
    assert_eq!(planning["jours"].as_array().unwrap().len(), 7);
    assert_eq!(
        planning["reservations"].as_array().unwrap().len(),
        0,
        "refused and cancelled free the slot"
    );
    // The same period as an ISO week (the week of `date`).
    let (year, week, _) = date.to_iso_week_date();
    let by_week = s
        .expect(
            200,
            Method::GET,
            &format!("{one}/planning?semaine={year}-W{week:02}"),
            &compagnon,
            None,
        )
        .await;
    assert_eq!(by_week["jours"].as_array().unwrap().len(), 7);
    let monday = date - Duration::days(i64::from(date.weekday().number_days_from_monday()));
    assert_eq!(by_week["date_debut"], monday.to_string());
    s.expect(
        422,
        Method::GET,
        &format!("{one}/planning?semaine=2026-W99"),
        &compagnon,
        None,
    )
    .await;
    s.expect(
        422,
        Method::GET,
        &format!("{one}/planning"),
        &compagnon,
        None,
    )
    .await;
    s.expect(
        422,
        Method::GET,
        &format!(
            "{one}/planning?date_debut={date}&date_fin={}",
            date - Duration::days(1)
        ),
        &compagnon,
        None,
    )
    .await;
    let historique = s
        .expect(
            200,
            Method::GET,
            &format!("{one}/historique"),
            &compagnon,
            None,
        )
        .await;
    assert_eq!(historique["total"], 2);
    let on_site = format!("{BASE}/chantiers/{site}/reservations");
    assert_eq!(
        s.expect(200, Method::GET, &on_site, &conducteur, None)
            .await["total"],
        2
    );
    assert_eq!(
        s.expect(200, Method::GET, &on_site, &compagnon, None).await["total"],
        1,
        "one's own bookings only"
    );

    // Every route wants a signed-in caller.
    let events_before = s.count("SELECT count(*) FROM event_logs").await;
    for (method, route) in [
        (Method::GET, ressources.clone()),
        (Method::POST, ressources.clone()),
        (Method::GET, one.clone()),
        (Method::PUT, one.clone()),
        (Method::DELETE, one.clone()),
        (Method::GET, format!("{one}/planning?date_debut={date}")),
        (Method::GET, format!("{one}/historique")),
        (Method::POST, reservations.clone()),
        (Method::GET, format!("{reservations}/en-attente")),
        (Method::GET, this.clone()),
        (Method::PUT, this.clone()),
        (Method::POST, format!("{this}/valider")),
        (Method::POST, format!("{this}/refuser")),
        (Method::POST, format!("{this}/annuler")),
        (Method::GET, format!("{BASE}/chantiers/{site}/reservations")),
    ] {
        let (status, body) = s
            .call(method.clone(), &route, As::Anonymous, json!({}))
            .await;
        assert_eq!(status, 401, "{method} {route}: {body}");
    }
    assert_eq!(
        s.count("SELECT count(*) FROM event_logs").await,
        events_before
    );

    // Deleted: gone for reads and bookings.
    s.expect(403, Method::DELETE, &one, &conducteur, None).await;
    s.expect(204, Method::DELETE, &one, As::Admin, None).await;
    s.expect(404, Method::GET, &one, &compagnon, None).await;
    s.expect(404, Method::DELETE, &one, As::Admin, None).await;
    let types: Vec<String> = s
        .events("ressource.")
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        types,
        [
            "ressource.created",
            "ressource.updated",
            "ressource.deleted"
        ]
    );
    s.stop().await;
}
