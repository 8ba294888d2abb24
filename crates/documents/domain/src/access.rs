//! Who may do what with the dossiers and documents of a chantier: the
//! spec's access rule combined with chantier scoping, as pure functions.
//!
//! - **Scope.** Administrators and conducteurs see every chantier; chefs de
//!   chantier and compagnons only those they are responsable of or
//!   assigned to (an affectation of the planning context).
//! - **Role.** In scope, a role whose rank reaches the level of a dossier
//!   (or the effective level of a document: its own, else its dossier's)
//!   sees it; admins administer it, conducteurs and chefs write to it,
//!   compagnons read it (`documents:read/write/delete` of `role.py`).
//! - **Autorisations.** A valid autorisation gives its right on its target
//!   whatever the role or the scope (it was granted on purpose by someone
//!   who manages that target); one on a dossier covers the dossier's own
//!   documents (not its sub-dossiers). Expired ones give nothing.
//! - **Uploader.** The one who uploaded a document may always read it.
//!
//! The result is a [`Droit`]: `Aucun` is answered "not found", a lower
//! right than needed is "forbidden".

use hub_kernel::{Actor, Role};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Autorisation, Cible, Document, Dossier, Droit, NiveauAcces};

/// A chantier as this context knows it (from `chantier.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierInfo {
    pub chantier_id: Uuid,
    /// `ferme`: documents stay readable, nothing changes any more.
    pub ferme: bool,
    /// Deleted chantiers keep their documents read-only.
    pub supprime: bool,
    pub conducteur_ids: Vec<Uuid>,
    pub chef_chantier_ids: Vec<Uuid>,
}

impl ChantierInfo {
    /// Whether `actor` sees this chantier's documents by role; `assigned`
    /// says whether the actor has an affectation there.
    pub fn dans_le_perimetre(&self, actor: &Actor, assigned: bool) -> bool {
        match actor.role {
            Role::Admin | Role::Conducteur => true,
            Role::ChefChantier | Role::Compagnon => {
                assigned
                    || self.conducteur_ids.contains(&actor.user_id)
                    || self.chef_chantier_ids.contains(&actor.user_id)
            }
        }
    }

    /// Writes are refused once the chantier is `ferme` or deleted.
    pub fn accepte_ecritures(&self) -> bool {
        !self.ferme && !self.supprime
    }

    /// Administrators and this chantier's conducteurs manage the
    /// autorisations of all its dossiers and documents.
    pub fn gere_les_autorisations(&self, actor: &Actor) -> bool {
        actor.role == Role::Admin
            || (actor.role == Role::Conducteur && self.conducteur_ids.contains(&actor.user_id))
    }
}

/// A user as this context knows them (from `user.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: Uuid,
    pub role: Option<Role>,
    pub is_active: bool,
}

/// Which documents of one dossier a listing shows (see
/// [`Acteur::visibilite_documents`]). Besides what it says, a viewer always
/// sees the documents they uploaded and those they hold a valid
/// autorisation on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisibiliteDocuments {
    /// A valid autorisation on the dossier covers all its documents.
    Tous,
    /// Documents with their own level among `niveaux`, and those that
    /// inherit the dossier's level when `herites`.
    Filtree {
        herites: bool,
        niveaux: Vec<NiveauAcces>,
    },
}

impl VisibiliteDocuments {
    /// Whether `document` shows for `viewer`, given the viewer's
    /// autorisations on it (others are ignored).
    pub fn admet(
        &self,
        document: &Document,
        viewer: Uuid,
        autorisations: &[Autorisation],
        now: OffsetDateTime,
    ) -> bool {
        let own = document.uploaded_by() == viewer
            || autorisations.iter().any(|a| {
                a.user_id() == viewer
                    && a.cible() == Cible::Document(document.id())
                    && a.est_valide(now)
            });
        own || match self {
            VisibiliteDocuments::Tous => true,
            VisibiliteDocuments::Filtree { herites, niveaux } => match document.niveau_acces() {
                None => *herites,
                Some(niveau) => niveaux.contains(&niveau),
            },
        }
    }
}

/// The acting user as the access rule needs them.
#[derive(Debug, Clone, Copy)]
pub struct Acteur<'a> {
    pub actor: Actor,
    /// [`ChantierInfo::dans_le_perimetre`] for the chantier at hand.
    pub dans_le_perimetre: bool,
    /// The actor's autorisations on the targets at hand (others are ignored).
    pub autorisations: &'a [Autorisation],
    pub now: OffsetDateTime,
}

