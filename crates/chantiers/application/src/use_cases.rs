//! The chantiers use cases. Each holds its ports and has one `execute`;
//! each either stores its change with exactly its events, or fails and
//! publishes nothing.

use std::sync::Arc;

use hub_chantiers_domain::{
    Chantier, ChantierAccess, ChantierError, Responsables, Statut, sees_every_chantier,
};
use hub_kernel::{
    Actor, Clock, CommandContext, EnvelopeError, Page, Role, StorageError, ValidationErrors,
    VersionMismatch,
};
use uuid::Uuid;

use crate::input::{ChantierInput, UpdateInput};
use crate::ports::{ChantierFilter, ChantierRepository, RepositoryError};

/// Why a chantier command failed; the HTTP adapter maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum ChantierCommandError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("no chantier with this id")]
    NotFound,
    /// The caller sees the chantier but may not change it.
    #[error("only an administrator or a conducteur of this chantier may change it")]
    NotConducteur,
    #[error("only an administrator may delete a chantier")]
    AdminOnly,
    #[error(transparent)]
    Rule(#[from] ChantierError),
    #[error("a chantier with the code {0} already exists")]
    DuplicateCode(String),
    #[error("the chantier was changed by someone else meanwhile; reload it and retry")]
    Conflict,
    /// The request was conditional (`If-Match`) on another version.
    #[error(transparent)]
    Precondition(#[from] VersionMismatch),
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("chantiers are unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for ChantierCommandError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::DuplicateCode(code) => Self::DuplicateCode(code),
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Conflict => Self::Conflict,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for ChantierCommandError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<StorageError> for ChantierCommandError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for ChantierCommandError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

/// The ports every chantiers use case is built from.
#[derive(Clone)]
pub struct ChantierPorts {
    pub chantiers: Arc<dyn ChantierRepository>,
    pub clock: Arc<dyn Clock>,
}

impl ChantierPorts {
    async fn load(&self, id: Uuid) -> Result<Chantier, ChantierCommandError> {
        self.chantiers
            .find(id)
            .await?
            .ok_or(ChantierCommandError::NotFound)
    }

    /// The chantier, if the command's actor may run it (the system may).
    async fn load_to_manage(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<Chantier, ChantierCommandError> {
        let chantier = self.load(id).await?;
        if let Some(actor) = context.actor {
            match chantier.access_of(&actor, false) {
                ChantierAccess::Manage => {}
                ChantierAccess::Read => return Err(ChantierCommandError::NotConducteur),
                ChantierAccess::None => return Err(ChantierCommandError::NotFound),
            }
        }
        // Only once the caller may know the chantier exists.
        context.check_version(chantier.version())?;
        Ok(chantier)
    }
}

hub_kernel::use_cases! {
    ChantierPorts;
    /// Opens a chantier; publishes `chantier.created`.
    CreateChantier,
    /// Changes a chantier's details; publishes `chantier.updated` with `changes`.
    UpdateChantier,
    /// Deletes a chantier; publishes `chantier.deleted`.
    DeleteChantier,
    /// Moves a chantier along its statut machine; publishes `chantier.statut_changed`.
    ChangeStatut,
    /// Replaces a chantier's conducteurs and chefs; publishes `chantier.responsable_assigned`.
    AssignResponsables,
    /// One chantier, if the actor may see it.
    GetChantier,
    /// A filtered page of the chantiers the actor may see.
    ListChantiers,
}

impl CreateChantier {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: ChantierInput,
        responsables: (Vec<Uuid>, Vec<Uuid>),
    ) -> Result<Chantier, ChantierCommandError> {
        let details = input.validate()?;
        let mut responsables = Responsables::new(responsables.0, responsables.1)?;
        if let Some(actor) = context.actor.filter(|a| a.role == Role::Conducteur) {
            // Otherwise the conducteur who opens it could not run it.
            responsables = responsables.with_conducteur(actor.user_id)?;
        }
        let (chantier, created) = Chantier::create(details, responsables, self.ports.clock.now())?;
        let events = [context.wrap(&created, &*self.ports.clock)?];
        self.ports.chantiers.insert(&chantier, &events).await?;
        Ok(chantier)
    }
}

impl UpdateChantier {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateInput,
    ) -> Result<Chantier, ChantierCommandError> {
        let update = input.validate()?;
        let mut chantier = self.ports.load_to_manage(context, id).await?;
        if let Some(updated) = chantier.update(update, self.ports.clock.now())? {
            let events = [context.wrap(&updated, &*self.ports.clock)?];
            self.ports.chantiers.update(&chantier, &events).await?;
        }
        Ok(chantier)
    }
}

impl DeleteChantier {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<(), ChantierCommandError> {
        let chantier = self.ports.load_to_manage(context, id).await?;
        if context.actor.is_some_and(|actor| !actor.is_admin()) {
            return Err(ChantierCommandError::AdminOnly);
        }
        let events = [context.wrap(&chantier.delete(), &*self.ports.clock)?];
        self.ports.chantiers.delete(&chantier, &events).await?;
        Ok(())
    }
}

impl ChangeStatut {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        to: Statut,
    ) -> Result<Chantier, ChantierCommandError> {
        let mut chantier = self.ports.load_to_manage(context, id).await?;
        let changed = chantier.change_statut(to, self.ports.clock.now())?;
        let events = [context.wrap(&changed, &*self.ports.clock)?];
        self.ports.chantiers.update(&chantier, &events).await?;
        Ok(chantier)
    }
}

impl AssignResponsables {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        conducteur_ids: Vec<Uuid>,
        chef_chantier_ids: Vec<Uuid>,
    ) -> Result<Chantier, ChantierCommandError> {
        let responsables = Responsables::new(conducteur_ids, chef_chantier_ids)?;
        let mut chantier = self.ports.load_to_manage(context, id).await?;
        if let Some(assigned) =
            chantier.assign_responsables(responsables, self.ports.clock.now())?
        {
            let events = [context.wrap(&assigned, &*self.ports.clock)?];
            self.ports.chantiers.update(&chantier, &events).await?;
        }
        Ok(chantier)
    }
}

