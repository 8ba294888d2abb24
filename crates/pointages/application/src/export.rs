//! The export of one ISO week for payroll: every pointage the exporter may
//! see that week (one site, some users, or all), grouped per user with the
//! user's totals, and `feuille_heures.exported` stored in the outbox. The
//! file itself (CSV, XLSX) is the adapter's: this builds what goes in it.

use std::collections::{HashMap, VecDeque};

use hub_kernel::{CommandContext, Page, Role};
use hub_pointages_domain::{
    FeuilleHeuresExported, FormatExport, Pointage, Semaine, Statut, Totaux, TotauxVariables,
    VariablePaie,
};
use uuid::Uuid;

use crate::ports::PointageFilter;
use crate::use_cases::{PointagesError, PointagesPorts};

const EXPORT: &str = "only an administrator or a conducteur may export hours";

/// How many users' weeks one step of an export loads: what bounds its
/// memory (a user has at most a few dozen pointages a week), whatever the
/// size of the week.
pub const EXPORT_USERS_PER_STEP: usize = 50;

/// The most pointages one step reads from one query; a step pages through
/// more if its users ever have them.
const STEP_ROWS: u64 = 10_000;

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportInput {
    pub semaine: Semaine,
    /// One site, or every site the exporter may see.
    pub chantier_id: Option<Uuid>,
    /// Some users, or (empty) all.
    pub utilisateur_ids: Vec<Uuid>,
    pub format: FormatExport,
    /// Each pointage's variables de paie, and their totals, go in the file.
    pub inclure_variables_paie: bool,
}

/// One line of an export file, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LigneExport {
    /// One pointage, with the names shown next to its ids.
    Pointage {
        pointage: Box<Pointage>,
        utilisateur_nom: String,
        chantier_nom: String,
        /// Its variables de paie (none when the export leaves them out).
        variables: Vec<VariablePaie>,
    },
    /// Closes a user's lines: the sums of exactly those lines.
    TotalUtilisateur {
        utilisateur_id: Uuid,
        utilisateur_nom: String,
        totaux: Totaux,
        variables: TotauxVariables,
    },
    /// The last line: the sums of every pointage line.
    TotalSemaine {
        totaux: Totaux,
        variables: TotauxVariables,
    },
}

/// An export under way: its lines come step by step
/// ([`Export::next_lines`]), a batch of users at a time, users by name, a
/// user's pointages by date then chantier name. Totals are summed from the
/// lines as they go by, so a file always adds up.
pub struct Export {
    pub export_id: Uuid,
    pub semaine: Semaine,
    pub format: FormatExport,
    /// Whether the lines carry their variables de paie.
    pub inclure_variables_paie: bool,
    ports: PointagesPorts,
    /// The week, the site and the exporter's scope.
    filter: PointageFilter,
    /// The users still to export, by name then id.
    utilisateurs: VecDeque<(Uuid, String)>,
    totaux: Totaux,
    variables: TotauxVariables,
    done: bool,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("export_id", &self.export_id)
            .field("semaine", &self.semaine)
            .field("remaining_users", &self.utilisateurs.len())
            .finish_non_exhaustive()
    }
}

