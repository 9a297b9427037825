//! Durations and byte sizes as people write them in a config file:
//! `"250ms"`, `"5s"`, `"5min"`, `"2h"`, `"1d"`; `4096`, `"512KiB"`,
//! `"64MiB"`, `"10MB"`.
//!
//! The parsers are pure functions; [`DurationValue`] and [`ByteSize`] are
//! newtypes that deserialize through them, and [`Limit`] adds `"none"` /
//! `"off"` for the limits that can be switched off. Every error names the
//! value it could not read.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A duration or size that could not be read; the message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} \"{value}\": {reason}")]
pub struct UnitError {
    /// `"duration"` or `"size"`.
    pub kind: &'static str,
    /// The value as it was written.
    pub value: String,
    /// What is wrong with it, and what would be right.
    pub reason: String,
}

impl UnitError {
    fn duration(value: &str, reason: impl Into<String>) -> Self {
        UnitError {
            kind: "duration",
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    fn size(value: &str, reason: impl Into<String>) -> Self {
        UnitError {
            kind: "size",
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

const DURATION_UNITS: &str = "expected a number and a unit (ms, s, min, h, d), such as \"5s\"";
const SIZE_UNITS: &str = "expected a number of bytes or a number and a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), such as \"64MiB\"";

/// Splits `"1.5 GiB"` into `("1.5", "GiB")`.
fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], s[end..].trim_start())
}

/// Reads a non-negative decimal number (`"5"`, `"0.25"`, `"1_000"`).
fn parse_number(digits: &str) -> Option<f64> {
    let plain: String = digits.chars().filter(|&c| c != '_').collect();
    if plain.is_empty() || plain.starts_with('.') || plain.ends_with('.') {
        return None;
    }
    plain.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Parses a duration: a number and a unit, `ms`, `s`, `m`/`min`, `h` or
/// `d` (`"250ms"`, `"5s"`, `"1.5h"`, `"5 min"`). A bare number is refused:
/// `"5"` could mean seconds or milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let s = text.trim();
    let (digits, unit) = split_number(s);
    if digits.is_empty() {
        return Err(UnitError::duration(text, DURATION_UNITS));
    }
    let number = parse_number(digits).ok_or_else(|| UnitError::duration(text, DURATION_UNITS))?;
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "s" | "sec" | "secs" => 1.0,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "" => {
            return Err(UnitError::duration(
                text,
                "a duration needs a unit (ms, s, min, h, d), such as \"5s\"",
            ));
        }
        _ => return Err(UnitError::duration(text, DURATION_UNITS)),
    };
    Duration::try_from_secs_f64(number * seconds_per_unit)
        .map_err(|_| UnitError::duration(text, "out of range"))
}

/// Parses a size in bytes: a plain integer (`"4096"`), or a number and a
/// unit, binary (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024) or decimal
/// (`KB`, `MB`, `GB`, `TB`: powers of 1000); units are case-insensitive.
/// A fraction of a byte is rounded down.
pub fn parse_byte_size(text: &str) -> Result<u64, UnitError> {
    let s = text.trim();
    let (digits, unit) = split_number(s);
    if digits.is_empty() {
        return Err(UnitError::size(text, SIZE_UNITS));
    }
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(UnitError::size(text, SIZE_UNITS)),
    };
    let plain: String = digits.chars().filter(|&c| c != '_').collect();
    if let Ok(whole) = plain.parse::<u64>() {
        return whole
            .checked_mul(factor)
            .ok_or_else(|| UnitError::size(text, "out of range"));
    }
    let number = parse_number(digits).ok_or_else(|| UnitError::size(text, SIZE_UNITS))?;
    let bytes = number * factor as f64;
    if bytes >= u64::MAX as f64 {
        return Err(UnitError::size(text, "out of range"));
    }
    // Truncation is the documented rounding (down to whole bytes).
    Ok(bytes as u64)
}

/// Formats a duration the way [`parse_duration`] reads it, in the largest
/// unit that represents it exactly (`"2h"`, `"90s"`, `"250ms"`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return format!("{}ms", d.as_secs_f64() * 1000.0);
    }
    for (unit, per) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if ms != 0 && ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

/// Formats a size in the largest binary unit that represents it exactly
/// (`"1MiB"`, `"1500B"`).
pub fn format_byte_size(bytes: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes != 0 && bytes.trailing_zeros() >= shift {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes}B")
}

/// A duration read with [`parse_duration`]; deserializes from a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DurationValue(pub Duration);

impl FromStr for DurationValue {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, UnitError> {
        parse_duration(s).map(DurationValue)
    }
}

