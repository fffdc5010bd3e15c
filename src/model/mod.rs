//! The domain: records as clients see them, their vocabularies, and money arithmetic.
//! Knows neither HTTP nor SQL.

pub mod access;
pub mod figures;
pub mod history;
pub mod ids;
pub mod input;
pub mod institute;
pub mod interchange;
pub mod matching;
pub mod money;
pub mod reference;
pub mod stats;
pub mod text;

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
