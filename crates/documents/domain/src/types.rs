//! The kinds of documents (from their extension) and of dossiers (the
//! standard tree of a chantier).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::NiveauAcces;

/// The kind of a document, taken from its extension at upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeDocument {
    Pdf,
    Image,
    Excel,
    Word,
    Video,
    /// A name without an extension.
    Autre,
}

/// An extension outside the upload allow-list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported file type: {0}")]
pub struct ExtensionRefusee(pub String);

/// An unknown `type_document` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown document type `{0}` (expected pdf, image, excel, word, video or autre)")]
pub struct UnknownTypeDocument(pub String);

impl TypeDocument {
    pub const ALL: [TypeDocument; 6] = [
        TypeDocument::Pdf,
        TypeDocument::Image,
        TypeDocument::Excel,
        TypeDocument::Word,
        TypeDocument::Video,
        TypeDocument::Autre,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TypeDocument::Pdf => "pdf",
            TypeDocument::Image => "image",
            TypeDocument::Excel => "excel",
            TypeDocument::Word => "word",
            TypeDocument::Video => "video",
            TypeDocument::Autre => "autre",
        }
    }

    /// Its extensions (with the dot, lower case); their union is the upload
    /// allow-list.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            TypeDocument::Pdf => &[".pdf"],
            TypeDocument::Image => &[".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"],
            TypeDocument::Excel => &[".xls", ".xlsx", ".csv"],
            TypeDocument::Word => &[".doc", ".docx", ".odt"],
            TypeDocument::Video => &[".mp4", ".avi", ".mov", ".mkv", ".webm"],
            TypeDocument::Autre => &[],
        }
    }

    /// The icon the frontend shows.
    pub fn icone(self) -> &'static str {
        match self {
            TypeDocument::Pdf => "file-pdf",
            TypeDocument::Image => "file-image",
            TypeDocument::Excel => "file-excel",
            TypeDocument::Word => "file-word",
            TypeDocument::Video => "file-video",
            TypeDocument::Autre => "file",
        }
    }

    /// The type of an extension as [`extension_of`] gives it: `""` (no
    /// extension) is `autre`; an extension outside the allow-list is refused
    /// (so `.dwg`, `.zip`, `.txt`, `.html`, `.svg` never get in).
    pub fn from_extension(extension: &str) -> Result<Self, ExtensionRefusee> {
        if extension.is_empty() {
            return Ok(TypeDocument::Autre);
        }
        Self::ALL
            .into_iter()
            .find(|kind| kind.extensions().contains(&extension))
            .ok_or_else(|| ExtensionRefusee(extension.to_owned()))
    }

    /// Whether an inline preview is offered (with a size limit on top).
    pub fn previewable(self) -> bool {
        matches!(
            self,
            TypeDocument::Pdf | TypeDocument::Image | TypeDocument::Video
        )
    }
}

impl fmt::Display for TypeDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TypeDocument {
    type Err = UnknownTypeDocument;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownTypeDocument(s.to_owned()))
    }
}

/// `.` plus the lower-cased text after the last dot of `nom`, or `""`
/// when there is none. Only letters and digits make an extension: in
/// `../../etc/passwd` the text after the last dot is a path, not an
/// extension, so that name has none (the spec's rule would have given
/// `./etc/passwd`, refused, although the name is harmless plain text).
pub fn extension_of(nom: &str) -> String {
    match nom.rsplit_once('.') {
        Some((_, after))
            if !after.is_empty() && after.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!(".{}", after.to_ascii_lowercase())
        }
        _ => String::new(),
    }
}

/// The MIME type the server states for an extension of the allow-list;
/// the client's `Content-Type` is never trusted.
pub fn mime_of(extension: &str) -> &'static str {
    match extension {
        ".pdf" => "application/pdf",
        ".png" => "image/png",
        ".jpg" | ".jpeg" => "image/jpeg",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        ".bmp" => "image/bmp",
        ".xls" => "application/vnd.ms-excel",
        ".xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".csv" => "text/csv",
        ".doc" => "application/msword",
        ".docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".odt" => "application/vnd.oasis.opendocument.text",
        ".mp4" => "video/mp4",
        ".avi" => "video/x-msvideo",
        ".mov" => "video/quicktime",
        ".mkv" => "video/x-matroska",
        ".webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// The kind of a dossier: one of the seven standard folders, or `custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DossierType {
    #[serde(rename = "01_plans")]
    Plans,
    #[serde(rename = "02_administratif")]
    Administratif,
    #[serde(rename = "03_securite")]
    Securite,
    #[serde(rename = "04_qualite")]
    Qualite,
    #[serde(rename = "05_photos")]
    Photos,
    #[serde(rename = "06_comptes_rendus")]
    ComptesRendus,
    #[serde(rename = "07_livraisons")]
    Livraisons,
    #[serde(rename = "custom")]
    Custom,
}

/// A text that is neither a dossier type's value nor its display name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dossier type `{0}` (expected 01_plans … 07_livraisons or custom)")]
pub struct UnknownDossierType(pub String);

