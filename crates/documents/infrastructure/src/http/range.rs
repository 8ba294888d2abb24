//! The `Range` request header (RFC 9110 §14.1.2), as far as the documents
//! serve it: one range of bytes. Anything else (other units, several
//! ranges, a malformed value) is ignored, as the RFC allows: the whole
//! document is sent.

use hub_documents_application::ports::ByteRange;

/// The single byte range `value` asks for, if it is one.
pub(super) fn parse_range(value: &str) -> Option<ByteRange> {
    let (unit, spec) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let spec = spec.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => number(last).map(ByteRange::Suffix),
        (false, true) => number(first).map(ByteRange::From),
        (false, false) => Some(ByteRange::Bounded {
            start: number(first)?,
            end: number(last)?,
        }),
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_of_bytes_is_read_and_anything_else_ignored() {
        assert_eq!(
            parse_range("bytes=0-99"),
            Some(ByteRange::Bounded { start: 0, end: 99 })
        );
        assert_eq!(parse_range("bytes=100-"), Some(ByteRange::From(100)));
        assert_eq!(parse_range("bytes=-500"), Some(ByteRange::Suffix(500)));
        assert_eq!(
            parse_range(" Bytes = 5 - 9 "),
            Some(ByteRange::Bounded { start: 5, end: 9 })
        );
        // A reversed range is read as asked; the use case answers 416.
        assert_eq!(
            parse_range("bytes=9-5"),
            Some(ByteRange::Bounded { start: 9, end: 5 })
        );
        for ignored in [
            "bytes=0-1,5-9",
            "items=0-9",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes",
            "",
        ] {
            assert_eq!(parse_range(ignored), None, "{ignored}");
        }
    }
}
