//! The domain: records as clients see them, their vocabularies, and money arithmetic.
//! Knows neither HTTP nor SQL.

pub mod access;
pub mod changes;
pub mod figures;
pub mod history;
pub mod ids;
pub mod input;
pub mod institute;
pub mod interchange;
pub mod json;
pub mod matching;
pub mod money;
pub mod reference;
pub mod representation;
pub mod spelling;
pub mod stats;
pub mod text;

use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one input: which field (a query parameter name, a path segment name,
/// or a JSON pointer into the body) and what is wrong with it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// The parameter name or JSON pointer of the offending input.
    #[schema(example = "country")]
    pub field: String,
    /// What is wrong and what is expected.
    #[schema(example = "unknown ISO 3166-1 alpha-2 code 'XX'")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Declares a closed vocabulary stored as text: serde and OpenAPI use the same snake_case
/// names as the database.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The accepted values, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }
    };
}
pub(crate) use vocabulary;
