//! The JSON side of the wire: the message form of PROTOCOL.md §3.3 (also the export
//! format), conversation entries (§3.1, §3.2), the request and response bodies of §2 and §4,
//! and the error body of §6. Conversions to and from the domain types live here too.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::ProtocolError;
use super::domain::{
    Attachment, ChatType, Content, Conversation, Direction, Message, Size, channel_id_for,
    parse_channel_id,
};

// ---------------------------------------------------------------------------------------
// The JSON message form (§3.3)
// ---------------------------------------------------------------------------------------

/// A message in the JSON form: `{"bodies":[BODY],"ext":{},"from","to","type"}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageJson {
    /// Only the first body counts.
    #[serde(default)]
    pub bodies: Vec<BodyJson>,
    /// Extension fields: must be an object for the SDK.
    #[serde(default = "empty_object")]
    pub ext: Value,
    /// Sender.
    #[serde(default)]
    pub from: String,
    /// Receiver.
    #[serde(default)]
    pub to: String,
    /// `chat`, `groupchat` or `chatroom`.
    #[serde(rename = "type", default)]
    pub chat_type: String,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// One body of the JSON form; which fields matter depends on `type`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BodyJson {
    /// `txt`, `img`, `video`, `audio`, `file`, `loc`, `cmd`, `custom`, `combine`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text, or the fallback text of a combined message.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub msg: Option<String>,
    /// `sub_gif` on a GIF image, `sub_combine` on a combined text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub_type: Option<String>,
    /// Attachment URL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// Attachment secret.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret: Option<String>,
    /// Attachment file name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub filename: Option<String>,
    /// Attachment size in bytes.
    #[serde(
        rename = "file_length",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_u64"
    )]
    pub file_length: Option<u64>,
    /// Image or video dimensions.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_size"
    )]
    pub size: Option<SizeJson>,
    /// Voice or video length in seconds.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_u64"
    )]
    pub length: Option<u64>,
    /// Video thumbnail URL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thumb: Option<String>,
    /// Video thumbnail secret.
    #[serde(
        rename = "thumb_secret",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub thumb_secret: Option<String>,
    /// Location address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub addr: Option<String>,
    /// Latitude.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_f64"
    )]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_f64"
    )]
    pub lng: Option<f64>,
    /// Building name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub building_name: Option<String>,
    /// Command action.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<String>,
    /// Custom event name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub custom_event: Option<String>,
    /// Custom fields: an object, or an array of one-key objects.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub custom_exts: Option<Value>,
    /// Combined message title.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    /// Combined message summary.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub summary: Option<String>,
    /// Combined message nesting level.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_u64"
    )]
    pub combine_level: Option<u64>,
}

/// Dimensions in the JSON form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeJson {
    /// Width.
    #[serde(default)]
    pub width: f64,
    /// Height.
    #[serde(default)]
    pub height: f64,
}

/// Numbers in real payloads sometimes arrive as strings: accept both, and treat anything
/// unreadable as absent rather than failing the whole message.
fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(lenient_f64(d)?
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| f as u64))
}

fn lenient_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SizeJson>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => {
            let get = |k: &str| match map.get(k) {
                Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
                Some(Value::String(s)) => s.parse().unwrap_or(0.0),
                _ => 0.0,
            };
            Some(SizeJson {
                width: get("width"),
                height: get("height"),
            })
        }
        _ => None,
    })
}

fn attachment_of(body: &BodyJson) -> Attachment {
    Attachment {
        url: body.url.clone().unwrap_or_default(),
        secret: body.secret.clone().filter(|s| !s.is_empty()),
        filename: body.filename.clone().unwrap_or_default(),
        file_length: body.file_length,
    }
}

fn size_of(body: &BodyJson) -> Option<Size> {
    body.size.map(|s| Size {
        width: s.width,
        height: s.height,
    })
}

/// Custom fields arrive as an object or as an array of one-key objects: fold both into one
/// object.
pub fn custom_exts_object(value: Option<&Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(map)) => map.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect(),
        _ => Map::new(),
    }
}