impl Export {
    /// The next lines of the file: the pointages and totals of the next
    /// batch of users, then the week's total, then `None`.
    pub async fn next_lines(&mut self) -> Result<Option<Vec<LigneExport>>, PointagesError> {
        if self.done {
            return Ok(None);
        }
        if self.utilisateurs.is_empty() {
            self.done = true;
            return Ok(Some(vec![LigneExport::TotalSemaine {
                totaux: self.totaux,
                variables: self.variables,
            }]));
        }
        let take = self.utilisateurs.len().min(EXPORT_USERS_PER_STEP);
        let batch: Vec<(Uuid, String)> = self.utilisateurs.drain(..take).collect();
        let filter = PointageFilter {
            utilisateur_ids: batch.iter().map(|(id, _)| *id).collect(),
            ..self.filter.clone()
        };
        let mut rows = Vec::new();
        loop {
            let page = Page {
                skip: rows.len() as u64,
                limit: STEP_ROWS,
            };
            let (found, _) = self.ports.pointages.list(&filter, page).await?;
            let last = (found.len() as u64) < STEP_ROWS;
            rows.extend(found);
            if last {
                break;
            }
        }
        let mut chantiers: Vec<Uuid> = rows.iter().map(Pointage::chantier_id).collect();
        chantiers.sort_unstable();
        chantiers.dedup();
        let noms = self.ports.directory.names(&[], &chantiers).await?;
        let mut variables: HashMap<Uuid, Vec<VariablePaie>> = HashMap::new();
        if self.inclure_variables_paie {
            // One read per step, as the pointages.
            for variable in self.ports.variables_of(&rows).await? {
                variables
                    .entry(variable.pointage_id)
                    .or_default()
                    .push(variable);
            }
        }
        let mut lines = Vec::with_capacity(rows.len() + batch.len());
        let mut par_utilisateur: HashMap<Uuid, Vec<(Pointage, String)>> = HashMap::new();
        for pointage in rows {
            let chantier_nom = noms.chantier(pointage.chantier_id());
            par_utilisateur
                .entry(pointage.utilisateur_id())
                .or_default()
                .push((pointage, chantier_nom));
        }
        for (utilisateur_id, utilisateur_nom) in batch {
            let mut siennes = par_utilisateur.remove(&utilisateur_id).unwrap_or_default();
            siennes.sort_by(|(a, nom_a), (b, nom_b)| {
                (a.date(), nom_a, a.id()).cmp(&(b.date(), nom_b, b.id()))
            });
            let mut totaux = Totaux::default();
            let mut totaux_variables = TotauxVariables::default();
            for (pointage, chantier_nom) in siennes {
                totaux.add(self.semaine, &pointage);
                self.totaux.add(self.semaine, &pointage);
                let siennes = variables.remove(&pointage.id()).unwrap_or_default();
                for variable in &siennes {
                    totaux_variables.add(variable);
                    self.variables.add(variable);
                }
                lines.push(LigneExport::Pointage {
                    pointage: Box::new(pointage),
                    utilisateur_nom: utilisateur_nom.clone(),
                    chantier_nom,
                    variables: siennes,
                });
            }
            lines.push(LigneExport::TotalUtilisateur {
                utilisateur_id,
                utilisateur_nom,
                totaux,
                variables: totaux_variables,
            });
        }
        Ok(Some(lines))
    }
}

