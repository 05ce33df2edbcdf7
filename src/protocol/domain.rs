//! The domain types every part of roam shares: conversations, messages and their content,
//! in the person's words rather than the wire's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What kind of conversation a message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// A one-to-one chat.
    Single,
    /// A group.
    Group,
    /// A chat room.
    Room,
}

impl ChatType {
    /// The wire name of the JSON message form and the export: `chat`, `groupchat`, `chatroom`.
    pub fn wire_name(self) -> &'static str {
        match self {
            ChatType::Single => "chat",
            ChatType::Group => "groupchat",
            ChatType::Room => "chatroom",
        }
    }

    /// Reads a wire name; anything unknown is `None`.
    pub fn from_wire_name(name: &str) -> Option<ChatType> {
        match name {
            "chat" | "single" => Some(ChatType::Single),
            "groupchat" | "group" => Some(ChatType::Group),
            "chatroom" | "room" => Some(ChatType::Room),
            _ => None,
        }
    }

    /// The domain of the history queue: groups and rooms share `conference.easemob.com`.
    pub fn queue_domain(self) -> &'static str {
        match self {
            ChatType::Single => SINGLE_DOMAIN,
            ChatType::Group | ChatType::Room => CONFERENCE_DOMAIN,
        }
    }
}

/// The domain of single-chat addresses.
pub const SINGLE_DOMAIN: &str = "easemob.com";
/// The domain of group and chat-room addresses.
pub const CONFERENCE_DOMAIN: &str = "conference.easemob.com";

/// One conversation in a user's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// The peer's user id (single chat) or the group/room id.
    pub id: String,
    /// Single, group or room.
    pub kind: ChatType,
    /// Messages the user has not read.
    pub unread: u32,
    /// Pinned to the top of the list.
    pub pinned: bool,
    /// When it was pinned (ms), when known.
    pub pinned_at: Option<i64>,
    /// Marks `mark_0`..`mark_19`.
    pub marks: Vec<String>,
    /// The newest message, when there is one.
    pub last_message: Option<Message>,
}

impl Conversation {
    /// The time of the newest activity (ms), 0 when empty: the list's sort key.
    pub fn last_activity(&self) -> i64 {
        self.last_message.as_ref().map_or(0, |m| m.time)
    }
}

/// One message of a conversation's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The server's id: unsigned 64-bit, larger than 2^53. In JSON a decimal string, as
    /// the SDK gives it (a number is read too).
    #[serde(with = "decimal_id")]
    pub id: u64,
    /// Sender user id.
    pub from: String,
    /// Receiver: user, group or room id.
    pub to: String,
    /// Single, group or room.
    pub chat_type: ChatType,
    /// Milliseconds since the epoch, UTC.
    pub time: i64,
    /// What the message holds.
    pub content: Content,
    /// The app's extension fields, a JSON object (empty when none).
    pub ext: Map<String, Value>,
    /// What `MessageBody.meta` carried (PROTOCOL.md §5 rule 7): edits, reactions,
    /// threads, delivered and read state, as a JSON object; read it with
    /// [`BodyMeta`](super::body_meta::BodyMeta). `None` when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

/// Message ids in JSON: written as decimal strings, since a JSON reader that holds numbers
/// as doubles (JavaScript, jq) changes ids above 2^53; read from a string or a number.
mod decimal_id {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        struct Id;
        impl Visitor<'_> for Id {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message id: a decimal string or an unsigned integer")
            }
            fn visit_u64<E: de::Error>(self, id: u64) -> Result<u64, E> {
                Ok(id)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
                text.parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        deserializer.deserialize_any(Id)
    }
}

/// A file stored by the service: the common part of images, videos, voice, files and
/// combined messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The remote path as stored.
    pub url: String,
    /// The share secret, when the file is protected.
    pub secret: Option<String>,
    /// The file name.
    pub filename: String,
    /// Size in bytes, when known.
    pub file_length: Option<u64>,
}

impl Attachment {
    /// The URL a person downloads the file from, as the SDK builds it:
    /// `?em-redirect=true` and, with a secret, `&share-secret=...`.
    pub fn download_url(&self) -> String {
        if self.url.is_empty() {
            return String::new();
        }
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{sep}em-redirect=true", self.url);
        if let Some(secret) = self.secret.as_deref().filter(|s| !s.is_empty()) {
            url.push_str("&share-secret=");
            url.push_str(secret);
        }
        url
    }