impl DossierType {
    /// The standard tree, in its order.
    pub const STANDARD: [DossierType; 7] = [
        DossierType::Plans,
        DossierType::Administratif,
        DossierType::Securite,
        DossierType::Qualite,
        DossierType::Photos,
        DossierType::ComptesRendus,
        DossierType::Livraisons,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DossierType::Plans => "01_plans",
            DossierType::Administratif => "02_administratif",
            DossierType::Securite => "03_securite",
            DossierType::Qualite => "04_qualite",
            DossierType::Photos => "05_photos",
            DossierType::ComptesRendus => "06_comptes_rendus",
            DossierType::Livraisons => "07_livraisons",
            DossierType::Custom => "custom",
        }
    }

    /// `01` … `07`, `99` for custom.
    pub fn numero(self) -> u8 {
        match self {
            DossierType::Plans => 1,
            DossierType::Administratif => 2,
            DossierType::Securite => 3,
            DossierType::Qualite => 4,
            DossierType::Photos => 5,
            DossierType::ComptesRendus => 6,
            DossierType::Livraisons => 7,
            DossierType::Custom => 99,
        }
    }

    pub fn nom_affichage(self) -> &'static str {
        match self {
            DossierType::Plans => "Plans",
            DossierType::Administratif => "Documents administratifs",
            DossierType::Securite => "Sécurité",
            DossierType::Qualite => "Qualité",
            DossierType::Photos => "Photos",
            DossierType::ComptesRendus => "Comptes-rendus",
            DossierType::Livraisons => "Livraisons",
            DossierType::Custom => "Personnalisé",
        }
    }

    /// The level of the folder the standard tree creates.
    pub fn niveau_par_defaut(self) -> NiveauAcces {
        match self {
            DossierType::Plans | DossierType::Securite | DossierType::Photos => {
                NiveauAcces::Compagnon
            }
            DossierType::Administratif => NiveauAcces::Conducteur,
            DossierType::Qualite
            | DossierType::ComptesRendus
            | DossierType::Livraisons
            | DossierType::Custom => NiveauAcces::ChefChantier,
        }
    }

    /// Its position in the standard tree (`None` for custom).
    pub fn ordre(self) -> Option<i32> {
        Self::STANDARD
            .iter()
            .position(|kind| *kind == self)
            .and_then(|index| i32::try_from(index).ok())
    }
}

impl fmt::Display for DossierType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DossierType {
    type Err = UnknownDossierType;

    /// The value or the display name, ignoring case. Unlike the original,
    /// anything else is refused rather than silently made `custom`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_lowercase();
        Self::STANDARD
            .into_iter()
            .chain([DossierType::Custom])
            .find(|kind| kind.as_str() == wanted || kind.nom_affichage().to_lowercase() == wanted)
            .ok_or_else(|| UnknownDossierType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_is_the_lower_cased_text_after_the_last_dot() {
        assert_eq!(extension_of("Plan R+1.PDF"), ".pdf");
        assert_eq!(extension_of("archive.tar.gz"), ".gz");
        assert_eq!(extension_of("LISEZMOI"), "");
        assert_eq!(extension_of("plan."), "");
        assert_eq!(extension_of("rapport.version finale"), "");
        assert_eq!(extension_of("../../etc/passwd"), "");
    }

    #[test]
    fn the_allow_list_is_the_union_of_the_types_extensions() {
        assert_eq!(TypeDocument::from_extension(".pdf"), Ok(TypeDocument::Pdf));
        assert_eq!(
            TypeDocument::from_extension(".jpeg"),
            Ok(TypeDocument::Image)
        );
        assert_eq!(
            TypeDocument::from_extension(".csv"),
            Ok(TypeDocument::Excel)
        );
        assert_eq!(TypeDocument::from_extension(".odt"), Ok(TypeDocument::Word));
        assert_eq!(
            TypeDocument::from_extension(".mkv"),
            Ok(TypeDocument::Video)
        );
        assert_eq!(TypeDocument::from_extension(""), Ok(TypeDocument::Autre));
        for refused in [".dwg", ".zip", ".txt", ".html", ".svg", ".exe", ".pdf2"] {
            assert_eq!(
                TypeDocument::from_extension(refused),
                Err(ExtensionRefusee(refused.into()))
            );
        }
        for kind in TypeDocument::ALL {
            for extension in kind.extensions() {
                assert_ne!(
                    mime_of(extension),
                    "application/octet-stream",
                    "{extension}"
                );
            }
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
    }

    #[test]
    fn dossier_types_parse_by_value_or_display_name_and_refuse_the_rest() {
        assert_eq!("01_plans".parse(), Ok(DossierType::Plans));
        assert_eq!("sécurité".parse(), Ok(DossierType::Securite));
        assert_eq!(
            "Documents administratifs".parse(),
            Ok(DossierType::Administratif)
        );
        assert_eq!("CUSTOM".parse(), Ok(DossierType::Custom));
        assert!("divers".parse::<DossierType>().is_err());
        let ordres: Vec<_> = DossierType::STANDARD.iter().map(|k| k.ordre()).collect();
        assert_eq!(ordres, (0..7).map(Some).collect::<Vec<_>>());
        assert_eq!(DossierType::Custom.ordre(), None);
        assert_eq!(
            DossierType::Administratif.niveau_par_defaut(),
            NiveauAcces::Conducteur
        );
    }
}
