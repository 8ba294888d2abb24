//! Request and response shapes every context's DTOs share: calendar dates
//! and instants as the API spells them, and PATCH fields that tell "absent" from `null`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// A calendar date as the API spells it: `YYYY-MM-DD` (no time, no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate(pub Date);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

impl IsoDate {
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        Date::parse(text, FORMAT).map(Self)
    }
}

impl From<Date> for IsoDate {
    fn from(date: Date) -> Self {
        Self(date)
    }
}

impl From<IsoDate> for Date {
    fn from(date: IsoDate) -> Self {
        date.0
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(FORMAT) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|_| {
            serde::de::Error::custom(format!("`{text}` is not a date such as 2026-12-02"))
        })
    }
}

impl utoipa::PartialSchema for IsoDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Date,
            )))
            .examples([serde_json::json!("2026-12-02")])
            .into()
    }
}

impl utoipa::ToSchema for IsoDate {}

/// An instant as the API spells it: RFC 3339 (`2026-12-02T08:00:00Z`),
/// read at the storage precision (microseconds) so that what is stored is
/// what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub OffsetDateTime);

impl Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|at| Self(hub_kernel::to_storage_precision(at)))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an RFC 3339 instant such as 2026-12-02T08:00:00Z"
                ))
            })
    }
}

impl utoipa::PartialSchema for Instant {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .examples([serde_json::json!("2026-12-02T08:00:00Z")])
            .into()
    }
}

impl utoipa::ToSchema for Instant {}

/// For PATCH bodies: `#[serde(default, deserialize_with = "present")]` on an
/// `Option<Option<T>>` field makes an absent field `None` (unchanged) and
/// `null` `Some(None)` (cleared).
pub fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn instants_are_rfc_3339_at_storage_precision_and_refused_otherwise() {
        let at: Instant = serde_json::from_str("\"2026-12-02T09:00:00.1234567+01:00\"").unwrap();
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            "\"2026-12-02T08:00:00.123456Z\"",
            "in UTC, nanoseconds cut to what PostgreSQL keeps"
        );
        let refused = serde_json::from_str::<Instant>("\"2026-12-02 09:00\"").unwrap_err();
        assert!(refused.to_string().contains("RFC 3339"), "{refused}");
    }
    use time::macros::date;

    #[derive(Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "present")]
        date_fin: Option<Option<IsoDate>>,
    }

    #[test]
    fn dates_round_trip_and_bad_ones_say_what_is_expected() {
        let json = serde_json::to_string(&IsoDate(date!(2026 - 12 - 02))).unwrap();
        assert_eq!(json, "\"2026-12-02\"");
        assert_eq!(
            serde_json::from_str::<IsoDate>(&json).unwrap().0,
            date!(2026 - 12 - 02)
        );
        for bad in [
            "\"2026-13-01\"",
            "\"02/12/2026\"",
            "\"2026-12-02T10:00:00Z\"",
        ] {
            let error = serde_json::from_str::<IsoDate>(bad)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("is not a date such as 2026-12-02"),
                "{error}"
            );
        }
    }

    #[test]
    fn absent_null_and_a_value_are_three_different_patches() {
        let absent: Patch = serde_json::from_str("{}").unwrap();
        let null: Patch = serde_json::from_str(r#"{"date_fin": null}"#).unwrap();
        let set: Patch = serde_json::from_str(r#"{"date_fin": "2027-01-31"}"#).unwrap();
        assert_eq!(absent.date_fin, None);
        assert_eq!(null.date_fin, Some(None));
        assert_eq!(set.date_fin, Some(Some(IsoDate(date!(2027 - 01 - 31)))));
    }
}
