//! Texts of a signalement, valid by construction (the kernel's text rules,
//! with this context's limits), and photo URLs.

use hub_kernel::{Lines, TextError, bounded_text};

/// Why a value was refused; messages are written for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("must be one of: {0}")]
    NotOneOf(&'static str),
    #[error("must be an https:// URL")]
    NotHttps,
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $max:expr, $lines:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            /// Trimmed, not blank, at most [`Self::MAX_LEN`] characters.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                Ok(Self(bounded_text(input, Self::MAX_LEN, $lines)?))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// The title of a signalement (one line).
    Titre, 255, Lines::One
);
text_value!(
    /// What happened, where, what is at risk.
    Description, 5000, Lines::Several
);
text_value!(
    /// Where on the site (a floor, a zone).
    Localisation, 255, Lines::One
);
text_value!(
    /// What was done to deal with a signalement ("traiter").
    Commentaire, 2000, Lines::Several
);
text_value!(
    /// Why a signalement is reopened.
    Motif, 2000, Lines::Several
);
text_value!(
    /// The text of a reply.
    Contenu, 5000, Lines::Several
);

/// A photo, by URL. Only `https:` is accepted: the UI shows it as a link
/// or an image, and `javascript:` or plain `http:` would be a risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUrl(String);

impl PhotoUrl {
    pub const MAX_LEN: usize = 500;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let url = bounded_text(input, Self::MAX_LEN, Lines::One)?;
        let rest = url
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .map(|_| &url[8..])
            .ok_or(ValueError::NotHttps)?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || url.chars().any(char::is_whitespace) {
            return Err(ValueError::NotHttps);
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(Titre::parse("  Fuite  ").unwrap().as_str(), "Fuite");
        assert_eq!(
            Titre::parse("   ").unwrap_err(),
            ValueError::Text(TextError::Required)
        );
        assert!(Titre::parse("a\nb").is_err());
        assert!(Description::parse("a\nb").is_ok());
        assert!(Titre::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            Titre::parse(&"é".repeat(256)).unwrap_err(),
            ValueError::Text(TextError::TooLong(255))
        );
    }

    #[test]
    fn photos_are_https_urls_only() {
        assert!(PhotoUrl::parse("https://cdn.example.com/p/1.jpg").is_ok());
        assert!(PhotoUrl::parse("HTTPS://cdn.example.com/1.jpg").is_ok());
        for bad in [
            "http://cdn.example.com/1.jpg",
            "javascript:alert(1)",
            "https://",
            "https:///x",
            "https://a b/c",
            "ftp://x/y",
            "",
        ] {
            assert!(PhotoUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://x.fr/{}", "a".repeat(500));
        assert!(PhotoUrl::parse(&long).is_err());
    }

    proptest! {
        #[test]
        fn any_non_https_scheme_is_refused(scheme in "[a-z]{1,10}", rest in "[a-z./]{1,20}") {
            prop_assume!(scheme != "https");
            let url = format!("{scheme}://{rest}");
            prop_assert!(PhotoUrl::parse(&url).is_err());
        }

        #[test]
        fn a_parsed_title_is_trimmed_and_within_bounds(input in "\\PC{0,300}") {
            if let Ok(titre) = Titre::parse(&input) {
                prop_assert_eq!(titre.as_str(), input.trim());
                prop_assert!(titre.as_str().chars().count() <= Titre::MAX_LEN);
                prop_assert!(!titre.as_str().is_empty());
            }
        }
    }
}
