//! `DieselDirectory` on this context's read models, fed by the platform
//! directory's projections from `user.*`, `chantier.*` and `affectation.*`.

use std::sync::Arc;

use hub_documents_application::ports::Directory;
use hub_documents_infrastructure::DieselDirectory;
use hub_documents_infrastructure::directory::{affectations, chantiers, users};
use hub_kernel::{EventEnvelope, EventType, Role, to_storage_precision};
use hub_platform_postgres::{DurableSubscriber, Projector, RelayedEvent};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

fn relayed(
    seq: i64,
    event_type: &'static str,
    aggregate: (&str, Uuid),
    data: Value,
) -> RelayedEvent {
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static(event_type).unwrap(),
        aggregate_type: aggregate.0.into(),
        aggregate_id: aggregate.1.to_string(),
        occurred_at: to_storage_precision(OffsetDateTime::now_utc()),
        actor_id: None,
        correlation_id: None,
        causation_id: None,
        schema_version: 1,
        data,
    };
    RelayedEvent {
        seq,
        envelope: Arc::new(envelope),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_models_follow_users_chantiers_and_affectations() {
    let test_db = TestDatabase::new().await;
    let db = test_db.database();
    let directory = DieselDirectory::new(db.clone());
    let (lucas, julien, site) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut conn = db.connection().await.unwrap();

    Projector::new(users())
        .handle(
            &mut conn,
            &relayed(
                1,
                "user.created",
                ("user", lucas),
                json!({"user_id": lucas,
                "email": "l@x.fr", "nom": "Petit", "prenom": "Lucas", "role": "compagnon",
                "type_utilisateur": "employe"}),
            ),
        )
        .await
        .unwrap();
    let user = directory.user(lucas).await.unwrap().unwrap();
    assert!(user.is_active);
    assert_eq!(user.role, Some(Role::Compagnon));
    assert_eq!(directory.user(julien).await.unwrap(), None);

    let snapshot = |statut: &str| {
        json!({"chantier_id": site, "code": "CH-1", "nom": "Tour", "adresse": "1 quai",
            "statut": statut, "conducteur_ids": [julien], "chef_chantier_ids": []})
    };
    let chantiers = Projector::new(chantiers());
    chantiers
        .handle(
            &mut conn,
            &relayed(
                2,
                "chantier.created",
                ("chantier", site),
                snapshot("ouvert"),
            ),
        )
        .await
        .unwrap();
    let info = directory.chantier(site).await.unwrap().unwrap();
    assert_eq!(info.conducteur_ids, [julien]);
    assert!(info.accepte_ecritures());

    let mut closed = snapshot("ferme");
    closed["ancien_statut"] = json!("ouvert");
    closed["nouveau_statut"] = json!("ferme");
    chantiers
        .handle(
            &mut conn,
            &relayed(3, "chantier.statut_changed", ("chantier", site), closed),
        )
        .await
        .unwrap();
    assert!(directory.chantier(site).await.unwrap().unwrap().ferme);
    chantiers
        .handle(
            &mut conn,
            &relayed(4, "chantier.deleted", ("chantier", site), snapshot("ferme")),
        )
        .await
        .unwrap();
    // Deleted, still known: its documents stay readable, nothing changes.
    let deleted = directory.chantier(site).await.unwrap().unwrap();
    assert!(deleted.supprime && !deleted.accepte_ecritures());

    assert!(!directory.is_assigned(lucas, site).await.unwrap());
    let affectation = Uuid::now_v7();
    Projector::new(affectations())
        .handle(
            &mut conn,
            &relayed(
                5,
                "affectation.created",
                ("affectation", affectation),
                json!({
                "affectation_id": affectation, "chantier_id": site, "utilisateur_id": lucas}),
            ),
        )
        .await
        .unwrap();
    assert!(directory.is_assigned(lucas, site).await.unwrap());
}