impl BodyJson {
    /// Reads a body into domain content. Unknown types are an error naming the type.
    pub fn to_content(&self) -> Result<Content, ProtocolError> {
        let text = || self.msg.clone().unwrap_or_default();
        Ok(match self.kind.as_str() {
            "txt" if self.sub_type.as_deref() == Some("sub_combine") => self.combined(),
            "combine" => self.combined(),
            "txt" => Content::Text { text: text() },
            "img" => Content::Image {
                file: attachment_of(self),
                size: size_of(self),
                gif: self.sub_type.as_deref() == Some("sub_gif"),
            },
            "video" => Content::Video {
                file: attachment_of(self),
                duration: self.length.map(clamp_u32),
                thumb: self.thumb.clone(),
                thumb_secret: self.thumb_secret.clone(),
                size: size_of(self),
            },
            "audio" => Content::Audio {
                file: attachment_of(self),
                duration: self.length.map(clamp_u32),
            },
            "file" => Content::File {
                file: attachment_of(self),
            },
            "loc" => Content::Location {
                address: self.addr.clone().unwrap_or_default(),
                lat: self.lat.unwrap_or(0.0),
                lng: self.lng.unwrap_or(0.0),
                building: self.building_name.clone(),
            },
            "cmd" => Content::Command {
                action: self.action.clone().unwrap_or_default(),
            },
            "custom" => Content::Custom {
                event: self.custom_event.clone().unwrap_or_default(),
                exts: custom_exts_object(self.custom_exts.as_ref()),
            },
            other => return Err(ProtocolError::UnknownBodyType(other.to_string())),
        })
    }

    fn combined(&self) -> Content {
        Content::Combined {
            title: self.title.clone().unwrap_or_default(),
            summary: self.summary.clone().unwrap_or_default(),
            file: attachment_of(self),
            level: self.combine_level.map(clamp_u32),
            text: self.msg.clone().unwrap_or_default(),
        }
    }

    /// Writes domain content as a body. Custom fields become an array of one-key objects,
    /// the shape the SDK's cursor list demands (§7).
    pub fn from_content(content: &Content) -> BodyJson {
        let mut body = BodyJson {
            kind: content.type_name().to_string(),
            ..BodyJson::default()
        };
        if let Some(file) = content.attachment() {
            body.url = Some(file.url.clone());
            body.secret = file.secret.clone();
            body.filename = Some(file.filename.clone());
            body.file_length = file.file_length;
        }
        let size_json = |s: &Option<Size>| {
            s.map(|s| SizeJson {
                width: s.width,
                height: s.height,
            })
        };
        match content {
            Content::Text { text } => body.msg = Some(text.clone()),
            Content::Image { size, gif, .. } => {
                body.size = size_json(size);
                if *gif {
                    body.sub_type = Some("sub_gif".into());
                }
            }
            Content::Video {
                duration,
                thumb,
                thumb_secret,
                size,
                ..
            } => {
                body.length = duration.map(u64::from);
                body.thumb = thumb.clone();
                body.thumb_secret = thumb_secret.clone();
                body.size = size_json(size);
            }
            Content::Audio { duration, .. } => body.length = duration.map(u64::from),
            Content::File { .. } => {}
            Content::Location {
                address,
                lat,
                lng,
                building,
            } => {
                body.addr = Some(address.clone());
                body.lat = Some(*lat);
                body.lng = Some(*lng);
                body.building_name = building.clone();
            }
            Content::Command { action } => body.action = Some(action.clone()),
            Content::Custom { event, exts } => {
                body.custom_event = Some(event.clone());
                let items = exts
                    .iter()
                    .map(|(k, v)| {
                        let mut one = Map::new();
                        one.insert(k.clone(), v.clone());
                        Value::Object(one)
                    })
                    .collect();
                body.custom_exts = Some(Value::Array(items));
            }
            Content::Combined {
                title,
                summary,
                level,
                text,
                ..
            } => {
                body.title = Some(title.clone());
                body.summary = Some(summary.clone());
                body.combine_level = level.map(u64::from);
                body.msg = Some(text.clone());
            }
        }
        body
    }
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl MessageJson {
    /// Builds the JSON form of a message.
    pub fn from_message(message: &Message) -> MessageJson {
        MessageJson {
            bodies: vec![BodyJson::from_content(&message.content)],
            ext: Value::Object(message.ext.clone()),
            from: message.from.clone(),
            to: message.to.clone(),
            chat_type: message.chat_type.wire_name().to_string(),
        }
    }

    /// Reads the JSON form into a message with the given id and time. `fallback_type` is
    /// used when the form's own `type` is missing or unknown.
    pub fn to_message(
        &self,
        id: u64,
        time: i64,
        fallback_type: Option<ChatType>,
    ) -> Result<Message, ProtocolError> {
        let body = self.bodies.first().ok_or(ProtocolError::NoBody)?;
        let chat_type = ChatType::from_wire_name(&self.chat_type)
            .or(fallback_type)
            .ok_or_else(|| ProtocolError::UnknownChatType(self.chat_type.clone()))?;
        let ext = match &self.ext {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        Ok(Message {
            id,
            from: self.from.clone(),
            to: self.to.clone(),
            chat_type,
            time,
            content: body.to_content()?,
            ext,
            meta: None,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The export file (§3.3)
// ---------------------------------------------------------------------------------------

/// One line of the service's history export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportLine {
    /// The message id, as a decimal string (sometimes a number).
    #[serde(deserialize_with = "id_string")]
    pub msg_id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// `outgoing` or `incoming`.
    #[serde(default)]
    pub direction: String,
    /// Sender.
    pub from: String,
    /// Receiver: user, group or room id.
    pub to: String,
    /// `chat`, `groupchat` or `chatroom`.
    pub chat_type: String,
    /// The message in JSON form.
    pub payload: MessageJson,
}

fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "msg_id must be a string or number",
        )),
    }
}

impl ExportLine {
    /// Reads one export line into a message: the id must be a decimal u64, the chat type
    /// known, the payload readable.
    pub fn to_message(&self) -> Result<Message, ProtocolError> {
        let id = parse_message_id(&self.msg_id)?;
        let chat_type = ChatType::from_wire_name(&self.chat_type)
            .ok_or_else(|| ProtocolError::UnknownChatType(self.chat_type.clone()))?;
        let mut message = self
            .payload
            .to_message(id, self.timestamp, Some(chat_type))?;
        // The line's own fields are authoritative over the payload's copies.
        message.chat_type = chat_type;
        message.from = self.from.clone();
        message.to = self.to.clone();
        Ok(message)
    }