impl GetChantier {
    pub async fn execute(&self, actor: &Actor, id: Uuid) -> Result<Chantier, ChantierCommandError> {
        let chantier = self
            .ports
            .chantiers
            .find(id)
            .await?
            .ok_or(ChantierCommandError::NotFound)?;
        if chantier.access_of(actor, false) != ChantierAccess::None
            || self.ports.chantiers.is_assigned(actor.user_id, id).await?
        {
            Ok(chantier)
        } else {
            Err(ChantierCommandError::NotFound)
        }
    }
}

impl ListChantiers {
    pub async fn execute(
        &self,
        actor: &Actor,
        filter: &ChantierFilter,
        page: Page,
    ) -> Result<(Vec<Chantier>, u64), ChantierCommandError> {
        let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 100) {
            return Err(ChantierCommandError::Invalid(ValidationErrors::single(
                "q",
                "too_long",
                "must be at most 100 characters",
            )));
        }
        let filter = ChantierFilter {
            statut: filter.statut,
            q: q.map(str::to_owned),
            visible_to: (!sees_every_chantier(actor)).then_some(actor.user_id),
        };
        Ok(self.ports.chantiers.list(&filter, page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::GpsInput;
    use crate::ports::MockChantierRepository;
    use hub_kernel::{EventEnvelope, FixedClock};
    use serde_json::json;
    use std::sync::Mutex;
    use time::macros::{date, datetime};

    const NOW: time::OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

    fn clock() -> Arc<dyn Clock> {
        Arc::new(FixedClock(NOW))
    }

    fn ports(chantiers: MockChantierRepository) -> ChantierPorts {
        ChantierPorts {
            chantiers: Arc::new(chantiers),
            clock: clock(),
        }
    }

    /// The conducteur who runs [`existing`].
    const CONDUCTEUR: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0007);

    fn context() -> CommandContext {
        context_of(CONDUCTEUR, Role::Conducteur)
    }

    fn context_of(user_id: Uuid, role: Role) -> CommandContext {
        CommandContext::user(Actor { user_id, role }, Some("req-7".to_owned()))
    }

    fn input() -> ChantierInput {
        ChantierInput {
            code: "ch-2026-001".into(),
            nom: "Tour Alpha".into(),
            adresse: "1 quai de Seine, Paris".into(),
            couleur: None,
            coordonnees_gps: Some(GpsInput {
                latitude: 48.85,
                longitude: 2.35,
            }),
            contact: None,
            heures_estimees: Some(1500.0),
            date_debut: Some(date!(2026 - 12 - 01)),
            date_fin: None,
        }
    }

    fn existing() -> Chantier {
        let (chantier, _) = Chantier::create(
            input().validate().unwrap(),
            Responsables::new(vec![CONDUCTEUR], vec![]).unwrap(),
            NOW,
        )
        .unwrap();
        chantier
    }

    type Written = Arc<Mutex<Vec<EventEnvelope>>>;

    /// A repository holding `stored` that records the events it is given.
    fn repository(stored: Option<Chantier>) -> (MockChantierRepository, Written) {
        let written: Written = Arc::default();
        let mut repo = MockChantierRepository::new();
        repo.expect_find().returning(move |_| Ok(stored.clone()));
        let sink = written.clone();
        repo.expect_insert().returning(move |_, events| {
            sink.lock().unwrap().extend_from_slice(events);
            Ok(())
        });
        let sink = written.clone();
        repo.expect_update().returning(move |_, events| {
            sink.lock().unwrap().extend_from_slice(events);
            Ok(())
        });
        let sink = written.clone();
        repo.expect_delete().returning(move |_, events| {
            sink.lock().unwrap().extend_from_slice(events);
            Ok(())
        });
        (repo, written)
    }

    /// A repository that must not be written to.
    fn untouched(stored: Option<Chantier>) -> MockChantierRepository {
        let mut repo = MockChantierRepository::new();
        repo.expect_find().returning(move |_| Ok(stored.clone()));
        repo.expect_insert().never();
        repo.expect_update().never();
        repo.expect_delete().never();
        repo
    }

    #[tokio::test]
    async fn create_stores_the_chantier_with_exactly_its_created_event() {
        let (repo, written) = repository(None);
        let create = CreateChantier::new(ports(repo));
        let (conducteur, chef) = (Uuid::now_v7(), Uuid::now_v7());
        let context = context();
        let chantier = create
            .execute(&context, input(), (vec![conducteur], vec![chef]))
            .await
            .unwrap();

        let events = written.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.event_type.as_str(), "chantier.created");
        assert_eq!(event.aggregate_type, "chantier");
        assert_eq!(event.aggregate_id, chantier.id().to_string());
        assert_eq!(event.actor_id, context.actor.map(|a| a.user_id));
        assert_eq!(event.correlation_id.as_deref(), Some("req-7"));
        assert_eq!(event.occurred_at, NOW);
        assert_eq!(
            event.data,
            json!({
                "chantier_id": chantier.id(), "code": "CH-2026-001", "nom": "Tour Alpha",
                "adresse": "1 quai de Seine, Paris", "statut": "ouvert",
                "conducteur_ids": [conducteur, CONDUCTEUR], "chef_chantier_ids": [chef]
            })
        );
    }