    /// The thumbnail URL of an image, as the SDK builds it.
    pub fn thumbnail_url(&self) -> String {
        let url = self.download_url();
        if url.is_empty() {
            url
        } else {
            url + "&thumbnail=true"
        }
    }
}

/// Width and height in pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Size {
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// What a message holds: one of the service's content kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Content {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A picture.
    Image {
        /// The file.
        file: Attachment,
        /// Its dimensions, when known.
        size: Option<Size>,
        /// An animated GIF.
        gif: bool,
    },
    /// A video clip.
    Video {
        /// The file.
        file: Attachment,
        /// Length in seconds.
        duration: Option<u32>,
        /// The thumbnail's remote path.
        thumb: Option<String>,
        /// The thumbnail's secret.
        thumb_secret: Option<String>,
        /// Dimensions, when known.
        size: Option<Size>,
    },
    /// A voice message.
    Audio {
        /// The file.
        file: Attachment,
        /// Length in seconds.
        duration: Option<u32>,
    },
    /// Any other file.
    File {
        /// The file.
        file: Attachment,
    },
    /// A shared location.
    Location {
        /// The address.
        address: String,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lng: f64,
        /// The building name, when given.
        building: Option<String>,
    },
    /// A command message (invisible to end users in most apps).
    Command {
        /// The action.
        action: String,
    },
    /// An app-defined message.
    Custom {
        /// The event name.
        event: String,
        /// The fields.
        exts: Map<String, Value>,
    },
    /// A merged forward of several messages.
    Combined {
        /// Title.
        title: String,
        /// Summary.
        summary: String,
        /// The file holding the merged messages.
        file: Attachment,
        /// Nesting level.
        level: Option<u32>,
        /// Fallback text for clients that cannot show it.
        text: String,
    },
}

impl Content {
    /// The service's name of this kind, as used by `msgType` filters and the JSON form:
    /// `txt`, `img`, `video`, `audio`, `file`, `loc`, `cmd`, `custom`, `combine`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Content::Text { .. } => "txt",
            Content::Image { .. } => "img",
            Content::Video { .. } => "video",
            Content::Audio { .. } => "audio",
            Content::File { .. } => "file",
            Content::Location { .. } => "loc",
            Content::Command { .. } => "cmd",
            Content::Custom { .. } => "custom",
            Content::Combined { .. } => "combine",
        }
    }

    /// The attachment, for kinds that have one.
    pub fn attachment(&self) -> Option<&Attachment> {
        match self {
            Content::Image { file, .. }
            | Content::Video { file, .. }
            | Content::Audio { file, .. }
            | Content::File { file }
            | Content::Combined { file, .. } => Some(file),
            _ => None,
        }
    }
}

/// Which way a history page goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Newest first, going back in time (the SDK's `up`, `is_positive: false`).
    #[default]
    Up,
    /// Oldest first, going forward (the SDK's `down`, `is_positive: true`).
    Down,
}

/// Filters of a history request; the default keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFilters {
    /// Content type names to keep (`txt`, `img`, ...); empty = all.
    pub types: Vec<String>,
    /// Sender to keep (groups and rooms).
    pub sender: Option<String>,
    /// Earliest time (ms), inclusive.
    pub start_time: Option<i64>,
    /// Latest time (ms), inclusive.
    pub end_time: Option<i64>,
}

/// One request for a page of a conversation's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// The conversation id (peer user, group or room).
    pub conversation: String,
    /// Single, group or room: decides the queue's domain.
    pub kind: ChatType,
    /// Where to continue: a previous page's `next_cursor`; `None` = start at the end the
    /// direction begins from.
    pub cursor: Option<String>,
    /// Messages per page, 1..=50.
    pub page_size: u32,
    /// Which way to go.
    pub direction: Direction,
    /// What to keep.
    pub filters: HistoryFilters,
}

/// One page of history as the client reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Messages in the order of the request's direction (newest first for `Up`).
    pub messages: Vec<Message>,
    /// The cursor of the next page in the same direction; `None` when `is_last`.
    pub next_cursor: Option<String>,
    /// No more pages in this direction.
    pub is_last: bool,
    /// Entries of this page left out because they could not be decoded (bad base64 or
    /// protobuf), so the reader can say that something is missing.
    #[serde(default)]
    pub undecodable: u64,
}

