//! Events of the documents context (catalog: `docs/EVENTS.md`, section
//! documents). Every one carries `chantier_id` (webhook scoping).

use hub_kernel::{Changes, DomainEvent, EventTypeInfo};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{DossierType, NiveauAcces, TypeAutorisation, TypeDocument};

fn optional_instant(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["string", "null"], "format": "date-time"})
}

/// `document.uploaded`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::uploaded())]
pub struct DocumentUploaded {
    /// The document.
    pub document_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// The dossier it was uploaded into.
    pub dossier_id: Uuid,
    /// Its name in the dossier (the client's file name, numbered when taken).
    pub nom: String,
    /// `pdf`, `image`, `excel`, `word`, `video` or `autre`, from its extension.
    pub type_document: TypeDocument,
    /// The MIME type the server gives it, from its extension.
    pub mime_type: String,
    /// Its size in bytes, as measured while it was stored.
    pub taille_octets: u64,
    /// The SHA-256 of its bytes (64 lower-case hex characters).
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: Uuid,
}

/// `document.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::updated())]
pub struct DocumentUpdated {
    /// The document.
    pub document_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its dossier after the change.
    pub dossier_id: Uuid,
    /// Its name after the change.
    pub nom: String,
    /// Who changed it.
    pub updated_by: Uuid,
    /// What changed, among `nom`, `description`, `dossier_id`, `niveau_acces`.
    pub changes: Changes,
}

/// `document.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::deleted())]
pub struct DocumentDeleted {
    /// The document.
    pub document_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// The dossier it was in.
    pub dossier_id: Uuid,
    /// Its name.
    pub nom: String,
    /// Its size in bytes.
    pub taille_octets: u64,
    /// The SHA-256 of its bytes.
    pub sha256: String,
    /// Who deleted it (directly, or with its dossier).
    pub deleted_by: Uuid,
}

/// `dossier.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::dossier_created())]
pub struct DossierCreated {
    /// The dossier.
    pub dossier_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its name.
    pub nom: String,
    /// `01_plans` … `07_livraisons` for the standard tree, else `custom`.
    pub type_dossier: DossierType,
    /// The minimum role that sees it.
    pub niveau_acces: NiveauAcces,
    /// Its parent dossier; null at the root.
    pub parent_id: Option<Uuid>,
}

/// `dossier.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::dossier_updated())]
pub struct DossierUpdated {
    /// The dossier.
    pub dossier_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its name after the change.
    pub nom: String,
    /// Its type.
    pub type_dossier: DossierType,
    /// Its level after the change.
    pub niveau_acces: NiveauAcces,
    /// Its parent after the change; null at the root.
    pub parent_id: Option<Uuid>,
    /// Who changed it.
    pub updated_by: Uuid,
    /// What changed, among `nom`, `niveau_acces`, `parent_id`.
    pub changes: Changes,
}

/// `dossier.deleted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::dossier_deleted())]
pub struct DossierDeleted {
    /// The dossier (a forced delete also removes its sub-dossiers, each
    /// with its own event, and its documents, each with `document.deleted`).
    pub dossier_id: Uuid,
    /// Its chantier.
    pub chantier_id: Uuid,
    /// Its name.
    pub nom: String,
    /// Who deleted it.
    pub deleted_by: Uuid,
}

/// `document_autorisation.granted`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::granted())]
pub struct AutorisationGranted {
    /// The autorisation.
    pub autorisation_id: Uuid,
    /// The chantier of its target.
    pub chantier_id: Uuid,
    /// Who receives it.
    pub user_id: Uuid,
    /// `lecture`, `ecriture` or `admin` (levels nest).
    pub type_autorisation: TypeAutorisation,
    /// Its target when it is a dossier (covers the dossier's own documents).
    pub dossier_id: Option<Uuid>,
    /// Its target when it is a document.
    pub document_id: Option<Uuid>,
    /// Who granted it.
    pub accorde_par: Uuid,
    /// When it stops being valid (RFC 3339, UTC); null = never.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "optional_instant")]
    pub expire_at: Option<OffsetDateTime>,
}

/// `document_autorisation.revoked`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::revoked())]
pub struct AutorisationRevoked {
    /// The autorisation.
    pub autorisation_id: Uuid,
    /// The chantier of its target.
    pub chantier_id: Uuid,
    /// Who held it.
    pub user_id: Uuid,
    /// Its target when it was a dossier.
    pub dossier_id: Option<Uuid>,
    /// Its target when it was a document.
    pub document_id: Option<Uuid>,
    /// Who revoked it.
    pub revoked_by: Uuid,
}

