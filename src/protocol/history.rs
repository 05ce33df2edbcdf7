//! History entries: base64 protobuf `Meta` ⇄ [`Message`], following PROTOCOL.md §5 step by
//! step. Decoding is what the client does; encoding is what the embedded server does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use serde_json::{Map, Number, Value};

use super::ProtocolError;
use super::domain::{Attachment, ChatType, Content, Message, Size};
use super::pb::{
    Jid, KeyValue, MessageBody, Meta,
    key_value::{Value as KvValue, ValueType},
    message_body::{
        Content as PbContent, Type as BodyType,
        content::{Size as PbSize, SubType, Type as ContentType},
    },
    meta::NameSpace,
};

/// Decodes one history entry. `Ok(None)` for entries that are not messages: other
/// namespaces, events (acks, recalls, edits) and bodies without content, as the SDK drops
/// them.
pub fn decode_entry(base64_text: &str) -> Result<Option<Message>, ProtocolError> {
    let bytes = STANDARD
        .decode(base64_text.trim())
        .map_err(|e| ProtocolError::Base64(e.to_string()))?;
    decode_meta(&bytes)
}

/// Decodes the protobuf bytes of one `Meta`.
pub fn decode_meta(bytes: &[u8]) -> Result<Option<Message>, ProtocolError> {
    let meta = Meta::decode(bytes).map_err(|e| ProtocolError::Protobuf(e.to_string()))?;
    if meta.ns != Some(NameSpace::Chat as i32) {
        return Ok(None);
    }
    let payload = meta.payload.as_deref().unwrap_or_default();
    let body = MessageBody::decode(payload).map_err(|e| ProtocolError::Protobuf(e.to_string()))?;
    let chat_type = match body.r#type.and_then(|t| BodyType::try_from(t).ok()) {
        Some(BodyType::Chat) => ChatType::Single,
        Some(BodyType::Groupchat) => ChatType::Group,
        Some(BodyType::Chatroom) => ChatType::Room,
        _ => return Ok(None),
    };
    let Some(first) = body.contents.first() else {
        return Ok(None);
    };
    let name = |jid: &Option<Jid>| {
        jid.as_ref()
            .and_then(|j| j.name.clone())
            .unwrap_or_default()
    };
    Ok(Some(Message {
        id: meta.id.unwrap_or(0),
        from: name(&body.from),
        to: name(&body.to),
        chat_type,
        time: meta
            .timestamp
            .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        content: content_from_pb(first),
        ext: key_values_to_object(&body.ext),
        meta: body.meta.as_deref().and_then(meta_object),
    }))
}