/// One page of the conversation list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationPage {
    /// Conversations in server order.
    pub conversations: Vec<Conversation>,
    /// The next page's cursor; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The history queue of a conversation: `id@easemob.com` or `id@conference.easemob.com`.
pub fn queue_for(id: &str, kind: ChatType) -> String {
    format!("{id}@{}", kind.queue_domain())
}

/// Splits a queue into the conversation id and whether it is a group/room queue.
/// `None` when it has no known domain.
pub fn parse_queue(queue: &str) -> Option<(&str, bool)> {
    let (id, domain) = queue.rsplit_once('@')?;
    if id.is_empty() {
        return None;
    }
    match domain {
        CONFERENCE_DOMAIN => Some((id, true)),
        SINGLE_DOMAIN => Some((id, false)),
        _ => None,
    }
}

/// Reads a legacy `channel_id` (`org#app_bob@easemob.com`) into the conversation id and
/// whether it is a group. App names cannot hold `_`, user ids can: split at the first `_`
/// after the `#`.
pub fn parse_channel_id(channel_id: &str) -> Option<(String, ChatType)> {
    let (local, is_group) = match parse_queue(channel_id) {
        Some((local, conference)) => (local, conference),
        None => (channel_id.split('@').next().unwrap_or(channel_id), false),
    };
    let id = match local.split_once('#') {
        Some((_, rest)) => rest.split_once('_').map_or(rest, |(_, id)| id),
        None => local,
    };
    if id.is_empty() {
        return None;
    }
    let kind = if is_group {
        ChatType::Group
    } else {
        ChatType::Single
    };
    Some((id.to_string(), kind))
}

/// Builds a legacy `channel_id` for a conversation.
pub fn channel_id_for(appkey: &str, id: &str, kind: ChatType) -> String {
    format!("{appkey}_{id}@{}", kind.queue_domain())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_strings_in_json_and_read_from_either() {
        let m = Message {
            id: (1 << 53) + 1,
            from: "bob".into(),
            to: "alice".into(),
            chat_type: ChatType::Single,
            time: 1,
            content: Content::Text { text: "hi".into() },
            ext: Map::new(),
            meta: None,
        };
        let json = serde_json::to_value(&m).expect("json");
        assert_eq!(json["id"], "9007199254740993");
        let back: Message = serde_json::from_value(json.clone()).expect("from a string");
        assert_eq!(back, m);
        let mut number = json;
        number["id"] = serde_json::json!(9007199254740993u64);
        let back: Message = serde_json::from_value(number).expect("from a number");
        assert_eq!(back.id, m.id);
        let mut bad = serde_json::to_value(&m).expect("json");
        bad["id"] = "12x".into();
        assert!(serde_json::from_value::<Message>(bad).is_err());
    }

    #[test]
    fn channel_ids_parse_both_domains_and_underscored_ids() {
        assert_eq!(
            parse_channel_id("acme#chatapp_bob@easemob.com"),
            Some(("bob".to_string(), ChatType::Single))
        );
        assert_eq!(
            parse_channel_id("acme#chatapp_team_x@conference.easemob.com"),
            Some(("team_x".to_string(), ChatType::Group))
        );
        assert_eq!(parse_channel_id("acme#chatapp_@easemob.com"), None);
        let built = channel_id_for("acme#chatapp", "a_b", ChatType::Group);
        assert_eq!(
            parse_channel_id(&built),
            Some(("a_b".into(), ChatType::Group))
        );
    }

    #[test]
    fn queues_round_trip() {
        assert_eq!(queue_for("g1", ChatType::Room), "g1@conference.easemob.com");
        assert_eq!(parse_queue("g1@conference.easemob.com"), Some(("g1", true)));
        assert_eq!(parse_queue("bob@easemob.com"), Some(("bob", false)));
        assert_eq!(parse_queue("bob@example.com"), None);
        assert_eq!(parse_queue("@easemob.com"), None);
    }

    #[test]
    fn download_urls_follow_the_sdk() {
        let file = Attachment {
            url: "https://a.example/chatfiles/1".into(),
            secret: Some("s3".into()),
            filename: "x.jpg".into(),
            file_length: Some(1),
        };
        assert_eq!(
            file.download_url(),
            "https://a.example/chatfiles/1?em-redirect=true&share-secret=s3"
        );
        assert_eq!(
            file.thumbnail_url(),
            "https://a.example/chatfiles/1?em-redirect=true&share-secret=s3&thumbnail=true"
        );
    }
}
