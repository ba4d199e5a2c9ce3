//! JSON plumbing shared by both directions.
//!
//! Messages are read into structs whose leaves accept *any* JSON value ([`Val`], [`Section`],
//! [`List`]), so that serde only fails on syntax (and duplicate keys); every type and value
//! check happens afterwards in plain code that can name the field in its error. Strings
//! without escape sequences are borrowed from the input.

use super::error::ProtocolError;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A leaf value: a string (borrowed when it has no escapes), a non-negative integer, or the
/// name of any other JSON kind (its content skipped).
#[derive(Debug)]
pub(crate) enum Val<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Val<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Val<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'a>, E> {
                Ok(Val::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Val<'a>, E> {
                Ok(Val::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Val<'a>, E> {
                Ok(Val::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Val<'a>, E> {
                Ok(Val::U64(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Val<'a>, E> {
                Ok(u64::try_from(v).map_or(Val::Other("number"), Val::U64))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Val<'a>, E> {
                Ok(Val::Other("number"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Val<'a>, E> {
                Ok(Val::Other("boolean"))
            }
            fn visit_unit<E>(self) -> Result<Val<'a>, E> {
                Ok(Val::Other("null"))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Val<'a>, A::Error> {
                skip_map(map).map(|()| Val::Other("object"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Val<'a>, A::Error> {
                skip_seq(seq).map(|()| Val::Other("array"))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A nested object read as `T`, or the name of the JSON kind found instead.
#[derive(Debug)]
pub(crate) enum Section<T> {
    Obj(T),
    Other(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Section<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Section<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Section<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Section::Obj)
            }
            fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Section<T>, E> {
                Ok(Section::Other("string"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Section<T>, E> {
                Ok(Section::Other("string"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Section<T>, E> {
                Ok(Section::Other("number"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Section<T>, E> {
                Ok(Section::Other("number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Section<T>, E> {
                Ok(Section::Other("number"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Section<T>, E> {
                Ok(Section::Other("boolean"))
            }
            fn visit_unit<E>(self) -> Result<Section<T>, E> {
                Ok(Section::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Section<T>, A::Error> {
                skip_seq(seq).map(|()| Section::Other("array"))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An array of leaves, or the name of the JSON kind found instead.
#[derive(Debug)]
pub(crate) enum List<'a> {
    Items(Vec<Val<'a>>),
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for List<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as a leaf first would lose the items; dispatch on the kind instead.
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = List<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<'a>, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Val<'a>>()? {
                    items.push(v);
                }
                Ok(List::Items(items))
            }
            fn visit_borrowed_str<E>(self, _: &'de str) -> Result<List<'a>, E> {
                Ok(List::Other("string"))
            }
            fn visit_str<E>(self, _: &str) -> Result<List<'a>, E> {
                Ok(List::Other("string"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<List<'a>, E> {
                Ok(List::Other("number"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<List<'a>, E> {
                Ok(List::Other("number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<List<'a>, E> {
                Ok(List::Other("number"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<List<'a>, E> {
                Ok(List::Other("boolean"))
            }
            fn visit_unit<E>(self) -> Result<List<'a>, E> {
                Ok(List::Other("null"))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<'a>, A::Error> {
                skip_map(map).map(|()| List::Other("object"))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Parse a whole text as one JSON object read as `T`.
pub(crate) fn object<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ProtocolError> {
    match serde_json::from_str::<Section<T>>(text) {
        Ok(Section::Obj(t)) => Ok(t),
        Ok(Section::Other(kind)) => Err(ProtocolError::InvalidJson(format!(
            "expected an object, found {kind}"
        ))),
        Err(e) => Err(ProtocolError::invalid_json(&e.to_string())),
    }
}

impl Val<'_> {
    /// The JSON kind, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::U64(_) => "number",
            Val::Other(kind) => kind,
        }
    }
}

/// A nested object that must be present.
pub(crate) fn section<T>(v: Option<Section<T>>, field: &'static str) -> Result<T, ProtocolError> {
    match v {
        None => Err(ProtocolError::MissingField(field)),
        Some(Section::Obj(t)) => Ok(t),
        Some(Section::Other(found)) => Err(ProtocolError::WrongType {
            field,
            expected: "object",
            found,
        }),
    }
}

/// A string that must be present.
pub(crate) fn string<'a>(
    v: Option<Val<'a>>,
    field: &'static str,
) -> Result<Cow<'a, str>, ProtocolError> {
    match v {
        None => Err(ProtocolError::MissingField(field)),
        Some(Val::Str(s)) => Ok(s),
        Some(other) => Err(ProtocolError::WrongType {
            field,
            expected: "string",
            found: other.kind(),
        }),
    }
}

/// A present, non-empty string without JSON escapes, borrowed from the input.
pub(crate) fn borrowed<'a>(
    v: Option<Val<'a>>,
    field: &'static str,
) -> Result<&'a str, ProtocolError> {
    match string(v, field)? {
        Cow::Borrowed(s) => Ok(s),
        Cow::Owned(_) => Err(ProtocolError::InvalidValue {
            field,
            reason: "JSON escape sequences are not allowed here",
        }),
    }
}

/// A present, non-empty identifier (sid).
pub(crate) fn sid(v: Option<Val<'_>>, field: &'static str) -> Result<String, ProtocolError> {
    let s = string(v, field)?;
    if s.is_empty() {
        return Err(ProtocolError::InvalidValue {
            field,
            reason: "must not be empty",
        });
    }
    Ok(s.into_owned())
}

/// A number Twilio sends as a string: decimal digits only, fitting in u64.
pub(crate) fn decimal(v: Option<Val<'_>>, field: &'static str) -> Result<u64, ProtocolError> {
    match v {
        None => Err(ProtocolError::MissingField(field)),
        Some(Val::Str(s)) => decimal_str(&s).ok_or(ProtocolError::InvalidNumber { field }),
        Some(_) => Err(ProtocolError::InvalidNumber { field }),
    }
}

/// `s` as a u64 if it is one or more ASCII digits and fits.
pub(crate) fn decimal_str(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// A number sent as a JSON number (`mediaFormat.sampleRate`, `channels`).
pub(crate) fn integer(v: Option<Val<'_>>, field: &'static str) -> Result<u64, ProtocolError> {
    match v {
        None => Err(ProtocolError::MissingField(field)),
        Some(Val::U64(n)) => Ok(n),
        Some(other) => Err(ProtocolError::WrongType {
            field,
            expected: "non-negative integer",
            found: other.kind(),
        }),
    }
}

/// Append `s` as a JSON string literal, quotes included.
pub(crate) fn push_str_literal(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so `i` and `i + 1` are character boundaries.
        out.push_str(&s[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(s: &str) -> String {
        let mut out = String::new();
        push_str_literal(&mut out, s);
        out
    }

    #[test]
    fn string_literals_match_serde_json() {
        for s in [
            "",
            "plain",
            "quote\" back\\slash",
            "nl\n cr\r tab\t bs\u{8} ff\u{c}",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "é€😀 </script>",
        ] {
            let ours = literal(s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
            assert_eq!(serde_json::from_str::<String>(&ours).unwrap(), s);
        }
    }

    #[test]
    fn decimal_is_strict() {
        let v = |s: &str| Some(Val::Str(Cow::Owned(s.to_owned())));
        assert_eq!(decimal(v("0"), "f"), Ok(0));
        assert_eq!(decimal(v("007"), "f"), Ok(7));
        assert_eq!(decimal(v("18446744073709551615"), "f"), Ok(u64::MAX));
        for bad in [
            "",
            " 1",
            "1 ",
            "+1",
            "-1",
            "1.0",
            "1e3",
            "0x10",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(
                decimal(v(bad), "f"),
                Err(ProtocolError::InvalidNumber { field: "f" }),
                "{bad:?}"
            );
        }
        assert_eq!(
            decimal(Some(Val::U64(4)), "f"),
            Err(ProtocolError::InvalidNumber { field: "f" })
        );
        assert_eq!(decimal(None, "f"), Err(ProtocolError::MissingField("f")));
    }
}