    /// Writes a message as an export line.
    pub fn from_message(message: &Message, direction: &str) -> ExportLine {
        ExportLine {
            msg_id: message.id.to_string(),
            timestamp: message.time,
            direction: direction.to_string(),
            from: message.from.clone(),
            to: message.to.clone(),
            chat_type: message.chat_type.wire_name().to_string(),
            payload: MessageJson::from_message(message),
        }
    }
}

/// Reads a decimal message id.
pub fn parse_message_id(s: &str) -> Result<u64, ProtocolError> {
    s.trim()
        .parse()
        .map_err(|_| ProtocolError::BadMessageId(s.chars().take(40).collect()))
}

// ---------------------------------------------------------------------------------------
// Envelopes and bodies of §2
// ---------------------------------------------------------------------------------------

/// A success body: the payload under `data`, the envelope fields optional.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    pub data: T,
    /// The service's action name (ignored by clients).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<String>,
    /// Server time (ms).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timestamp: Option<i64>,
    /// Handling time (ms).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration: Option<i64>,
}

/// `POST /token` request: one variant per grant (PROTOCOL.md §8.2), told apart by
/// `grant_type`. Its `Debug` hides the password and the client secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// A user's own token for their password.
    Password {
        /// User id.
        username: String,
        /// Password.
        password: String,
        /// Client time (ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<i64>,
    },
    /// An app (admin) token for the app's client id and secret.
    ClientCredentials {
        /// The app's client id.
        client_id: String,
        /// The app's client secret.
        client_secret: String,
    },
    /// Any user's token, sent with an app token as Bearer.
    Inherit {
        /// Whose token.
        username: String,
        /// Whether the service may create the user when it does not exist: roam always
        /// sends `false` (reading history never creates a user), and its server never
        /// creates one.
        #[serde(rename = "autoCreateUser", default)]
        auto_create_user: bool,
    },
}

/// `POST /token` response (not under `data`). Its `Debug` hides the token.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The user (user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<TokenUser>,
    /// The app's uuid (app tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenRequest::Password {
                username,
                timestamp,
                ..
            } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"<redacted>")
                .field("timestamp", timestamp)
                .finish(),
            TokenRequest::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            TokenRequest::Inherit {
                username,
                auto_create_user,
            } => f
                .debug_struct("Inherit")
                .field("username", username)
                .field("auto_create_user", auto_create_user)
                .finish(),
        }
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("user", &self.user)
            .field("application", &self.application)
            .finish()
    }
}