/// The examples of the catalog: the plans of one site.
mod examples {
    use super::*;
    use time::macros::datetime;

    const CHANTIER: Uuid = Uuid::from_u128(0x0193_b1c4_2d6e_7f80_9a1b_3c5d_7e9f_0a2b);
    const DOSSIER: Uuid = Uuid::from_u128(0x0193_c0d1_1a2b_7c3d_8e4f_5a6b_7c8d_9e0f);
    const SOUS_DOSSIER: Uuid = Uuid::from_u128(0x0193_c0d1_2b3c_7d4e_9f5a_6b7c_8d9e_0f1a);
    const DOCUMENT: Uuid = Uuid::from_u128(0x0193_c0d2_3c4d_7e5f_8a6b_7c8d_9e0f_1a2b);
    const AUTORISATION: Uuid = Uuid::from_u128(0x0193_c0d3_4d5e_7f6a_9b7c_8d9e_0f1a_2b3c);
    const KARIM_CHEF: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7d43_ae5f_6a8b_9c0d_1e3f);
    const JULIEN_CONDUCTEUR: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7b21_9c3e_5f7a_8b9c_0d2e);
    const LUCAS_COMPAGNON: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7e54_bf6a_7b9c_0d1e_2f4a);
    const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const NOM: &str = "Plan RDC indice B.pdf";

    pub(super) fn uploaded() -> DocumentUploaded {
        DocumentUploaded {
            document_id: DOCUMENT,
            chantier_id: CHANTIER,
            dossier_id: DOSSIER,
            nom: NOM.into(),
            type_document: TypeDocument::Pdf,
            mime_type: "application/pdf".into(),
            taille_octets: 2_457_600,
            sha256: SHA256.into(),
            uploaded_by: KARIM_CHEF,
        }
    }

    pub(super) fn updated() -> DocumentUpdated {
        let mut changes = Changes::new();
        changes.record("dossier_id", &DOSSIER, &SOUS_DOSSIER);
        DocumentUpdated {
            document_id: DOCUMENT,
            chantier_id: CHANTIER,
            dossier_id: SOUS_DOSSIER,
            nom: NOM.into(),
            updated_by: JULIEN_CONDUCTEUR,
            changes,
        }
    }

    pub(super) fn deleted() -> DocumentDeleted {
        DocumentDeleted {
            document_id: DOCUMENT,
            chantier_id: CHANTIER,
            dossier_id: SOUS_DOSSIER,
            nom: NOM.into(),
            taille_octets: 2_457_600,
            sha256: SHA256.into(),
            deleted_by: JULIEN_CONDUCTEUR,
        }
    }

    pub(super) fn dossier_created() -> DossierCreated {
        DossierCreated {
            dossier_id: DOSSIER,
            chantier_id: CHANTIER,
            nom: "Plans".into(),
            type_dossier: DossierType::Plans,
            niveau_acces: NiveauAcces::Compagnon,
            parent_id: None,
        }
    }

    pub(super) fn dossier_updated() -> DossierUpdated {
        let mut changes = Changes::new();
        changes.record("nom", &"Lots techniques", &"Plans techniques");
        DossierUpdated {
            dossier_id: SOUS_DOSSIER,
            chantier_id: CHANTIER,
            nom: "Plans techniques".into(),
            type_dossier: DossierType::Custom,
            niveau_acces: NiveauAcces::ChefChantier,
            parent_id: Some(DOSSIER),
            updated_by: JULIEN_CONDUCTEUR,
            changes,
        }
    }

    pub(super) fn dossier_deleted() -> DossierDeleted {
        DossierDeleted {
            dossier_id: SOUS_DOSSIER,
            chantier_id: CHANTIER,
            nom: "Plans techniques".into(),
            deleted_by: JULIEN_CONDUCTEUR,
        }
    }

    pub(super) fn granted() -> AutorisationGranted {
        AutorisationGranted {
            autorisation_id: AUTORISATION,
            chantier_id: CHANTIER,
            user_id: LUCAS_COMPAGNON,
            type_autorisation: TypeAutorisation::Lecture,
            dossier_id: Some(SOUS_DOSSIER),
            document_id: None,
            accorde_par: JULIEN_CONDUCTEUR,
            expire_at: Some(datetime!(2027-01-31 23:00 UTC)),
        }
    }

    pub(super) fn revoked() -> AutorisationRevoked {
        AutorisationRevoked {
            autorisation_id: AUTORISATION,
            chantier_id: CHANTIER,
            user_id: LUCAS_COMPAGNON,
            dossier_id: Some(SOUS_DOSSIER),
            document_id: None,
            revoked_by: JULIEN_CONDUCTEUR,
        }
    }
}

