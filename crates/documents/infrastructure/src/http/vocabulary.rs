//! The closed vocabularies of the documents API as OpenAPI enums, built from
//! the domain's own lists, so that a generated client sends only what the
//! server accepts and the two cannot drift.

use std::borrow::Cow;

use hub_documents_domain::{DossierType, NiveauAcces, TypeAutorisation, TypeDocument};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

fn string_enum(values: Vec<&'static str>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $values:expr, $description:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($values, $description)
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($schema_name)
            }
        }
    };
}

vocabulary!(
    /// The minimum role that sees a dossier or document.
    NiveauAccesDto,
    "NiveauAcces",
    NiveauAcces::ALL.iter().map(|n| n.as_str()).collect(),
    "The minimum role that sees it (case is ignored)."
);
vocabulary!(
    /// A document's own level, or `""` to inherit its dossier's again.
    NiveauAccesOuHeriteDto,
    "NiveauAccesOuHerite",
    NiveauAcces::ALL
        .iter()
        .map(|n| n.as_str())
        .chain([""])
        .collect(),
    "The document's own level, or `\"\"` to inherit its dossier's again."
);
vocabulary!(
    /// What a named autorisation grants (levels nest).
    TypeAutorisationDto,
    "TypeAutorisation",
    TypeAutorisation::ALL.iter().map(|t| t.as_str()).collect(),
    "What it grants: `lecture` < `ecriture` < `admin`."
);
vocabulary!(
    /// The kind of a document, from its extension.
    TypeDocumentDto,
    "TypeDocument",
    TypeDocument::ALL.iter().map(|t| t.as_str()).collect(),
    "The kind of document, from its extension."
);
vocabulary!(
    /// One of the seven standard dossiers, or `custom`.
    DossierTypeDto,
    "DossierType",
    DossierType::STANDARD
        .iter()
        .chain([&DossierType::Custom])
        .map(|t| t.as_str())
        .collect(),
    "One of the seven standard dossiers, or `custom`."
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The `enum` values the document publishes for `T`.
    fn published<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("an enum schema: {schema}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_published_value_is_one_the_server_parses() {
        for value in published::<NiveauAccesDto>() {
            assert!(value.parse::<NiveauAcces>().is_ok(), "{value}");
        }
        let herite = published::<NiveauAccesOuHeriteDto>();
        assert_eq!(herite.last().map(String::as_str), Some(""));
        for value in published::<TypeAutorisationDto>() {
            assert!(value.parse::<TypeAutorisation>().is_ok(), "{value}");
        }
        for value in published::<TypeDocumentDto>() {
            assert!(value.parse::<TypeDocument>().is_ok(), "{value}");
        }
        let dossiers = published::<DossierTypeDto>();
        assert_eq!(dossiers.len(), 8);
        for value in dossiers {
            assert!(value.parse::<DossierType>().is_ok(), "{value}");
        }
    }
}