hub_kernel::use_cases! {
    PointagesPorts;
    /// Starts the export of a week: an admin everything, a conducteur the
    /// hours of his chantiers (and his own); other roles are refused (CDC
    /// §3.3). The ERP format takes the validated hours only (it has no statut
    /// column: what it carries is paid); CSV and XLSX every statut, shown.
    /// Publishes `feuille_heures.exported` once, when the export starts; the
    /// lines are then read step by step as the file is sent.
    ExportSemaine,
}

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
        let ports = &self.ports;
        let filter = PointageFilter {
            chantier_id: input.chantier_id,
            utilisateur_ids: input.utilisateur_ids.clone(),
            date_debut: Some(input.semaine.lundi()),
            date_fin: Some(input.semaine.dimanche()),
            statut: (input.format == FormatExport::Erp).then_some(Statut::Valide),
            ..PointageFilter::default()
        };
        let filter = ports.scoped(&actor, filter).await?;
        let ids = ports.pointages.utilisateurs(&filter).await?;
        let noms = ports.directory.names(&ids, &[]).await?;
        let mut utilisateurs: Vec<(Uuid, String)> = ids
            .into_iter()
            .map(|id| (id, noms.utilisateur(id)))
            .collect();
        utilisateurs.sort_by(|(a, nom_a), (b, nom_b)| (nom_a, a).cmp(&(nom_b, b)));
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
            inclure_variables_paie: input.inclure_variables_paie,
            ports: ports.clone(),
            filter: PointageFilter {
                // Batches name their users; the input's list is in `ids`.
                utilisateur_ids: Vec::new(),
                ..filter
            },
            utilisateurs: utilisateurs.into(),
            totaux: Totaux::default(),
            variables: TotauxVariables::default(),
            done: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::ports::{MockDirectory, MockPointageRepository, Noms};
    use hub_kernel::{Actor, EventEnvelope, FixedClock};
    use hub_pointages_domain::{HeuresMinutes, NouveauPointage};
    use time::macros::{date, datetime};

    const ADMIN: Uuid = Uuid::from_u128(9);
    const KARIM: Uuid = Uuid::from_u128(1);
    const LEA: Uuid = Uuid::from_u128(2);
    const SITE: Uuid = Uuid::from_u128(10);
    const AUTRE: Uuid = Uuid::from_u128(11);

    fn pointage(user: Uuid, site: Uuid, date: time::Date, normales: &str) -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: user,
                chantier_id: site,
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

    /// `users` users with pointages on two sites; the repository answers
    /// what each filter selects and records the filters of `list`.
    fn ports(
        rows: Vec<Pointage>,
        published: Arc<Mutex<Vec<EventEnvelope>>>,
        lists: Arc<Mutex<Vec<PointageFilter>>>,
    ) -> PointagesPorts {
        let mut repo = MockPointageRepository::new();
        let all = rows.clone();
        repo.expect_utilisateurs().returning(move |filter| {
            let mut ids: Vec<Uuid> = all
                .iter()
                .filter(|p| filter.statut.is_none_or(|s| s == p.statut()))
                .map(Pointage::utilisateur_id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        });
        repo.expect_list().returning(move |filter, page| {
            lists.lock().unwrap().push(filter.clone());
            let selected: Vec<Pointage> = rows
                .iter()
                .filter(|p| filter.utilisateur_ids.contains(&p.utilisateur_id()))
                .filter(|p| filter.statut.is_none_or(|s| s == p.statut()))
                .skip(page.skip as usize)
                .take(page.limit as usize)
                .cloned()
                .collect();
            let total = selected.len() as u64;
            Ok((selected, total))
        });
        repo.expect_publish().returning(move |events| {
            published.lock().unwrap().extend(events.iter().cloned());
            Ok(())
        });
        let mut directory = MockDirectory::new();
        directory.expect_names().returning(|users, chantiers| {
            let mut noms = Noms::default();
            for user in users {
                if *user == KARIM {
                    noms.utilisateurs.insert(KARIM, "Karim B".to_owned());
                } else if *user == LEA {
                    noms.utilisateurs.insert(LEA, "Anne L".to_owned());
                }
            }
            for chantier in chantiers {
                if *chantier == SITE {
                    noms.chantiers.insert(SITE, "Tour B".to_owned());
                } else if *chantier == AUTRE {
                    noms.chantiers.insert(AUTRE, "Avenue A".to_owned());
                }
            }
            Ok(noms)
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
            inclure_variables_paie: false,
        }
    }

    fn admin() -> CommandContext {
        CommandContext::user(
            Actor {
                user_id: ADMIN,
                role: Role::Admin,
            },
            Some("req-9".to_owned()),
        )
    }

    async fn all_lines(export: &mut Export) -> Vec<LigneExport> {
        let mut lines = Vec::new();
        while let Some(step) = export.next_lines().await.unwrap() {
            lines.extend(step);
        }
        lines
    }

    #[tokio::test]
    async fn an_export_groups_per_user_with_totals_and_publishes_one_event() {
        let published = Arc::default();
        let rows = vec![
            pointage(KARIM, SITE, date!(2026 - 12 - 08), "8:00"),
            pointage(KARIM, SITE, date!(2026 - 12 - 07), "7:00"),
            pointage(KARIM, AUTRE, date!(2026 - 12 - 07), "1:00"),
            pointage(LEA, SITE, date!(2026 - 12 - 07), "6:00"),
        ];
        let mut export = ExportSemaine::new(ports(rows, Arc::clone(&published), Arc::default()))
            .execute(&admin(), input())
            .await
            .unwrap();
        // Published when the export starts, once.
        assert_eq!(published.lock().unwrap().len(), 1);
        let lines = all_lines(&mut export).await;
        let shown: Vec<String> = lines
            .iter()
            .map(|line| match line {
                LigneExport::Pointage {
                    pointage,
                    utilisateur_nom,
                    chantier_nom,
                    ..
                } => format!("{utilisateur_nom} {} {chantier_nom}", pointage.date()),
                LigneExport::TotalUtilisateur {
                    utilisateur_nom,
                    totaux,
                    ..
                } => format!("total {utilisateur_nom} {}", totaux.total()),
                LigneExport::TotalSemaine { totaux, .. } => {
                    format!("semaine {}", totaux.total())
                }
            })
            .collect();
        // By name (Anne L first), then date, then chantier name.
        assert_eq!(
            shown,
            [
                "Anne L 2026-12-07 Tour B",
                "total Anne L 06:30",
                "Karim B 2026-12-07 Avenue A",
                "Karim B 2026-12-07 Tour B",
                "Karim B 2026-12-08 Tour B",
                "total Karim B 17:30",
                "semaine 24:00",
            ]
        );
        assert!(export.next_lines().await.unwrap().is_none());
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
    async fn a_large_week_is_read_a_batch_of_users_at_a_time() {
        let users: Vec<Uuid> = (100..100 + 2 * EXPORT_USERS_PER_STEP as u128 + 1)
            .map(Uuid::from_u128)
            .collect();
        let rows: Vec<Pointage> = users
            .iter()
            .map(|user| pointage(*user, SITE, date!(2026 - 12 - 09), "7:00"))
            .collect();
        let lists: Arc<Mutex<Vec<PointageFilter>>> = Arc::default();
        let mut export = ExportSemaine::new(ports(rows, Arc::default(), Arc::clone(&lists)))
            .execute(&admin(), input())
            .await
            .unwrap();
        let lines = all_lines(&mut export).await;
        // One pointage and one total per user, the week's total last.
        assert_eq!(lines.len(), 2 * users.len() + 1);
        assert_eq!(
            lines.last(),
            Some(&LigneExport::TotalSemaine {
                totaux: Totaux {
                    heures_normales: HeuresMinutes::from_minutes(420 * users.len() as i64).unwrap(),
                    heures_supplementaires: HeuresMinutes::from_minutes(30 * users.len() as i64)
                        .unwrap(),
                    par_jour: {
                        let mut jours = [HeuresMinutes::default(); 7];
                        jours[2] = HeuresMinutes::from_minutes(450 * users.len() as i64).unwrap();
                        jours
                    },
                },
                variables: TotauxVariables::default(),
            })
        );
        let lists = lists.lock().unwrap();
        assert_eq!(lists.len(), 3);
        assert!(
            lists
                .iter()
                .all(|f| f.utilisateur_ids.len() <= EXPORT_USERS_PER_STEP
                    && f.date_debut == Some(date!(2026 - 12 - 07))
                    && f.date_fin == Some(date!(2026 - 12 - 13)))
        );
    }

    #[tokio::test]
    async fn an_empty_week_still_has_its_total_line() {
        let mut export = ExportSemaine::new(ports(vec![], Arc::default(), Arc::default()))
            .execute(&admin(), input())
            .await
            .unwrap();
        assert_eq!(
            all_lines(&mut export).await,
            [LigneExport::TotalSemaine {
                totaux: Totaux::default(),
                variables: TotauxVariables::default(),
            }]
        );
    }

    #[tokio::test]
    async fn an_erp_export_takes_the_validated_hours_only() {
        let mut valide = pointage(KARIM, SITE, date!(2026 - 12 - 08), "8:00");
        valide.submit(datetime!(2026-12-08 18:00 UTC)).unwrap();
        valide
            .validate(ADMIN, datetime!(2026-12-09 08:00 UTC))
            .unwrap();
        let rows = vec![
            valide.clone(),
            pointage(KARIM, AUTRE, date!(2026 - 12 - 09), "7:00"),
            pointage(LEA, SITE, date!(2026 - 12 - 07), "6:00"),
        ];
        let lists: Arc<Mutex<Vec<PointageFilter>>> = Arc::default();
        let mut export = ExportSemaine::new(ports(rows, Arc::default(), Arc::clone(&lists)))
            .execute(
                &admin(),
                ExportInput {
                    format: FormatExport::Erp,
                    ..input()
                },
            )
            .await
            .unwrap();
        let lines = all_lines(&mut export).await;
        let pointages: Vec<Uuid> = lines
            .iter()
            .filter_map(|line| match line {
                LigneExport::Pointage { pointage, .. } => Some(pointage.id()),
                _ => None,
            })
            .collect();
        // Léa has nothing validated: not even a total line for her.
        assert_eq!(pointages, [valide.id()]);
        assert_eq!(lines.len(), 3);
        assert!(
            lists
                .lock()
                .unwrap()
                .iter()
                .all(|f| f.statut == Some(Statut::Valide))
        );
    }

    #[tokio::test]
    async fn variables_come_with_their_pointages_and_are_summed_per_user_and_week() {
        use hub_pointages_domain::{NouvelleVariable, TypeVariable, Valeur};
        let karim = pointage(KARIM, SITE, date!(2026 - 12 - 07), "8:00");
        let lea = pointage(LEA, SITE, date!(2026 - 12 - 07), "8:00");
        let variable = |p: &Pointage, valeur: &str| {
            VariablePaie::create(
                p,
                NouvelleVariable {
                    type_variable: TypeVariable::PanierRepas,
                    valeur: Valeur::parse(valeur).unwrap(),
                    date_application: p.date(),
                    commentaire: None,
                },
                None,
                datetime!(2026-12-07 18:00 UTC),
            )
            .unwrap()
            .0
        };
        let variables = [
            variable(&karim, "9.40"),
            variable(&karim, "1.10"),
            variable(&lea, "9.40"),
        ];
        let mut ports = ports(
            vec![karim.clone(), lea.clone()],
            Arc::default(),
            Arc::default(),
        );
        let mut repo = MockPointageRepository::new();
        let all = [karim.clone(), lea.clone()];
        repo.expect_utilisateurs()
            .returning(|_| Ok(vec![KARIM, LEA]));
        repo.expect_list().returning(move |filter, _| {
            let found: Vec<Pointage> = all
                .iter()
                .filter(|p| filter.utilisateur_ids.contains(&p.utilisateur_id()))
                .cloned()
                .collect();
            let total = found.len() as u64;
            Ok((found, total))
        });
        repo.expect_publish().returning(|_| Ok(()));
        repo.expect_variables().times(1).returning(move |ids| {
            Ok(variables
                .iter()
                .filter(|v| ids.contains(&v.pointage_id))
                .cloned()
                .collect())
        });
        ports.pointages = Arc::new(repo);
        let mut export = ExportSemaine::new(ports)
            .execute(
                &admin(),
                ExportInput {
                    inclure_variables_paie: true,
                    ..input()
                },
            )
            .await
            .unwrap();
        let lines = all_lines(&mut export).await;
        let shown: Vec<String> = lines
            .iter()
            .map(|line| match line {
                LigneExport::Pointage {
                    utilisateur_nom,
                    variables,
                    ..
                } => format!("{utilisateur_nom} {}", variables.len()),
                LigneExport::TotalUtilisateur {
                    utilisateur_nom,
                    variables,
                    ..
                } => format!(
                    "total {utilisateur_nom} {}",
                    variables.of(TypeVariable::PanierRepas)
                ),
                LigneExport::TotalSemaine { variables, .. } => {
                    format!("semaine {}", variables.of(TypeVariable::PanierRepas))
                }
            })
            .collect();
        assert_eq!(
            shown,
            [
                "Anne L 1",
                "total Anne L 9.40",
                "Karim B 2",
                "total Karim B 10.50",
                "semaine 19.90",
            ]
        );
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
            let refused = ExportSemaine::new(ports(vec![], Arc::clone(&published), Arc::default()))
                .execute(&context, input())
                .await;
            assert!(matches!(refused, Err(PointagesError::Forbidden(_))));
        }
        assert!(published.lock().unwrap().is_empty());
    }
}