/// `GET /sdk/users/{user}/token/expires` response: the token's expiry (ms) under `data`, and
/// the same value as a top-level `expire_timestamp`, which the official SDK's token renewal
/// reads (PROTOCOL.md §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenExpiry {
    /// Expiry (ms since the epoch).
    pub data: i64,
    /// The same expiry, where the SDK's `renewToken` looks for it.
    #[serde(default)]
    pub expire_timestamp: Option<i64>,
    /// The service's action name (ignored by clients).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<String>,
    /// Server time (ms).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timestamp: Option<i64>,
    /// Handling time (ms).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration: Option<i64>,
}

/// The user part of a token response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenUser {
    /// Stable id.
    #[serde(default)]
    pub uuid: String,
    /// `user`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Created (ms).
    #[serde(default)]
    pub created: i64,
    /// Modified (ms).
    #[serde(default)]
    pub modified: i64,
    /// User id.
    #[serde(default)]
    pub username: String,
    /// Active.
    #[serde(default)]
    pub activated: bool,
}

/// The last message of a conversation entry; `{}` when there is none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// Message id (decimal string).
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "opt_id_string"
    )]
    pub id: Option<String>,
    /// Sender address `org#app_bob@easemob.com/resource`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<String>,
    /// Receiver address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to: Option<String>,
    /// Time (ms).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timestamp: Option<i64>,
    /// The message in JSON form, as a JSON **string**.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payload: Option<String>,
}

fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

impl EntryMeta {
    /// Builds the entry meta of a last message.
    pub fn from_message(appkey: &str, message: &Message) -> EntryMeta {
        let address = |id: &str, kind: ChatType| format!("{appkey}_{id}@{}", kind.queue_domain());
        let payload = serde_json::to_string(&MessageJson::from_message(message)).ok();
        EntryMeta {
            id: Some(message.id.to_string()),
            from: Some(address(&message.from, ChatType::Single)),
            to: Some(address(&message.to, message.chat_type)),
            timestamp: Some(message.time),
            payload,
        }
    }

    /// Reads the last message, when there is one and it is readable. A bad payload yields
    /// `None` rather than losing the whole list.
    pub fn to_message(&self, kind: ChatType) -> Option<Message> {
        let id = parse_message_id(self.id.as_deref()?).ok()?;
        let form: MessageJson = serde_json::from_str(self.payload.as_deref()?).ok()?;
        let mut message = form
            .to_message(id, self.timestamp.unwrap_or(0), Some(kind))
            .ok()?;
        if message.from.is_empty()
            && let Some(from) = self.from.as_deref().and_then(parse_channel_id)
        {
            message.from = from.0;
        }
        Some(message)
    }
}

/// A legacy conversation entry (§3.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegacyEntry {
    /// `org#app_id@easemob.com` or `...@conference.easemob.com`.
    pub channel_id: String,
    /// Unread messages.
    #[serde(default)]
    pub unread_num: u32,
    /// The last message or `{}`.
    #[serde(default)]
    pub meta: EntryMeta,
}

impl LegacyEntry {
    /// Builds an entry.
    pub fn from_conversation(appkey: &str, c: &Conversation) -> LegacyEntry {
        LegacyEntry {
            channel_id: channel_id_for(appkey, &c.id, c.kind),
            unread_num: c.unread,
            meta: c
                .last_message
                .as_ref()
                .map(|m| EntryMeta::from_message(appkey, m))
                .unwrap_or_default(),
        }
    }

    /// Reads an entry; `None` when the channel id is unreadable.
    pub fn to_conversation(&self) -> Option<Conversation> {
        let (id, kind) = parse_channel_id(&self.channel_id)?;
        let last_message = self.meta.to_message(kind);
        // A group's last message may say it was a room message; trust the message.
        let kind = match &last_message {
            Some(m) if m.chat_type == ChatType::Room => ChatType::Room,
            _ => kind,
        };
        Some(Conversation {
            id,
            kind,
            unread: self.unread_num,
            pinned: false,
            pinned_at: None,
            marks: Vec::new(),
            last_message,
        })
    }
}