macro_rules! event {
    ($event:ty, $name:literal, $aggregate:literal, $id:ident) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                $aggregate
            }
            fn aggregate_id(&self) -> String {
                self.$id.to_string()
            }
        }
    };
}

event!(
    DocumentUploaded,
    "document.uploaded",
    "document",
    document_id
);
event!(DocumentUpdated, "document.updated", "document", document_id);
event!(DocumentDeleted, "document.deleted", "document", document_id);
event!(DossierCreated, "dossier.created", "dossier", dossier_id);
event!(DossierUpdated, "dossier.updated", "dossier", dossier_id);
event!(DossierDeleted, "dossier.deleted", "dossier", dossier_id);
event!(
    AutorisationGranted,
    "document_autorisation.granted",
    "autorisation",
    autorisation_id
);
event!(
    AutorisationRevoked,
    "document_autorisation.revoked",
    "autorisation",
    autorisation_id
);

/// The documents events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<DocumentUploaded>(
            "document.uploaded",
            "document",
            "A file was uploaded into a dossier; its bytes are stored and their size and SHA-256 are given.",
        ),
        EventTypeInfo::of::<DocumentUpdated>(
            "document.updated",
            "document",
            "A document was renamed, described, moved to another dossier of its chantier or given another access level; `changes` lists what changed. Its bytes never change.",
        ),
        EventTypeInfo::of::<DocumentDeleted>(
            "document.deleted",
            "document",
            "A document was deleted, alone or with its dossier; its bytes are removed from the store.",
        ),
        EventTypeInfo::of::<DossierCreated>(
            "dossier.created",
            "dossier",
            "A dossier was created on a chantier, by hand or by the standard tree (one event per folder).",
        ),
        EventTypeInfo::of::<DossierUpdated>(
            "dossier.updated",
            "dossier",
            "A dossier was renamed, moved or given another access level; `changes` lists what changed.",
        ),
        EventTypeInfo::of::<DossierDeleted>(
            "dossier.deleted",
            "dossier",
            "A dossier was deleted (a forced delete publishes one per sub-dossier and a `document.deleted` per document).",
        ),
        EventTypeInfo::of::<AutorisationGranted>(
            "document_autorisation.granted",
            "autorisation",
            "A user received a named right (lecture, ecriture, admin) on a dossier or a document, possibly until a date.",
        ),
        EventTypeInfo::of::<AutorisationRevoked>(
            "document_autorisation.revoked",
            "autorisation",
            "A named right on a dossier or a document was withdrawn.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_lists_each_type_with_its_aggregate() {
        let catalog = event_catalog();
        let types: Vec<_> = catalog.iter().map(|info| info.event_type).collect();
        assert_eq!(
            types,
            [
                "document.uploaded",
                "document.updated",
                "document.deleted",
                "dossier.created",
                "dossier.updated",
                "dossier.deleted",
                "document_autorisation.granted",
                "document_autorisation.revoked"
            ]
        );
        let uploaded = &catalog[0].data_schema;
        assert_eq!(uploaded["properties"]["taille_octets"]["type"], "integer");
        assert!(uploaded["examples"].is_array());
        let data = serde_json::to_value(examples::uploaded()).unwrap();
        assert_eq!(data["type_document"], "pdf");
        assert_eq!(examples::uploaded().event_type(), "document.uploaded");
        let granted = serde_json::to_value(examples::granted()).unwrap();
        assert_eq!(granted["expire_at"], "2027-01-31T23:00:00Z");
        assert_eq!(granted["type_autorisation"], "lecture");
        // Webhook bodies name the aggregate by `{aggregate_type}_id` in `data`.
        for info in &catalog {
            let example = &info.data_schema["examples"][0];
            let id_field = format!("{}_id", info.aggregate_type);
            assert!(example[&id_field].is_string(), "{}", info.event_type);
        }
        let created = serde_json::to_value(examples::dossier_created()).unwrap();
        assert_eq!(created["type_dossier"], "01_plans");
        assert_eq!(created["niveau_acces"], "compagnon");
    }
}