/// `MessageBody.meta` as a JSON object; anything else (empty, not JSON, not an object) is
/// no meta: it only ever adds details, so a broken one must not cost the message.
fn meta_object(json: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(json) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// The JSON text of a message's meta, as the body carries it.
fn meta_text(message: &Message) -> Option<String> {
    message
        .meta
        .as_ref()
        .map(|m| Value::Object(m.clone()).to_string())
}

fn content_from_pb(c: &PbContent) -> Content {
    let file = || Attachment {
        url: c.remote_path.clone().unwrap_or_default(),
        secret: c.secret_key.clone().filter(|s| !s.is_empty()),
        filename: c.display_name.clone().unwrap_or_default(),
        file_length: c.file_length.and_then(|n| u64::try_from(n).ok()),
    };
    let size = |s: &Option<PbSize>| {
        s.as_ref().map(|s| Size {
            width: s.width.unwrap_or(0.0),
            height: s.height.unwrap_or(0.0),
        })
    };
    let duration = c.duration.and_then(|d| u32::try_from(d).ok());
    let kind = c
        .r#type
        .and_then(|t| ContentType::try_from(t).ok())
        .unwrap_or(ContentType::Text);
    match kind {
        // Presence matters: a subType that is present and 0 makes a text combined.
        ContentType::Text if c.sub_type == Some(SubType::Combine as i32) => combined(c, file()),
        ContentType::Combine => combined(c, file()),
        ContentType::Text => Content::Text {
            text: c.text.clone().unwrap_or_default(),
        },
        ContentType::Image => Content::Image {
            file: file(),
            size: size(&c.size),
            gif: c.sub_type == Some(SubType::Gif as i32),
        },
        ContentType::Video => Content::Video {
            file: file(),
            duration,
            thumb: c.thumbnail_remote_path.clone(),
            thumb_secret: c.thumbnail_secret_key.clone(),
            size: size(&c.size),
        },
        ContentType::Voice => Content::Audio {
            file: file(),
            duration,
        },
        ContentType::File => Content::File { file: file() },
        ContentType::Location => Content::Location {
            address: c.address.clone().unwrap_or_default(),
            lat: c.latitude.unwrap_or(0.0),
            lng: c.longitude.unwrap_or(0.0),
            building: c.building_name.clone(),
        },
        ContentType::Command => Content::Command {
            action: c.action.clone().unwrap_or_default(),
        },
        ContentType::Custom => Content::Custom {
            event: c.custom_event.clone().unwrap_or_default(),
            exts: key_values_to_object(&c.custom_exts),
        },
    }
}

fn combined(c: &PbContent, file: Attachment) -> Content {
    Content::Combined {
        title: c.title.clone().unwrap_or_default(),
        summary: c.summary.clone().unwrap_or_default(),
        file,
        level: c.combine_level.and_then(|n| u32::try_from(n).ok()),
        text: c.text.clone().unwrap_or_default(),
    }
}

/// Reads typed key/values into a JSON object by `KeyValue.type` (§5 step 5). A pair whose
/// value does not match its type is kept as whatever value it carries.
pub fn key_values_to_object(pairs: &[KeyValue]) -> Map<String, Value> {
    pairs
        .iter()
        .filter_map(|kv| Some((kv.key.clone()?, key_value_to_json(kv))))
        .collect()
}

fn key_value_to_json(kv: &KeyValue) -> Value {
    let kind = kv.r#type.and_then(|t| ValueType::try_from(t).ok());
    match (kind, &kv.value) {
        (Some(ValueType::Bool), Some(KvValue::VarintValue(v))) => Value::Bool(*v != 0),
        (Some(ValueType::Uint), Some(KvValue::VarintValue(v))) => Value::from(*v as u64),
        (_, Some(KvValue::VarintValue(v))) => Value::from(*v),
        (_, Some(KvValue::FloatValue(v))) => float_json(f64::from(*v)),
        (_, Some(KvValue::DoubleValue(v))) => float_json(*v),
        (Some(ValueType::JsonString), Some(KvValue::StringValue(s))) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        (_, Some(KvValue::StringValue(s))) => Value::String(s.clone()),
        (Some(ValueType::Bool), None) => Value::Bool(false),
        (_, None) => Value::Null,
    }
}

fn float_json(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Writes a JSON object as typed key/values: booleans as BOOL, integers as LLINT (UINT
/// beyond i64), other numbers as DOUBLE, strings as STRING, anything else as JSON_STRING.
pub fn object_to_key_values(object: &Map<String, Value>) -> Vec<KeyValue> {
    object
        .iter()
        .map(|(key, value)| {
            let (kind, value) = match value {
                Value::Bool(b) => (ValueType::Bool, KvValue::VarintValue(i64::from(*b))),
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        (ValueType::Llint, KvValue::VarintValue(i))
                    } else if let Some(u) = n.as_u64() {
                        (ValueType::Uint, KvValue::VarintValue(u as i64))
                    } else {
                        (
                            ValueType::Double,
                            KvValue::DoubleValue(n.as_f64().unwrap_or(0.0)),
                        )
                    }
                }
                Value::String(s) => (ValueType::String, KvValue::StringValue(s.clone())),
                other => (
                    ValueType::JsonString,
                    KvValue::StringValue(other.to_string()),
                ),
            };
            KeyValue {
                key: Some(key.clone()),
                r#type: Some(kind as i32),
                value: Some(value),
            }
        })
        .collect()
}

/// Encodes a message as one history entry (standard base64 of a `Meta`), in the shape the
/// official SDK accepts (§7): ns CHAT, a message type, non-empty contents, no `subType` on a
/// plain text.
pub fn encode_entry(message: &Message, appkey: &str) -> String {
    STANDARD.encode(encode_meta(message, appkey))
}

/// Encodes a message as the protobuf bytes of a `Meta`.
pub fn encode_meta(message: &Message, appkey: &str) -> Vec<u8> {
    let jid = |name: &str, domain: &str| Jid {
        app_key: Some(appkey.to_string()),
        name: Some(name.to_string()),
        domain: Some(domain.to_string()),
        client_resource: None,
    };
    let body_type = match message.chat_type {
        ChatType::Single => BodyType::Chat,
        ChatType::Group => BodyType::Groupchat,
        ChatType::Room => BodyType::Chatroom,
    };
    let from = jid(&message.from, super::domain::SINGLE_DOMAIN);
    let to = jid(&message.to, message.chat_type.queue_domain());
    let body = MessageBody {
        r#type: Some(body_type as i32),
        from: Some(from.clone()),
        to: Some(to.clone()),
        contents: vec![content_to_pb(&message.content)],
        ext: object_to_key_values(&message.ext),
        meta: meta_text(message),
        ..MessageBody::default()
    };
    let meta = Meta {
        id: Some(message.id),
        from: Some(from),
        to: Some(to),
        timestamp: Some(u64::try_from(message.time).unwrap_or(0)),
        ns: Some(NameSpace::Chat as i32),
        payload: Some(body.encode_to_vec()),
        ..Meta::default()
    };
    meta.encode_to_vec()
}

fn content_to_pb(content: &Content) -> PbContent {
    let mut c = PbContent::default();
    if let Some(file) = content.attachment() {
        c.remote_path = Some(file.url.clone());
        c.secret_key = file.secret.clone();
        c.display_name = Some(file.filename.clone());
        c.file_length = file
            .file_length
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    }
    let size = |s: &Option<Size>| {
        s.map(|s| PbSize {
            width: Some(s.width),
            height: Some(s.height),
        })
    };
    let duration = |d: &Option<u32>| d.map(|d| i32::try_from(d).unwrap_or(i32::MAX));
    let kind = match content {
        Content::Text { text } => {
            c.text = Some(text.clone());
            ContentType::Text
        }
        Content::Image { size: s, gif, .. } => {
            c.size = size(s);
            if *gif {
                c.sub_type = Some(SubType::Gif as i32);
            }
            ContentType::Image
        }
        Content::Video {
            duration: d,
            thumb,
            thumb_secret,
            size: s,
            ..
        } => {
            c.duration = duration(d);
            c.thumbnail_remote_path = thumb.clone();
            c.thumbnail_secret_key = thumb_secret.clone();
            c.size = size(s);
            ContentType::Video
        }
        Content::Audio { duration: d, .. } => {
            c.duration = duration(d);
            ContentType::Voice
        }
        Content::File { .. } => ContentType::File,
        Content::Location {
            address,
            lat,
            lng,
            building,
        } => {
            c.address = Some(address.clone());
            c.latitude = Some(*lat);
            c.longitude = Some(*lng);
            c.building_name = building.clone();
            ContentType::Location
        }
        Content::Command { action } => {
            c.action = Some(action.clone());
            ContentType::Command
        }
        Content::Custom { event, exts } => {
            c.custom_event = Some(event.clone());
            c.custom_exts = object_to_key_values(exts);
            ContentType::Custom
        }
        Content::Combined {
            title,
            summary,
            level,
            text,
            ..
        } => {
            // The SDK's own encoding: a text with subType present and 0.
            c.sub_type = Some(SubType::Combine as i32);
            c.title = Some(title.clone());
            c.summary = Some(summary.clone());
            c.combine_level = level.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
            c.text = Some(text.clone());
            ContentType::Text
        }
    };
    c.r#type = Some(kind as i32);
    c
}

/// What an entry says besides its body's contents: the stored columns of a message.
#[derive(Clone, Copy, Debug)]
pub struct EntryHead<'a> {
    /// The message id.
    pub id: u64,
    /// Sent at (ms since the epoch).
    pub time: i64,
    /// Single, group or room.
    pub chat_type: ChatType,
    /// The sender's user id.
    pub from: &'a str,
    /// The receiving user or group id.
    pub to: &'a str,
}

