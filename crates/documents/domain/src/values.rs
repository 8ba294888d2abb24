//! Values valid by construction: names, descriptions, sizes, checksums and
//! storage keys.

use std::fmt;

use hub_kernel::{Lines, TextError, bounded_text, optional_text};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DossierType;
use crate::types::extension_of;

/// Why a value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("must be at most {max} bytes (10 GiB), got {got}")]
    TailleTropGrande { max: u64, got: u64 },
    #[error("must be 64 lower-case hexadecimal characters")]
    Sha256,
    #[error("is not a storage key of this context")]
    CleStockage,
}

/// The name of a dossier: trimmed, 1 to 255 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NomDossier(String);

impl NomDossier {
    pub const MAX_LEN: usize = 255;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Ok(Self(bounded_text(input, Self::MAX_LEN, Lines::One)?))
    }

    /// The display name of a standard type: a constant that meets the rules
    /// (`the_standard_tree_adds_the_missing_types_only` checks it).
    pub(crate) fn standard(kind: DossierType) -> Self {
        Self(kind.nom_affichage().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NomDossier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The display name of a document: trimmed, 1 to 255 characters, one line.
///
/// It is plain text and nothing else: `../../etc/passwd` is a valid name.
/// It never reaches a file system path (the storage key is made of ids,
/// see [`CleStockage`]); outputs that embed it (`Content-Disposition`, ZIP
/// entries) encode or sanitise it themselves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NomDocument(String);

impl NomDocument {
    pub const MAX_LEN: usize = 255;
    /// The name of an upload that came without a file name.
    pub const PAR_DEFAUT: &'static str = "document";

    /// A name a user typed (a rename): refused when blank, too long, or
    /// with control characters.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Ok(Self(bounded_text(input, Self::MAX_LEN, Lines::One)?))
    }

    /// The name of an upload, from the client's file name: control
    /// characters are dropped (a header may carry them), blank becomes
    /// `document`; too long is refused like a typed name.
    pub fn from_client_filename(filename: Option<&str>) -> Result<Self, ValueError> {
        let cleaned: String = filename
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        match cleaned.trim() {
            "" => Ok(Self(Self::PAR_DEFAUT.to_owned())),
            name => Self::parse(name),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `.pdf` for `Plan.PDF`, `""` without a dot.
    pub fn extension(&self) -> String {
        extension_of(&self.0)
    }

    /// The `n`-th alternative when the name is taken in a dossier:
    /// `base_n.ext` (`base_n` without extension). The base is shortened
    /// when the result would pass 255 characters.
    pub fn avec_suffixe(&self, n: u32) -> Self {
        // The extension as `extension_of` reads it: in `../../etc/passwd`
        // the last dot starts no extension, so the suffix goes at the end.
        let (base, extension) = match self.0.rfind('.') {
            Some(dot) if dot > 0 && !self.extension().is_empty() => self.0.split_at(dot),
            _ => (self.0.as_str(), ""),
        };
        let mut suffix = format!("_{n}{extension}");
        let mut base = base;
        if suffix.chars().count() >= Self::MAX_LEN {
            // An "extension" this long is not one: number the whole name.
            suffix = format!("_{n}");
            base = self.0.as_str();
        }
        let room = Self::MAX_LEN.saturating_sub(suffix.chars().count());
        let base: String = base.chars().take(room).collect();
        Self(format!("{base}{suffix}"))
    }
}

impl fmt::Display for NomDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A free description; several lines allowed; blank is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    /// The original has no limit; a bound keeps rows and events reasonable.
    pub const MAX_LEN: usize = 10_000;

    pub fn parse(input: Option<&str>) -> Result<Option<Self>, ValueError> {
        Ok(optional_text(input, Self::MAX_LEN, Lines::Several)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A document's size in bytes: 0 to 10 GiB (the configured upload limit
/// may be lower; this bound is what any configuration can reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Taille(u64);

impl Taille {
    /// 10 GiB, the original's limit.
    pub const MAX: u64 = 10 * 1024 * 1024 * 1024;

    pub fn new(octets: u64) -> Result<Self, ValueError> {
        if octets > Self::MAX {
            return Err(ValueError::TailleTropGrande {
                max: Self::MAX,
                got: octets,
            });
        }
        Ok(Self(octets))
    }

    pub fn octets(self) -> u64 {
        self.0
    }

    /// For the database's `bigint`: always fits, since MAX < i64::MAX.
    pub fn as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// `N o` below 1 KiB, `x.x Ko` below 1 MiB, `x.x Mo` below 1 GiB,
    /// else `x.xx Go` (base 1024, decimal point).
    pub fn formatee(self) -> String {
        const KIB: u64 = 1024;
        let octets = self.0;
        // Sizes are at most 10 GiB, well inside f64's exact integers.
        #[allow(clippy::cast_precision_loss)]
        let value = octets as f64;
        if octets < KIB {
            format!("{octets} o")
        } else if octets < KIB * KIB {
            format!("{:.1} Ko", value / KIB as f64)
        } else if octets < KIB * KIB * KIB {
            format!("{:.1} Mo", value / (KIB * KIB) as f64)
        } else {
            format!("{:.2} Go", value / (KIB * KIB * KIB) as f64)
        }
    }
}

/// The SHA-256 of a document's bytes, as 64 lower-case hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sha256(String);

impl Sha256 {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let valid = input.len() == 64
            && input
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(ValueError::Sha256);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a document's bytes live in the object store: `{chantier_id}/{document_id}`.
///
/// Made of ids only, never of anything the user typed, so no name can
/// escape the store or collide with another document's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CleStockage(String);

impl CleStockage {
    pub fn pour_document(chantier_id: Uuid, document_id: Uuid) -> Self {
        Self(format!("{chantier_id}/{document_id}"))
    }

    /// A stored key read back: only the shape [`CleStockage::pour_document`] makes.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let (chantier, document) = input.split_once('/').ok_or(ValueError::CleStockage)?;
        let canonical = |part: &str| {
            Uuid::parse_str(part)
                .map(|id| id.to_string() == part)
                .unwrap_or(false)
        };
        if !(canonical(chantier) && canonical(document)) {
            return Err(ValueError::CleStockage);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CleStockage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_document_name_is_plain_text() {
        let nom = NomDocument::from_client_filename(Some("../../etc/passwd")).unwrap();
        assert_eq!(nom.as_str(), "../../etc/passwd");
        assert_eq!(nom.extension(), "");
        let nom = NomDocument::from_client_filename(Some("pl\u{0}an\r\n.pdf")).unwrap();
        assert_eq!(nom.as_str(), "plan.pdf");
        assert_eq!(
            NomDocument::from_client_filename(Some("  "))
                .unwrap()
                .as_str(),
            "document"
        );
        assert_eq!(
            NomDocument::from_client_filename(None).unwrap().as_str(),
            "document"
        );
        assert!(NomDocument::parse("a\nb").is_err());
        assert!(NomDocument::parse(" ").is_err());
        assert!(NomDocument::from_client_filename(Some(&"a".repeat(256))).is_err());
    }

    #[test]
    fn alternatives_put_the_number_before_the_extension() {
        let nom = |s: &str| NomDocument::parse(s).unwrap();
        assert_eq!(nom("plan.pdf").avec_suffixe(1).as_str(), "plan_1.pdf");
        assert_eq!(nom("plan.v2.pdf").avec_suffixe(2).as_str(), "plan.v2_2.pdf");
        assert_eq!(nom("LISEZMOI").avec_suffixe(3).as_str(), "LISEZMOI_3");
        assert_eq!(nom(".pdf").avec_suffixe(1).as_str(), ".pdf_1");
        // No extension where `extension_of` sees none: the suffix goes last.
        assert_eq!(
            nom("../../etc/passwd").avec_suffixe(1).as_str(),
            "../../etc/passwd_1"
        );
        assert_eq!(nom("plan.").avec_suffixe(2).as_str(), "plan._2");
        let long = nom(&format!("{}.pdf", "é".repeat(251)));
        let alternative = long.avec_suffixe(12);
        assert_eq!(alternative.as_str().chars().count(), 255);
        assert!(alternative.as_str().ends_with("_12.pdf"));
    }

    #[test]
    fn sizes_are_bounded_and_formatted_in_base_1024() {
        assert_eq!(Taille::new(0).unwrap().formatee(), "0 o");
        assert_eq!(Taille::new(1023).unwrap().formatee(), "1023 o");
        assert_eq!(Taille::new(1536).unwrap().formatee(), "1.5 Ko");
        assert_eq!(Taille::new(5 * 1024 * 1024).unwrap().formatee(), "5.0 Mo");
        assert_eq!(Taille::new(Taille::MAX).unwrap().formatee(), "10.00 Go");
        assert_eq!(Taille::new(Taille::MAX).unwrap().as_i64(), 10_737_418_240);
        assert!(Taille::new(Taille::MAX + 1).is_err());
    }

    #[test]
    fn checksums_and_keys_have_one_shape() {
        assert!(Sha256::parse(&"ab".repeat(32)).is_ok());
        assert!(Sha256::parse(&"AB".repeat(32)).is_err());
        assert!(Sha256::parse("abc").is_err());
        let (chantier, document) = (Uuid::now_v7(), Uuid::now_v7());
        let key = CleStockage::pour_document(chantier, document);
        assert_eq!(key.as_str(), format!("{chantier}/{document}"));
        assert_eq!(CleStockage::parse(key.as_str()), Ok(key));
        for bad in ["../x", "a/b", "", &format!("{chantier}/../{document}")] {
            assert!(CleStockage::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_client_filename_gives_a_key_free_one_line_name(name in "\\PC{0,300}") {
            if let Ok(nom) = NomDocument::from_client_filename(Some(&name)) {
                prop_assert!(!nom.as_str().chars().any(char::is_control));
                prop_assert!(nom.as_str().chars().count() <= NomDocument::MAX_LEN);
                prop_assert!(!nom.as_str().is_empty());
            }
        }

        #[test]
        fn alternatives_stay_within_the_length_limit(name in "[a-z.]{1,255}", n in 1u32..10_000) {
            if let Ok(nom) = NomDocument::parse(&name) {
                let alternative = nom.avec_suffixe(n);
                prop_assert!(alternative.as_str().chars().count() <= NomDocument::MAX_LEN);
                prop_assert_ne!(alternative.as_str(), nom.as_str());
            }
        }
    }
}