impl Acteur<'_> {
    /// What the actor's role gives on something of level `niveau`.
    fn par_role(&self, niveau: NiveauAcces) -> Droit {
        if !self.dans_le_perimetre || !niveau.reached_by(self.actor.role) {
            return Droit::Aucun;
        }
        match self.actor.role {
            Role::Admin => Droit::Admin,
            Role::Conducteur | Role::ChefChantier => Droit::Ecriture,
            Role::Compagnon => Droit::Lecture,
        }
    }

    /// The best right of the actor's valid autorisations on these targets.
    fn par_autorisation(&self, cibles: &[Cible]) -> Droit {
        self.autorisations
            .iter()
            .filter(|a| a.user_id() == self.actor.user_id)
            .filter(|a| cibles.contains(&a.cible()))
            .filter(|a| a.est_valide(self.now))
            .map(|a| a.type_autorisation().droit())
            .max()
            .unwrap_or(Droit::Aucun)
    }

    /// The actor's right on a dossier. Dossiers do not inherit from their
    /// parents.
    pub fn droit_sur_dossier(&self, dossier: &Dossier) -> Droit {
        self.par_role(dossier.niveau_acces())
            .max(self.par_autorisation(&[Cible::Dossier(dossier.id())]))
    }

    /// The actor's right on a document of `dossier` (its dossier).
    pub fn droit_sur_document(&self, document: &Document, dossier: &Dossier) -> Droit {
        let uploader = if document.uploaded_by() == self.actor.user_id {
            Droit::Lecture
        } else {
            Droit::Aucun
        };
        let cibles = [Cible::Document(document.id()), Cible::Dossier(dossier.id())];
        self.par_role(document.niveau_effectif(Some(dossier)))
            .max(self.par_autorisation(&cibles))
            .max(uploader)
    }

    /// Which documents of `dossier` (that the actor reads) a listing shows,
    /// as a filter a query can apply; [`VisibiliteDocuments::admet`] is the
    /// same rule as [`Acteur::droit_sur_document`], stated per row.
    pub fn visibilite_documents(&self, dossier: &Dossier) -> VisibiliteDocuments {
        if self.par_autorisation(&[Cible::Dossier(dossier.id())]) > Droit::Aucun {
            return VisibiliteDocuments::Tous;
        }
        let niveaux = if self.dans_le_perimetre {
            NiveauAcces::ALL
                .into_iter()
                .filter(|niveau| niveau.reached_by(self.actor.role))
                .collect()
        } else {
            Vec::new()
        };
        VisibiliteDocuments::Filtree {
            herites: niveaux.contains(&dossier.niveau_acces()),
            niveaux,
        }
    }

    /// Whether the actor may grant, list or revoke autorisations on a
    /// target where they hold `droit`: an administrator, a conducteur of
    /// the chantier, or the holder of an `admin` autorisation on it.
    pub fn gere_les_autorisations(&self, chantier: &ChantierInfo, droit: Droit) -> bool {
        chantier.gere_les_autorisations(&self.actor) || droit.peut_administrer()
    }

    /// Only administrators delete dossiers (`documents:delete`).
    pub fn peut_supprimer_dossier(&self, droit: Droit) -> bool {
        self.actor.role == Role::Admin && droit.peut_lire()
    }

    /// Only administrators create the standard tree; conducteurs too.
    pub fn peut_initialiser_arborescence(&self) -> bool {
        matches!(self.actor.role, Role::Admin | Role::Conducteur) && self.dans_le_perimetre
    }

    /// Whether the actor may create a dossier at the root of the chantier
    /// (under a parent, the parent's right decides: [`Droit::peut_ecrire`]).
    pub fn peut_creer_a_la_racine(&self) -> bool {
        self.dans_le_perimetre && self.actor.role != Role::Compagnon
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        DossierType, Emplacement, NomDossier, NouveauDossier, NouvelleAutorisation, Sha256, Taille,
        Televersement, TypeAutorisation,
    };
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
        }
    }

    fn dossier(niveau: NiveauAcces) -> Dossier {
        let nouveau = NouveauDossier {
            chantier_id: Uuid::nil(),
            nom: NomDossier::parse("Plans").unwrap(),
            type_dossier: DossierType::Custom,
            niveau_acces: niveau,
        };
        let at_root = Emplacement {
            parent: None,
            noms_voisins: &[],
        };
        Dossier::create(nouveau, at_root, NOW).unwrap().0
    }

    fn document(dossier: &Dossier, niveau: Option<NiveauAcces>, by: Uuid) -> Document {
        let upload =
            Televersement::prepare(dossier, dossier.chantier_id(), Some("a.pdf"), niveau, None)
                .unwrap();
        let nom = upload.nom().clone();
        let sha = Sha256::parse(&"00".repeat(32)).unwrap();
        Document::upload(upload, nom, Taille::new(1).unwrap(), sha, by, NOW).0
    }

    fn grant(
        user: Uuid,
        kind: TypeAutorisation,
        cible: Cible,
        expire_at: Option<OffsetDateTime>,
    ) -> Autorisation {
        let nouvelle = NouvelleAutorisation {
            user_id: user,
            type_autorisation: kind,
            cible,
            chantier_id: Uuid::nil(),
            expire_at,
        };
        Autorisation::accorder(nouvelle, &[], Uuid::now_v7(), NOW - Duration::days(10))
            .unwrap()
            .0
    }

    fn acteur(actor: Actor, perimetre: bool, autorisations: &[Autorisation]) -> Acteur<'_> {
        Acteur {
            actor,
            dans_le_perimetre: perimetre,
            autorisations,
            now: NOW,
        }
    }

    #[test]
    fn scope_admins_and_conducteurs_see_every_chantier_the_others_theirs() {
        let chef = actor(Role::ChefChantier);
        let site = ChantierInfo {
            chantier_id: Uuid::now_v7(),
            ferme: false,
            supprime: false,
            conducteur_ids: vec![],
            chef_chantier_ids: vec![chef.user_id],
        };
        assert!(site.dans_le_perimetre(&actor(Role::Admin), false));
        assert!(site.dans_le_perimetre(&actor(Role::Conducteur), false));
        assert!(site.dans_le_perimetre(&chef, false));
        assert!(!site.dans_le_perimetre(&actor(Role::ChefChantier), false));
        assert!(!site.dans_le_perimetre(&actor(Role::Compagnon), false));
        assert!(site.dans_le_perimetre(&actor(Role::Compagnon), true));
        assert!(site.accepte_ecritures());
        assert!(
            !ChantierInfo {
                ferme: true,
                ..site.clone()
            }
            .accepte_ecritures()
        );
        assert!(
            !ChantierInfo {
                supprime: true,
                ..site
            }
            .accepte_ecritures()
        );
    }

    #[test]
    fn roles_get_their_right_on_dossiers_up_to_their_rank() {
        let conducteur_only = dossier(NiveauAcces::Conducteur);
        let expected = [
            (Role::Admin, Droit::Admin),
            (Role::Conducteur, Droit::Ecriture),
            (Role::ChefChantier, Droit::Aucun),
            (Role::Compagnon, Droit::Aucun),
        ];
        for (role, droit) in expected {
            assert_eq!(
                acteur(actor(role), true, &[]).droit_sur_dossier(&conducteur_only),
                droit
            );
            assert_eq!(
                acteur(actor(role), false, &[]).droit_sur_dossier(&conducteur_only),
                Droit::Aucun
            );
        }
        let open = dossier(NiveauAcces::Compagnon);
        assert_eq!(
            acteur(actor(Role::Compagnon), true, &[]).droit_sur_dossier(&open),
            Droit::Lecture
        );
        assert_eq!(
            acteur(actor(Role::ChefChantier), true, &[]).droit_sur_dossier(&open),
            Droit::Ecriture
        );
    }

    #[test]
    fn valid_autorisations_open_their_target_expired_ones_nothing() {
        let compagnon = actor(Role::Compagnon);
        let secret = dossier(NiveauAcces::Admin);
        let on_it = [grant(
            compagnon.user_id,
            TypeAutorisation::Ecriture,
            Cible::Dossier(secret.id()),
            None,
        )];
        assert_eq!(
            acteur(compagnon, false, &on_it).droit_sur_dossier(&secret),
            Droit::Ecriture
        );
        // Someone else's autorisation gives this actor nothing.
        assert_eq!(
            acteur(actor(Role::Compagnon), true, &on_it).droit_sur_dossier(&secret),
            Droit::Aucun
        );
        let expired = [grant(
            compagnon.user_id,
            TypeAutorisation::Admin,
            Cible::Dossier(secret.id()),
            Some(NOW),
        )];
        assert_eq!(
            acteur(compagnon, true, &expired).droit_sur_dossier(&secret),
            Droit::Aucun
        );
        // A dossier's parent autorisation does not reach its sub-dossiers.
        let other = dossier(NiveauAcces::Admin);
        assert_eq!(
            acteur(compagnon, true, &on_it).droit_sur_dossier(&other),
            Droit::Aucun
        );
    }

    #[test]
    fn documents_use_their_effective_level_the_uploader_and_dossier_autorisations() {
        let compagnon = actor(Role::Compagnon);
        let plans = dossier(NiveauAcces::Compagnon);
        let inherited = document(&plans, None, Uuid::now_v7());
        let restricted = document(&plans, Some(NiveauAcces::Conducteur), Uuid::now_v7());
        let own = document(&plans, Some(NiveauAcces::Admin), compagnon.user_id);
        let me = acteur(compagnon, true, &[]);
        assert_eq!(me.droit_sur_document(&inherited, &plans), Droit::Lecture);
        assert_eq!(me.droit_sur_document(&restricted, &plans), Droit::Aucun);
        assert_eq!(me.droit_sur_document(&own, &plans), Droit::Lecture);
        assert_eq!(
            acteur(compagnon, false, &[]).droit_sur_document(&inherited, &plans),
            Droit::Aucun
        );

        let secret = dossier(NiveauAcces::Admin);
        let inside = document(&secret, None, Uuid::now_v7());
        assert_eq!(me.droit_sur_document(&inside, &secret), Droit::Aucun);
        let on_folder = [grant(
            compagnon.user_id,
            TypeAutorisation::Admin,
            Cible::Dossier(secret.id()),
            None,
        )];
        assert_eq!(
            acteur(compagnon, true, &on_folder).droit_sur_document(&inside, &secret),
            Droit::Admin
        );
        let on_document = [grant(
            compagnon.user_id,
            TypeAutorisation::Lecture,
            Cible::Document(inside.id()),
            None,
        )];
        assert_eq!(
            acteur(compagnon, true, &on_document).droit_sur_document(&inside, &secret),
            Droit::Lecture
        );
    }

    #[test]
    fn autorisations_are_managed_by_admins_their_conducteurs_and_admin_holders() {
        let mine = actor(Role::Conducteur);
        let site = ChantierInfo {
            chantier_id: Uuid::now_v7(),
            ferme: false,
            supprime: false,
            conducteur_ids: vec![mine.user_id],
            chef_chantier_ids: vec![],
        };
        assert!(acteur(actor(Role::Admin), true, &[]).gere_les_autorisations(&site, Droit::Admin));
        assert!(acteur(mine, true, &[]).gere_les_autorisations(&site, Droit::Ecriture));
        assert!(
            !acteur(actor(Role::Conducteur), true, &[])
                .gere_les_autorisations(&site, Droit::Ecriture)
        );
        assert!(
            acteur(actor(Role::Compagnon), true, &[]).gere_les_autorisations(&site, Droit::Admin)
        );
        assert!(
            !acteur(actor(Role::ChefChantier), true, &[])
                .gere_les_autorisations(&site, Droit::Ecriture)
        );
        assert!(acteur(actor(Role::Admin), true, &[]).peut_supprimer_dossier(Droit::Admin));
        assert!(!acteur(mine, true, &[]).peut_supprimer_dossier(Droit::Ecriture));
        assert!(acteur(mine, true, &[]).peut_initialiser_arborescence());
        assert!(!acteur(actor(Role::ChefChantier), true, &[]).peut_initialiser_arborescence());
        assert!(!acteur(actor(Role::Compagnon), true, &[]).peut_creer_a_la_racine());
    }

    fn any_role() -> impl Strategy<Value = Role> {
        prop::sample::select(Role::ALL.to_vec())
    }

    fn any_niveau() -> impl Strategy<Value = NiveauAcces> {
        prop::sample::select(NiveauAcces::ALL.to_vec())
    }

    proptest! {
        /// The spec's rule, stated once: a document is readable exactly when
        /// the actor uploaded it, holds a valid autorisation on it or its
        /// dossier, or is in scope with a role reaching its effective level.
        #[test]
        fn the_document_rule_holds_for_every_combination(
            role in any_role(),
            niveau_dossier in any_niveau(),
            niveau_document in prop::option::of(any_niveau()),
            perimetre: bool,
            uploader: bool,
            autorisation in prop::option::of((any::<bool>(), any::<bool>(), 0u8..3)),
        ) {
            let who = actor(role);
            let folder = dossier(niveau_dossier);
            let by = if uploader { who.user_id } else { Uuid::now_v7() };
            let doc = document(&folder, niveau_document, by);
            let grants: Vec<Autorisation> = autorisation
                .map(|(on_folder, valid, kind)| {
                    let cible = if on_folder { Cible::Dossier(folder.id()) } else { Cible::Document(doc.id()) };
                    let kind = TypeAutorisation::ALL[usize::from(kind)];
                    grant(who.user_id, kind, cible, (!valid).then_some(NOW))
                })
                .into_iter()
                .collect();
            let valid_grant = autorisation.is_some_and(|(_, valid, _)| valid);
            let by_role = perimetre && niveau_document.unwrap_or(niveau_dossier).reached_by(role);
            let droit = acteur(who, perimetre, &grants).droit_sur_document(&doc, &folder);
            prop_assert_eq!(droit.peut_lire(), uploader || valid_grant || by_role);
            // A listing of a dossier the actor reads shows exactly the
            // documents the actor may read.
            let me = acteur(who, perimetre, &grants);
            if me.droit_sur_dossier(&folder).peut_lire() {
                let shown = me
                    .visibilite_documents(&folder)
                    .admet(&doc, who.user_id, &grants, NOW);
                prop_assert_eq!(shown, droit.peut_lire());
            }
            // Nothing but an admin role or an admin autorisation gives Admin.
            if droit == Droit::Admin {
                prop_assert!(role == Role::Admin || valid_grant);
            }
        }
    }
}