/// A cursor-list conversation entry (§3.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CursorEntry {
    /// The peer or group id.
    pub session_to: String,
    /// `chat` for single chats; anything else is a group.
    pub session_type: String,
    /// Pinned.
    #[serde(default)]
    pub is_top: bool,
    /// When it was pinned (ms).
    #[serde(default)]
    pub update_top_status_time: Option<i64>,
    /// Unread messages.
    #[serde(default)]
    pub unread_num: u32,
    /// `mark_0`..`mark_19`.
    #[serde(default)]
    pub marks: Vec<String>,
    /// The last message or `{}`.
    #[serde(default)]
    pub meta: EntryMeta,
}

impl CursorEntry {
    /// Builds an entry; the embedded server sends `groupchat` for groups.
    pub fn from_conversation(appkey: &str, c: &Conversation) -> CursorEntry {
        CursorEntry {
            session_to: c.id.clone(),
            session_type: c.kind.wire_name().to_string(),
            is_top: c.pinned,
            update_top_status_time: c.pinned_at,
            unread_num: c.unread,
            marks: c.marks.clone(),
            meta: c
                .last_message
                .as_ref()
                .map(|m| EntryMeta::from_message(appkey, m))
                .unwrap_or_default(),
        }
    }

    /// Reads an entry.
    pub fn to_conversation(&self) -> Conversation {
        let kind = match self.session_type.as_str() {
            "chat" => ChatType::Single,
            "chatroom" => ChatType::Room,
            _ => ChatType::Group,
        };
        Conversation {
            id: self.session_to.clone(),
            kind,
            unread: self.unread_num,
            pinned: self.is_top,
            pinned_at: self.update_top_status_time,
            marks: self.marks.clone(),
            last_message: self.meta.to_message(kind),
        }
    }
}

/// `data` of the legacy lists.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LegacyList {
    /// The entries.
    #[serde(default)]
    pub channel_infos: Vec<LegacyEntry>,
}

/// `data` of the cursor list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CursorList {
    /// The next page's cursor; `""` on the last page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cursor: String,
    /// The entries.
    #[serde(default)]
    pub channel_infos: Vec<CursorEntry>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

// ---------------------------------------------------------------------------------------
// History (§4)
// ---------------------------------------------------------------------------------------

/// The `messageroaming` request body, the one type the client sends and the server reads.
/// `start` and `pull_number` are kept as raw JSON because the SDK sends `-1` as a number and
/// cursors as strings; servers read them with [`RoamingRequest::cursor`] and
/// [`RoamingRequest::page_size`].
///
/// It is written in the two shapes the SDK sends (§4), told apart by `pull_number`: the
/// paged call (`pull_number` set) writes every field, absent filters as `null`; the legacy
/// `fetchHistoryMessages` (no `pull_number`) writes only `queue`, `start` and `end`. Build
/// them with [`RoamingRequest::paged`] and [`RoamingRequest::legacy`].
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RoamingRequest {
    /// `id@easemob.com` or `id@conference.easemob.com`.
    pub queue: String,
    /// Cursor: the previous `next_key`; `-1`, `null` or `""` = the newest (or oldest) end.
    #[serde(default)]
    pub start: Value,
    /// Always `-1`.
    #[serde(default)]
    pub end: Value,
    /// Page size 1..50, default 20.
    #[serde(default)]
    pub pull_number: Value,
    /// `false` = newest first (up), `true` = oldest first (down).
    #[serde(default)]
    pub is_positive: Option<bool>,
    /// Comma-separated content types, `""` = all.
    #[serde(rename = "msgType", default)]
    pub msg_type: Option<String>,
    /// Lower time bound (ms).
    #[serde(rename = "startTime", default)]
    pub start_time: Option<i64>,
    /// Upper time bound (ms).
    #[serde(rename = "endTime", default)]
    pub end_time: Option<i64>,
    /// Sender filter for groups and rooms.
    #[serde(rename = "userId", default)]
    pub user_id: Option<String>,
}

/// The default page size when `pull_number` is absent (the legacy call).
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The largest page the service documents.
pub const MAX_PAGE_SIZE: u32 = 50;