impl fmt::Display for DurationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl From<DurationValue> for Duration {
    fn from(value: DurationValue) -> Duration {
        value.0
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"5s\", \"250ms\", \"5min\" or \"2h\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<DurationValue, E> {
                s.parse().map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<DurationValue, E> {
                Err(E::custom(UnitError::duration(
                    &n.to_string(),
                    "a duration is a string with a unit, such as \"5s\"",
                )))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<DurationValue, E> {
                Err(E::custom(UnitError::duration(
                    &n.to_string(),
                    "a duration is a string with a unit, such as \"5s\"",
                )))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<DurationValue, E> {
                Err(E::custom(UnitError::duration(
                    &n.to_string(),
                    "a duration is a string with a unit, such as \"5s\"",
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A size in bytes read with [`parse_byte_size`]; deserializes from an
/// integer (bytes) or a string with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, UnitError> {
        parse_byte_size(s).map(ByteSize)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_byte_size(self.0))
    }
}

impl ByteSize {
    /// The size as a `usize`, or an error naming the value when it does not
    /// fit (only on 32-bit targets).
    pub fn to_usize(self) -> Result<usize, UnitError> {
        usize::try_from(self.0).map_err(|_| UnitError::size(&self.0.to_string(), "out of range"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a number of bytes, or a string such as \"64MiB\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<ByteSize, E> {
                s.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(n))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ByteSize, E> {
                u64::try_from(n).map(ByteSize).map_err(|_| {
                    E::custom(UnitError::size(&n.to_string(), "a size cannot be negative"))
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A limit that can be switched off: `"none"` or `"off"` (also `false`) is
/// [`Limit::Off`], anything else is read as `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit<T> {
    /// No limit.
    Off,
    /// This limit.
    Value(T),
}

impl<T> Limit<T> {
    /// `None` for [`Limit::Off`].
    pub fn into_option(self) -> Option<T> {
        match self {
            Limit::Off => None,
            Limit::Value(v) => Some(v),
        }
    }

    /// Maps the value, keeping `Off`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Limit<U> {
        match self {
            Limit::Off => Limit::Off,
            Limit::Value(v) => Limit::Value(f(v)),
        }
    }
}

fn is_off(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "none" | "off")
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Limit<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::IntoDeserializer;
        use serde::de::value::{I64Deserializer, StrDeserializer, U64Deserializer};

        // Forward every scalar form to `T`, catching the "off" words first;
        // the error type stays `D::Error`, so the file's line and column
        // survive.
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Limit<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a limit, or \"none\"")
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Limit<T>, E> {
                if b {
                    Err(E::custom(
                        "`true` is not a limit: give a value, or \"none\" for no limit",
                    ))
                } else {
                    Ok(Limit::Off)
                }
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Limit<T>, E> {
                if is_off(s) {
                    return Ok(Limit::Off);
                }
                let inner: StrDeserializer<'_, E> = s.into_deserializer();
                T::deserialize(inner).map(Limit::Value)
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Limit<T>, E> {
                let inner: U64Deserializer<E> = n.into_deserializer();
                T::deserialize(inner).map(Limit::Value)
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Limit<T>, E> {
                let inner: I64Deserializer<E> = n.into_deserializer();
                T::deserialize(inner).map(Limit::Value)
            }
        }
        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration(" 5 min "), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1_000ms"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn bad_durations_name_the_value() {
        for bad in [
            "soon",
            "",
            "5",
            "5 parsecs",
            "-5s",
            "s",
            ".5s",
            "5.s",
            "1e3s",
            "5S",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(
                err.to_string().contains(&format!("\"{bad}\"")),
                "{bad:?}: {err}"
            );
        }
        assert!(parse_duration("5").unwrap_err().reason.contains("unit"));
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn sizes_in_every_unit() {
        assert_eq!(parse_byte_size("4096"), Ok(4096));
        assert_eq!(parse_byte_size("100B"), Ok(100));
        assert_eq!(parse_byte_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_byte_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_byte_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_byte_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_byte_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_byte_size("3kb"), Ok(3000));
        assert_eq!(parse_byte_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_byte_size("1TB"), Ok(1_000_000_000_000));
        assert_eq!(parse_byte_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_byte_size("2 gib"), Ok(2 << 30));
    }

    #[test]
    fn bad_sizes_name_the_value() {
        for bad in [
            "lots",
            "",
            "5 parsecs",
            "-1",
            "1.2.3MiB",
            "MiB",
            "64M",
            "16777216TiB",
        ] {
            let err = parse_byte_size(bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(err.to_string().contains(&format!("\"{bad}\"")), "{err}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for d in ["250ms", "5s", "90s", "5min", "2h", "1d"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
        for s in ["1MiB", "512KiB", "1500B", "1GiB"] {
            assert_eq!(format_byte_size(parse_byte_size(s).unwrap()), s);
        }
        assert_eq!(format_duration(Duration::ZERO), "0ms");
        assert_eq!(format_byte_size(0), "0B");
    }

    #[derive(Debug, Deserialize)]
    struct Doc {
        d: Option<DurationValue>,
        s: Option<ByteSize>,
        limit: Option<Limit<ByteSize>>,
        timer: Option<Limit<DurationValue>>,
    }

    fn doc(src: &str) -> Result<Doc, String> {
        toml::from_str(src).map_err(|e| e.to_string())
    }

    #[test]
    fn newtypes_deserialize_from_toml() {
        let d = doc("d = \"2h\"\ns = \"64MiB\"\nlimit = 100\ntimer = \"5s\"").unwrap();
        assert_eq!(d.d, Some(DurationValue(Duration::from_secs(7200))));
        assert_eq!(d.s, Some(ByteSize(64 << 20)));
        assert_eq!(d.limit, Some(Limit::Value(ByteSize(100))));
        assert_eq!(
            d.timer,
            Some(Limit::Value(DurationValue(Duration::from_secs(5))))
        );
        let d = doc("s = 4096\nlimit = \"none\"\ntimer = \"off\"").unwrap();
        assert_eq!(d.s, Some(ByteSize(4096)));
        assert_eq!(d.limit, Some(Limit::Off));
        assert_eq!(d.timer, Some(Limit::Off));
        assert_eq!(doc("limit = false").unwrap().limit, Some(Limit::Off));
    }

    #[test]
    fn newtype_errors_quote_the_value() {
        let err = doc("d = \"soon\"").unwrap_err();
        assert!(err.contains("invalid duration \"soon\""), "{err}");
        let err = doc("d = 5").unwrap_err();
        assert!(err.contains("string with a unit"), "{err}");
        let err = doc("s = -3").unwrap_err();
        assert!(err.contains("negative"), "{err}");
        let err = doc("timer = \"later\"").unwrap_err();
        assert!(err.contains("invalid duration \"later\""), "{err}");
        let err = doc("limit = true").unwrap_err();
        assert!(err.contains("none"), "{err}");
    }
}
