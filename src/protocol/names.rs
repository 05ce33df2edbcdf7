//! The bodies of the name endpoints (PROTOCOL.md §8.1), one typed contract for the client
//! and the embedded server: user attributes (nicknames), group details and chat-room
//! details.
//!
//! Names are set by apps and are untrusted text: nothing here cleans them; they reach a
//! screen only through the display-text function.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The most users one `metadata/user/get` call may name (§8.1).
pub const MAX_ATTRIBUTE_TARGETS: usize = 100;

/// The most groups one `chatgroups/{ids}` call may name (roam's choice: the same as for
/// users; the service documents no number, and a URL of 100 ids of 64 bytes still fits
/// every proxy's line limit).
pub const MAX_GROUPS_PER_CALL: usize = 100;

/// The longest nickname the embedded server stores, in characters (roam's choice; the
/// service caps all of a user's attributes at 2 KiB together).
pub const MAX_NICKNAME_CHARS: usize = 128;

/// The longest group or room name the embedded server stores, in characters (the
/// service's limit).
pub const MAX_GROUP_NAME_CHARS: usize = 128;

/// The longest group or room description the embedded server stores, in characters (the
/// service's limit).
pub const MAX_DESCRIPTION_CHARS: usize = 512;

/// `POST /{org}/{app}/metadata/user/get`: which users, which attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributesRequest {
    /// User ids, at most [`MAX_ATTRIBUTE_TARGETS`].
    pub targets: Vec<String>,
    /// Attribute names; empty asks for all of them.
    #[serde(default)]
    pub properties: Vec<String>,
}

/// The answer's `data`: user id → attribute name → value. A user without attributes is
/// absent or `{}`. Values are strings on the service; anything else reads as absent.
pub type AttributesData = HashMap<String, HashMap<String, serde_json::Value>>;

/// One entry of the `data` array of `GET chatgroups/{ids}` and `GET chatrooms/{id}`. Only
/// `id` is required when reading: the rest is shown when present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupDetails {
    /// The group or room id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Its owner's user id.
    #[serde(default)]
    pub owner: String,
    /// When it was created (ms).
    #[serde(default)]
    pub created: i64,
    /// Members, the owner included.
    #[serde(default)]
    pub affiliations_count: u64,
    /// The most members it may have.
    #[serde(default)]
    pub maxusers: u64,
    /// Whether anybody may find and join it (groups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// The app's own field.
    #[serde(default)]
    pub custom: String,
    /// An avatar URL (groups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}