    #[tokio::test]
    async fn create_reports_all_invalid_fields_and_writes_nothing() {
        let create = CreateChantier::new(ports(untouched(None)));
        let bad = ChantierInput {
            code: "pas un code".into(),
            nom: String::new(),
            couleur: Some("rouge".into()),
            coordonnees_gps: Some(GpsInput {
                latitude: 91.0,
                longitude: 0.0,
            }),
            heures_estimees: Some(-1.0),
            ..input()
        };
        let Err(ChantierCommandError::Invalid(errors)) =
            create.execute(&context(), bad, (vec![], vec![])).await
        else {
            panic!("expected validation errors");
        };
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "code",
                "nom",
                "couleur",
                "coordonnees_gps",
                "heures_estimees"
            ]
        );

        let inverted = ChantierInput {
            date_debut: Some(date!(2027 - 01 - 02)),
            date_fin: Some(date!(2027 - 01 - 01)),
            ..input()
        };
        assert!(matches!(
            create.execute(&context(), inverted, (vec![], vec![])).await,
            Err(ChantierCommandError::Rule(
                ChantierError::DatesInverted { .. }
            ))
        ));
    }

    #[tokio::test]
    async fn create_maps_a_duplicate_code() {
        let mut repo = MockChantierRepository::new();
        repo.expect_insert()
            .returning(|_, _| Err(RepositoryError::DuplicateCode("CH-2026-001".into())));
        let create = CreateChantier::new(ports(repo));
        assert!(matches!(
            create.execute(&context(), input(), (vec![], vec![])).await,
            Err(ChantierCommandError::DuplicateCode(code)) if code == "CH-2026-001"
        ));
    }

    #[tokio::test]
    async fn update_publishes_changes_and_nothing_for_a_no_op() {
        let chantier = existing();
        let (repo, written) = repository(Some(chantier.clone()));
        let update = UpdateChantier::new(ports(repo));
        let updated = update
            .execute(
                &context(),
                chantier.id(),
                UpdateInput {
                    nom: Some("Tour Alpha II".into()),
                    date_debut: Some(None),
                    ..UpdateInput::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(updated.version(), 2);
        let events = written.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type.as_str(), "chantier.updated");
        assert_eq!(
            events[0].data["changes"],
            json!({
                "nom": {"old": "Tour Alpha", "new": "Tour Alpha II"},
                "date_debut": {"old": "2026-12-01", "new": null}
            })
        );
        assert_eq!(events[0].data["nom"], "Tour Alpha II");
        assert_eq!(events[0].data["statut"], "ouvert");

        let no_op = UpdateChantier::new(ports(untouched(Some(chantier.clone()))));
        no_op
            .execute(
                &context(),
                chantier.id(),
                UpdateInput {
                    nom: Some("Tour Alpha".into()),
                    ..UpdateInput::default()
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn update_failures_publish_nothing() {
        let update = UpdateChantier::new(ports(untouched(None)));
        assert!(matches!(
            update
                .execute(&context(), Uuid::now_v7(), UpdateInput::default())
                .await,
            Err(ChantierCommandError::NotFound)
        ));
        let update = UpdateChantier::new(ports(untouched(Some(existing()))));
        assert!(matches!(
            update
                .execute(
                    &context(),
                    Uuid::now_v7(),
                    UpdateInput {
                        couleur: Some("bleu".into()),
                        ..UpdateInput::default()
                    }
                )
                .await,
            Err(ChantierCommandError::Invalid(_))
        ));

        let mut conflicting = MockChantierRepository::new();
        let stored = existing();
        conflicting
            .expect_find()
            .returning(move |_| Ok(Some(stored.clone())));
        conflicting
            .expect_update()
            .returning(|_, _| Err(RepositoryError::Conflict));
        let update = UpdateChantier::new(ports(conflicting));
        assert!(matches!(
            update
                .execute(
                    &context(),
                    Uuid::now_v7(),
                    UpdateInput {
                        nom: Some("Autre".into()),
                        ..UpdateInput::default()
                    }
                )
                .await,
            Err(ChantierCommandError::Conflict)
        ));
    }

    #[tokio::test]
    async fn change_statut_publishes_both_statuts_and_refuses_going_back() {
        let chantier = existing();
        let (repo, written) = repository(Some(chantier.clone()));
        let change = ChangeStatut::new(ports(repo));
        let started = change
            .execute(&context(), chantier.id(), Statut::EnCours)
            .await
            .unwrap();
        assert_eq!(started.statut(), Statut::EnCours);
        let events = written.lock().unwrap().clone();
        assert_eq!(events[0].event_type.as_str(), "chantier.statut_changed");
        assert_eq!(events[0].data["ancien_statut"], "ouvert");
        assert_eq!(events[0].data["nouveau_statut"], "en_cours");
        assert_eq!(
            events[0].data["conducteur_ids"],
            json!(chantier.responsables().conducteur_ids())
        );

        let change = ChangeStatut::new(ports(untouched(Some(started))));
        assert!(matches!(
            change
                .execute(&context(), chantier.id(), Statut::Ouvert)
                .await,
            Err(ChantierCommandError::Rule(
                ChantierError::InvalidTransition(_)
            ))
        ));
    }

    #[tokio::test]
    async fn assign_responsables_publishes_the_delta_or_nothing() {
        let chantier = existing();
        let old = chantier.responsables().conducteur_ids()[0];
        let (repo, written) = repository(Some(chantier.clone()));
        let assign = AssignResponsables::new(ports(repo));
        let new = Uuid::now_v7();
        assign
            .execute(&context(), chantier.id(), vec![new], vec![])
            .await
            .unwrap();
        let events = written.lock().unwrap().clone();
        assert_eq!(
            events[0].event_type.as_str(),
            "chantier.responsable_assigned"
        );
        assert_eq!(
            events[0].data["added"],
            json!({"conducteur_ids": [new], "chef_chantier_ids": []})
        );
        assert_eq!(
            events[0].data["removed"],
            json!({"conducteur_ids": [old], "chef_chantier_ids": []})
        );

        let same = AssignResponsables::new(ports(untouched(Some(chantier.clone()))));
        same.execute(&context(), chantier.id(), vec![old], vec![])
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn delete_publishes_the_last_snapshot() {
        let chantier = existing();
        let (repo, written) = repository(Some(chantier.clone()));
        DeleteChantier::new(ports(repo))
            .execute(&context_of(Uuid::now_v7(), Role::Admin), chantier.id())
            .await
            .unwrap();
        let events = written.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type.as_str(), "chantier.deleted");
        assert_eq!(events[0].data["code"], "CH-2026-001");

        let missing = DeleteChantier::new(ports(untouched(None)));
        assert!(matches!(
            missing.execute(&context(), Uuid::now_v7()).await,
            Err(ChantierCommandError::NotFound)
        ));
    }

    #[tokio::test]
    async fn list_trims_the_search_and_bounds_it() {
        let mut repo = MockChantierRepository::new();
        repo.expect_list()
            .withf(|filter, page| filter.q.as_deref() == Some("alpha") && page.limit == 10)
            .times(1)
            .returning(|_, _| Ok((vec![], 0)));
        let list = ListChantiers::new(ports(repo));
        let filter = ChantierFilter {
            q: Some("  alpha ".into()),
            ..ChantierFilter::default()
        };
        let admin = context_of(Uuid::now_v7(), Role::Admin).actor.unwrap();
        list.execute(&admin, &filter, Page::new(None, Some(10)))
            .await
            .unwrap();

        let list = ListChantiers::new(ports(MockChantierRepository::new()));
        let long = ChantierFilter {
            q: Some("x".repeat(101)),
            ..ChantierFilter::default()
        };
        assert!(matches!(
            list.execute(&admin, &long, Page::new(None, None)).await,
            Err(ChantierCommandError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn only_an_admin_or_a_conducteur_of_the_chantier_changes_it() {
        let chantier = existing();
        let id = chantier.id();
        let stranger = context_of(Uuid::now_v7(), Role::Conducteur);
        let chef = context_of(Uuid::now_v7(), Role::ChefChantier);
        let repo = || untouched(Some(chantier.clone()));
        let rename = || UpdateInput {
            nom: Some("Autre".into()),
            ..UpdateInput::default()
        };
        // Another conducteur sees the chantier but cannot change it, and
        // above all cannot make himself one of its conducteurs.
        for context in [&stranger] {
            let update = UpdateChantier::new(ports(repo()))
                .execute(context, id, rename())
                .await;
            assert!(matches!(update, Err(ChantierCommandError::NotConducteur)));
            let statut = ChangeStatut::new(ports(repo()))
                .execute(context, id, Statut::EnCours)
                .await;
            assert!(matches!(statut, Err(ChantierCommandError::NotConducteur)));
            let me = context.actor.unwrap().user_id;
            let assign = AssignResponsables::new(ports(repo()))
                .execute(context, id, vec![me], vec![])
                .await;
            assert!(matches!(assign, Err(ChantierCommandError::NotConducteur)));
        }
        // A chef who is not on it does not even learn that it exists.
        let update = UpdateChantier::new(ports(repo()))
            .execute(&chef, id, rename())
            .await;
        assert!(matches!(update, Err(ChantierCommandError::NotFound)));
        // Its own conducteur may not delete it either: administrators only.
        let delete = DeleteChantier::new(ports(repo()))
            .execute(&context(), id)
            .await;
        assert!(matches!(delete, Err(ChantierCommandError::AdminOnly)));

        // An administrator, or the system, may.
        for context in [
            context_of(Uuid::now_v7(), Role::Admin),
            CommandContext::system(None),
        ] {
            let (repo, written) = repository(Some(chantier.clone()));
            UpdateChantier::new(ports(repo))
                .execute(&context, id, rename())
                .await
                .unwrap();
            assert_eq!(written.lock().unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn the_conducteur_who_opens_a_chantier_runs_it() {
        let (repo, written) = repository(None);
        let chef = Uuid::now_v7();
        let chantier = CreateChantier::new(ports(repo))
            .execute(&context(), input(), (vec![], vec![chef]))
            .await
            .unwrap();
        assert_eq!(chantier.responsables().conducteur_ids(), [CONDUCTEUR]);
        assert_eq!(
            written.lock().unwrap()[0].data["conducteur_ids"],
            json!([CONDUCTEUR])
        );
        // An administrator is not added: he runs every chantier anyway.
        let (repo, _) = repository(None);
        let chantier = CreateChantier::new(ports(repo))
            .execute(
                &context_of(Uuid::now_v7(), Role::Admin),
                input(),
                (vec![], vec![]),
            )
            .await
            .unwrap();
        assert!(chantier.responsables().conducteur_ids().is_empty());
    }

    #[tokio::test]
    async fn chefs_and_compagnons_read_only_their_chantiers() {
        let chef = Uuid::now_v7();
        let (repo_chantier, id) = {
            let (c, _) = Chantier::create(
                input().validate().unwrap(),
                Responsables::new(vec![CONDUCTEUR], vec![chef]).unwrap(),
                NOW,
            )
            .unwrap();
            let id = c.id();
            (c, id)
        };
        let compagnon = Uuid::now_v7();
        let mut repo = MockChantierRepository::new();
        repo.expect_find()
            .returning(move |_| Ok(Some(repo_chantier.clone())));
        repo.expect_is_assigned()
            .returning(move |user, _| Ok(user == compagnon));
        let get = GetChantier::new(ports(repo));
        let actor = |user_id, role| Actor { user_id, role };
        assert!(
            get.execute(&actor(chef, Role::ChefChantier), id)
                .await
                .is_ok()
        );
        assert!(
            get.execute(&actor(compagnon, Role::Compagnon), id)
                .await
                .is_ok()
        );
        for role in [Role::ChefChantier, Role::Compagnon] {
            assert!(matches!(
                get.execute(&actor(Uuid::now_v7(), role), id).await,
                Err(ChantierCommandError::NotFound)
            ));
        }
        assert!(
            get.execute(&actor(Uuid::now_v7(), Role::Conducteur), id)
                .await
                .is_ok()
        );

        // Lists: everything for conducteurs, the caller's own for the others.
        let mut repo = MockChantierRepository::new();
        repo.expect_list()
            .withf(move |filter, _| filter.visible_to == Some(chef))
            .times(1)
            .returning(|_, _| Ok((vec![], 0)));
        repo.expect_list()
            .withf(|filter, _| filter.visible_to.is_none())
            .times(1)
            .returning(|_, _| Ok((vec![], 0)));
        let list = ListChantiers::new(ports(repo));
        let page = Page::new(None, None);
        let filter = ChantierFilter::default();
        list.execute(&actor(chef, Role::ChefChantier), &filter, page)
            .await
            .unwrap();
        list.execute(&actor(Uuid::now_v7(), Role::Conducteur), &filter, page)
            .await
            .unwrap();
    }
}
