//! The export of one ISO week for payroll: every pointage the exporter may
//! see that week (one site, some users, or all), grouped per user with the
//! user's totals, and `feuille_heures.exported` stored in the outbox. The
//! file itself (CSV, XLSX) is the adapter's: this builds what goes in it.

use hub_kernel::{CommandContext, Role};
use hub_pointages_domain::{
    FeuilleHeuresExported, FormatExport, Pointage, Semaine, Totaux, vues_compagnons,
};
use uuid::Uuid;

use crate::ports::Noms;
use crate::use_cases::{PointagesError, PointagesPorts};

const EXPORT: &str = "only an administrator or a conducteur may export hours";

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportInput {
    pub semaine: Semaine,
    /// One site, or every site the exporter may see.
    pub chantier_id: Option<Uuid>,
    /// Some users, or (empty) all.
    pub utilisateur_ids: Vec<Uuid>,
    pub format: FormatExport,
}

/// One user's lines and totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportUtilisateur {
    pub utilisateur_id: Uuid,
    /// By date, then chantier name.
    pub pointages: Vec<Pointage>,
    pub totaux: Totaux,
}

/// The content of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub export_id: Uuid,
    pub semaine: Semaine,
    pub format: FormatExport,
    /// By user name, then id.
    pub utilisateurs: Vec<ExportUtilisateur>,
    /// The whole export.
    pub totaux: Totaux,
    pub noms: Noms,
}

/// Exports a week: an admin everything, a conducteur the hours of his
/// chantiers (and his own); other roles are refused (CDC §3.3).
pub struct ExportSemaine(pub PointagesPorts);

