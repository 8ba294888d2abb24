//! Validation errors shared by every context: one entry per invalid field,
//! which the HTTP layer turns into a 422 problem document.

use std::fmt;

use serde::Serialize;

/// One invalid field: where, a stable machine code, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// All the invalid fields of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single invalid field.
    pub fn single(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let mut errors = Self::new();
        errors.add(field, code, message);
        errors
    }

    pub fn add(
        &mut self,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(FieldError {
            field: field.into(),
            code,
            message: message.into(),
        });
    }

    /// Keeps the value when `result` is valid, records its error otherwise;
    /// lets a constructor collect every invalid field in one pass.
    pub fn check<T, E: fmt::Display>(
        &mut self,
        field: &str,
        code: &'static str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, code, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", error.field, error.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_invalid_field() {
        let mut errors = ValidationErrors::new();
        let ok: Option<u8> = errors.check("a", "bad", Ok::<u8, String>(1));
        let bad: Option<u8> = errors.check("b", "too_long", Err::<u8, _>("is too long"));
        errors.add("c", "required", "is required");
        assert_eq!(ok, Some(1));
        assert_eq!(bad, None);
        assert_eq!(errors.errors().len(), 2);
        assert_eq!(errors.to_string(), "b: is too long; c: is required");
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            serde_json::json!([
                {"field": "b", "code": "too_long", "message": "is too long"},
                {"field": "c", "code": "required", "message": "is required"}
            ])
        );
        assert!(errors.into_result().is_err());
        assert!(ValidationErrors::new().into_result().is_ok());
    }
}