/// The part of an entry that only the message's content, ext and meta decide: the
/// protobuf bytes of `MessageBody` fields 4, 5 and 9 (contents, ext, meta). A server stores it once, at
/// import, and [`write_meta`] builds the entry around it for any app key: the same bytes
/// [`encode_meta`] writes.
pub fn encode_body_tail(message: &Message) -> Vec<u8> {
    MessageBody {
        contents: vec![content_to_pb(&message.content)],
        ext: object_to_key_values(&message.ext),
        meta: meta_text(message),
        ..MessageBody::default()
    }
    .encode_to_vec()
}

/// Appends the protobuf bytes of a `Meta` to `out`, from its head and its body's stored
/// tail ([`encode_body_tail`]), in the field order prost writes: no allocation beyond
/// `out` growing.
pub fn write_meta(head: &EntryHead<'_>, appkey: &str, tail: &[u8], out: &mut Vec<u8>) {
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
    let body_type = match head.chat_type {
        ChatType::Single => BodyType::Chat,
        ChatType::Group => BodyType::Groupchat,
        ChatType::Room => BodyType::Chatroom,
    };
    let from_domain = super::domain::SINGLE_DOMAIN;
    let to_domain = head.chat_type.queue_domain();
    let field_len =
        |tag: u32, len: usize| prost::encoding::key_len(tag) + encoded_len_varint(len as u64) + len;
    let jid_len = |name: &str, domain: &str| {
        field_len(1, appkey.len()) + field_len(2, name.len()) + field_len(3, domain.len())
    };
    let from_len = jid_len(head.from, from_domain);
    let to_len = jid_len(head.to, to_domain);
    let body_type = body_type as i32 as u64;
    let payload_len = prost::encoding::key_len(1)
        + encoded_len_varint(body_type)
        + field_len(2, from_len)
        + field_len(3, to_len)
        + tail.len();

    let bytes = |tag: u32, value: &[u8], out: &mut Vec<u8>| {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(value.len() as u64, out);
        out.extend_from_slice(value);
    };
    let jid = |tag: u32, len: usize, name: &str, domain: &str, out: &mut Vec<u8>| {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(len as u64, out);
        bytes(1, appkey.as_bytes(), out);
        bytes(2, name.as_bytes(), out);
        bytes(3, domain.as_bytes(), out);
    };
    out.reserve(payload_len + from_len + to_len + 40);
    encode_key(1, WireType::Varint, out);
    encode_varint(head.id, out);
    jid(2, from_len, head.from, from_domain, out);
    jid(3, to_len, head.to, to_domain, out);
    encode_key(4, WireType::Varint, out);
    encode_varint(u64::try_from(head.time).unwrap_or(0), out);
    encode_key(5, WireType::Varint, out);
    encode_varint(NameSpace::Chat as i32 as u64, out);
    encode_key(6, WireType::LengthDelimited, out);
    encode_varint(payload_len as u64, out);
    encode_key(1, WireType::Varint, out);
    encode_varint(body_type, out);
    jid(2, from_len, head.from, from_domain, out);
    jid(3, to_len, head.to, to_domain, out);
    out.extend_from_slice(tail);
}

#[cfg(test)]
mod meta_tests {
    use super::*;

    #[test]
    fn a_meta_that_is_not_a_json_object_is_no_meta() {
        assert!(meta_object("{\"isRead\": true}").is_some());
        for broken in ["", "[1]", "{", "\"text\"", "null"] {
            assert_eq!(meta_object(broken), None, "{broken:?}");
        }
    }
}