impl Serialize for RoamingRequest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let paged = !self.pull_number.is_null();
        let mut body = serializer.serialize_struct("RoamingRequest", if paged { 9 } else { 3 })?;
        body.serialize_field("queue", &self.queue)?;
        body.serialize_field("start", &self.start)?;
        body.serialize_field("end", &self.end)?;
        if paged {
            body.serialize_field("pull_number", &self.pull_number)?;
            body.serialize_field("is_positive", &self.is_positive)?;
            body.serialize_field("msgType", &self.msg_type)?;
            body.serialize_field("startTime", &self.start_time)?;
            body.serialize_field("endTime", &self.end_time)?;
            body.serialize_field("userId", &self.user_id)?;
        }
        body.end()
    }
}

/// `start` as the SDK sends it: the cursor string, or the number `-1` for "from the end".
fn start_of(cursor: Option<&str>) -> Value {
    cursor
        .filter(|c| !c.is_empty())
        .map_or(Value::from(-1), |c| Value::String(c.to_string()))
}

impl RoamingRequest {
    /// The body of the legacy `fetchHistoryMessages`: `queue`, `start` (the cursor, `-1`
    /// without one) and `end` only.
    pub fn legacy(queue: String, cursor: Option<&str>) -> RoamingRequest {
        RoamingRequest {
            queue,
            start: start_of(cursor),
            end: Value::from(-1),
            ..RoamingRequest::default()
        }
    }

    /// The body of the paged history call with no filters (`msgType` `""`, the others
    /// `null`); set `msg_type`, `start_time`, `end_time` and `user_id` to filter.
    pub fn paged(
        queue: String,
        cursor: Option<&str>,
        page_size: u32,
        direction: Direction,
    ) -> RoamingRequest {
        RoamingRequest {
            queue,
            start: start_of(cursor),
            end: Value::from(-1),
            pull_number: Value::from(page_size),
            is_positive: Some(direction == Direction::Down),
            msg_type: Some(String::new()),
            start_time: None,
            end_time: None,
            user_id: None,
        }
    }

    /// The cursor to start from; `None` = start at the end the direction begins from.
    pub fn cursor(&self) -> Result<Option<u64>, String> {
        match &self.start {
            Value::Null => Ok(None),
            Value::Number(n) if n.as_i64() == Some(-1) => Ok(None),
            Value::Number(n) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("start must be a cursor or -1, got {n}")),
            Value::String(s) if s.is_empty() || s == "-1" => Ok(None),
            Value::String(s) => s
                .parse()
                .map(Some)
                .map_err(|_| "start is not a cursor this server issued".to_string()),
            other => Err(format!(
                "start must be a string or number, got {}",
                kind_of(other)
            )),
        }
    }

    /// The page size: 1..=50, 20 when absent. Strings holding numbers are accepted.
    pub fn page_size(&self) -> Result<u32, String> {
        let n = match &self.pull_number {
            Value::Null => return Ok(DEFAULT_PAGE_SIZE),
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (1..=i64::from(MAX_PAGE_SIZE)).contains(&n) => Ok(n as u32),
            _ => Err(format!(
                "pull_number must be between 1 and {MAX_PAGE_SIZE}, got {}",
                short_json(&self.pull_number)
            )),
        }
    }

    /// The content types asked for; empty = all.
    pub fn types(&self) -> Vec<String> {
        self.msg_type
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        s.chars().take(40).collect::<String>() + "…"
    } else {
        s
    }
}

/// One history entry: base64 of a protobuf `Meta`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoamingEntry {
    /// Standard base64.
    pub msg: String,
}

/// `data` of a history response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoamingPage {
    /// Entries in the order asked for.
    #[serde(default)]
    pub msgs: Vec<RoamingEntry>,
    /// The next page's cursor; opaque to clients.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub next_key: String,
    /// No more pages in this direction.
    #[serde(default)]
    pub is_last: bool,
}

// ---------------------------------------------------------------------------------------
// Errors (§6)
// ---------------------------------------------------------------------------------------

/// An error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code such as `illegal_argument`.
    #[serde(default)]
    pub error: String,
    /// The server's exception class.
    #[serde(default)]
    pub exception: String,
    /// Server time (ms).
    #[serde(default)]
    pub timestamp: i64,
    /// Always 0.
    #[serde(default)]
    pub duration: i64,
    /// Text for the person.
    #[serde(default)]
    pub error_description: String,
    /// Numeric code of newer endpoints.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<i64>,
}
