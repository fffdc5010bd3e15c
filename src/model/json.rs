//! JSON as the registry reads it from clients and files: like `serde_json`, except that an
//! object may not give the same key twice (serde_json keeps the last, silently).

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Why a text is not accepted as JSON.
#[derive(Debug)]
pub enum JsonError {
    /// Not JSON at all.
    Syntax(serde_json::Error),
    /// An object gives this key twice: the JSON pointer of the second.
    DuplicateKey(String),
}

/// Parses `bytes` as one JSON value whose objects give each key once.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Unique {
        path: String::new(),
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (_, Some(pointer)) => Err(JsonError::DuplicateKey(pointer)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(JsonError::Syntax(e)),
    }
}

/// One value read out of a larger document (an element of an array read as a stream): the
/// value, or the JSON pointer (within it) of the first key it gives twice. The reading goes on
/// past such an element, so that the next ones are read.
pub struct Element;

impl<'de> DeserializeSeed<'de> for Element {
    type Value = Result<Value, String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let duplicate = RefCell::new(None);
        let value = Unique {
            path: String::new(),
            duplicate: &duplicate,
        }
        .deserialize(d)?;
        Ok(match duplicate.into_inner() {
            Some(pointer) => Err(pointer),
            None => Ok(value),
        })
    }
}

struct Unique<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Unique {
            path: format!("{}/{}", self.path, items.len()),
            duplicate: self.duplicate,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}/{}", self.path, super::input::escape(&key));
            let twice = object.contains_key(&key);
            if twice && self.duplicate.borrow().is_none() {
                *self.duplicate.borrow_mut() = Some(path.clone());
            }
            let value = map.next_value_seed(Unique {
                path,
                duplicate: self.duplicate,
            })?;
            // The first is kept, but the value is refused as a whole (see `parse`, `Element`).
            if !twice {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_as_serde_json_does() {
        let text =
            r#"{"a": [1, -2, 3.5, "x", null, true], "b": {"c": {}}, "d": 18446744073709551615}"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert!(matches!(parse(b"{\"a\": 1} x"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(b"{\"a\": }"), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn a_key_given_twice_is_named() {
        for (text, pointer) in [
            (r#"{"name": "a", "name": "b"}"#, "/name"),
            (
                r#"{"external_ids": {"ror": "x", "ror": "y"}}"#,
                "/external_ids/ror",
            ),
            (
                r#"{"affiliations": [{"a/b": 1, "a/b": 2}]}"#,
                "/affiliations/0/a~1b",
            ),
        ] {
            match parse(text.as_bytes()) {
                Err(JsonError::DuplicateKey(p)) => assert_eq!(p, pointer, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            parse(br#"{"a": {"x": 1}, "b": {"x": 2}}"#).unwrap(),
            json!({"a": {"x": 1}, "b": {"x": 2}})
        );
    }
}