impl ExportSemaine {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: ExportInput,
    ) -> Result<Export, PointagesError> {
        let actor = context
            .actor
            .filter(|actor| matches!(actor.role, Role::Admin | Role::Conducteur))
            .ok_or(PointagesError::Forbidden(EXPORT))?;
        let ports = &self.0;
        let mut rows = ports
            .week(&actor, input.semaine, None, input.chantier_id)
            .await?;
        if !input.utilisateur_ids.is_empty() {
            rows.retain(|p| input.utilisateur_ids.contains(&p.utilisateur_id()));
        }
        let noms = ports.noms_of(&rows).await?;
        let totaux = Totaux::of(input.semaine, &rows);
        let mut utilisateurs: Vec<ExportUtilisateur> = vues_compagnons(input.semaine, rows)
            .into_iter()
            .map(|vue| {
                let mut pointages: Vec<Pointage> = vue
                    .chantiers
                    .into_iter()
                    .flat_map(|ligne| ligne.pointages)
                    .collect();
                pointages
                    .sort_by_cached_key(|p| (p.date(), noms.chantier(p.chantier_id()), p.id()));
                ExportUtilisateur {
                    utilisateur_id: vue.utilisateur_id,
                    pointages,
                    totaux: vue.totaux,
                }
            })
            .collect();
        utilisateurs.sort_by_cached_key(|u| (noms.utilisateur(u.utilisateur_id), u.utilisateur_id));
        let event = FeuilleHeuresExported {
            export_id: Uuid::now_v7(),
            semaine: input.semaine.semaine_iso(),
            chantier_id: input.chantier_id,
            utilisateur_ids: input.utilisateur_ids,
            format: input.format,
            exported_by: actor.user_id,
        };
        let envelope = context.wrap(&event, &*ports.clock)?;
        ports.pointages.publish(&[envelope]).await?;
        Ok(Export {
            export_id: event.export_id,
            semaine: input.semaine,
            format: input.format,
            utilisateurs,
            totaux,
            noms,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::ports::{MockDirectory, MockPointageRepository};
    use hub_kernel::{Actor, EventEnvelope, FixedClock};
    use hub_pointages_domain::{HeuresMinutes, NouveauPointage};
    use time::macros::{date, datetime};

    const ADMIN: Uuid = Uuid::from_u128(9);
    const KARIM: Uuid = Uuid::from_u128(1);
    const LEA: Uuid = Uuid::from_u128(2);
    const SITE: Uuid = Uuid::from_u128(10);

    fn pointage(user: Uuid, date: time::Date, normales: &str) -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: user,
                chantier_id: SITE,
                date,
                heures_normales: HeuresMinutes::parse(normales).unwrap(),
                heures_supplementaires: HeuresMinutes::parse("0:30").unwrap(),
                commentaire: None,
                affectation_id: None,
            },
            None,
            datetime!(2026-12-07 08:00 UTC),
        )
        .0
    }

    fn ports(published: Arc<Mutex<Vec<EventEnvelope>>>) -> PointagesPorts {
        let rows = vec![
            pointage(KARIM, date!(2026 - 12 - 08), "8:00"),
            pointage(KARIM, date!(2026 - 12 - 07), "7:00"),
            pointage(LEA, date!(2026 - 12 - 07), "6:00"),
        ];
        let mut repo = MockPointageRepository::new();
        repo.expect_list()
            .returning(move |_, _| Ok((rows.clone(), 3)));
        repo.expect_publish().returning(move |events| {
            published.lock().unwrap().extend(events.iter().cloned());
            Ok(())
        });
        let mut directory = MockDirectory::new();
        directory.expect_names().returning(|_, _| {
            Ok(Noms {
                utilisateurs: [(KARIM, "Karim B".to_owned()), (LEA, "Anne L".to_owned())]
                    .into_iter()
                    .collect(),
                chantiers: Default::default(),
            })
        });
        PointagesPorts {
            pointages: Arc::new(repo),
            directory: Arc::new(directory),
            clock: Arc::new(FixedClock(datetime!(2026-12-12 10:00 UTC))),
        }
    }

    fn input() -> ExportInput {
        ExportInput {
            semaine: Semaine::contenant(date!(2026 - 12 - 07)),
            chantier_id: None,
            utilisateur_ids: vec![],
            format: FormatExport::Csv,
        }
    }

    #[tokio::test]
    async fn an_export_groups_per_user_with_totals_and_publishes_one_event() {
        let published = Arc::default();
        let admin = CommandContext::user(
            Actor {
                user_id: ADMIN,
                role: Role::Admin,
            },
            Some("req-9".to_owned()),
        );
        let export = ExportSemaine(ports(Arc::clone(&published)))
            .execute(&admin, input())
            .await
            .unwrap();
        // By name: Anne L (LEA) first.
        assert_eq!(export.utilisateurs[0].utilisateur_id, LEA);
        let karim = &export.utilisateurs[1];
        assert_eq!(karim.pointages[0].date(), date!(2026 - 12 - 07));
        assert_eq!(karim.totaux.total().to_string(), "16:00");
        assert_eq!(export.totaux.total().to_string(), "22:30");
        let events = published.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type.as_str(), "feuille_heures.exported");
        assert_eq!(events[0].aggregate_id, export.export_id.to_string());
        assert_eq!(events[0].data["semaine"], "2026-W50");
        assert_eq!(events[0].data["format"], "csv");
        assert_eq!(events[0].data["exported_by"], ADMIN.to_string());
        assert_eq!(events[0].correlation_id.as_deref(), Some("req-9"));
    }

    #[tokio::test]
    async fn a_chef_or_a_compagnon_cannot_export_and_nothing_is_published() {
        let published: Arc<Mutex<Vec<EventEnvelope>>> = Arc::default();
        for role in [Role::ChefChantier, Role::Compagnon] {
            let context = CommandContext::user(
                Actor {
                    user_id: KARIM,
                    role,
                },
                None,
            );
            let refused = ExportSemaine(ports(Arc::clone(&published)))
                .execute(&context, input())
                .await;
            assert!(matches!(refused, Err(PointagesError::Forbidden(_))));
        }
        assert!(published.lock().unwrap().is_empty());
    }
}
