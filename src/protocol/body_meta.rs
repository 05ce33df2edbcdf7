//! `MessageBody.meta` (PROTOCOL.md §5 rule 7, §8.4): a JSON string beside a message's
//! content with what features added to it: edits, reactions, threads, translations,
//! delivered and read state. Every key is optional and unknown keys are kept for display;
//! a value of an unexpected shape is kept as it came rather than dropped.

use serde_json::{Map, Value};

use super::ProtocolError;
use super::pb::MessageBody;

/// How often, by whom and when a message was edited (`edit_msg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edit {
    /// Times edited (the service allows 5).
    pub count: Option<u64>,
    /// Who edited it last.
    pub operator: Option<String>,
    /// When (ms since the epoch).
    pub time: Option<i64>,
}

/// One reaction on a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    /// The emoji (or its name).
    pub emoji: String,
    /// How many reacted with it.
    pub count: u64,
    /// Some of who reacted.
    pub users: Vec<String>,
    /// The reader is among them (`state`).
    pub mine: bool,
}

/// What `MessageBody.meta` carries, decoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BodyMeta {
    /// `edit_msg`.
    pub edit: Option<Edit>,
    /// `reaction`, in the order sent.
    pub reactions: Vec<Reaction>,
    /// `thread`: the thread this message belongs to (`msg_parent_id`, `muc_parent_id`,
    /// `thread_name`).
    pub thread: Option<Map<String, Value>>,
    /// `thread_overview`: the thread started from this message (id, name, message
    /// count, last message).
    pub thread_overview: Option<Map<String, Value>>,
    /// `translations`, as sent.
    pub translations: Option<Value>,
    /// `isDelivered` (single chats).
    pub delivered: Option<bool>,
    /// `isRead` (single chats).
    pub read: Option<bool>,
    /// Every other key, in the order sent: shown, never interpreted.
    pub other: Map<String, Value>,
}

impl BodyMeta {
    /// Decodes the JSON text of `MessageBody.meta`. Not a JSON object: an error.
    pub fn parse(json: &str) -> Result<BodyMeta, ProtocolError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| ProtocolError::BodyMeta(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(ProtocolError::BodyMeta("not a JSON object".into()));
        };
        Ok(BodyMeta::from_object(map))
    }

    /// Reads the JSON object of `MessageBody.meta` ([`Message::meta`](super::Message)).
    pub fn from_object(map: Map<String, Value>) -> BodyMeta {
        let mut meta = BodyMeta::default();
        for (key, value) in map {
            match (key.as_str(), value) {
                ("edit_msg", Value::Object(e)) => {
                    meta.edit = Some(Edit {
                        count: e.get("count").and_then(number_u64),
                        operator: e.get("operator").and_then(text),
                        time: e
                            .get("edit_time")
                            .and_then(number_u64)
                            .and_then(|t| i64::try_from(t).ok()),
                    });
                }
                ("reaction", Value::Array(list)) => {
                    meta.reactions = list.iter().filter_map(reaction).collect();
                }
                ("thread", Value::Object(t)) => meta.thread = Some(t),
                ("thread_overview", Value::Object(t)) => meta.thread_overview = Some(t),
                ("translations", v) => meta.translations = Some(v),
                ("isDelivered", Value::Bool(b)) => meta.delivered = Some(b),
                ("isRead", Value::Bool(b)) => meta.read = Some(b),
                (_, v) => {
                    meta.other.insert(key, v);
                }
            }
        }
        meta
    }

    /// Nothing to show.
    pub fn is_empty(&self) -> bool {
        *self == BodyMeta::default()
    }
}

/// The `meta` of a history entry's message body (protobuf bytes of the `MessageBody`):
/// `Ok(None)` when it has none.
pub fn body_meta_of(payload: &[u8]) -> Result<Option<BodyMeta>, ProtocolError> {
    use prost::Message as _;
    let body = MessageBody::decode(payload).map_err(|e| ProtocolError::Protobuf(e.to_string()))?;
    body.meta
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .map(BodyMeta::parse)
        .transpose()
}

fn reaction(v: &Value) -> Option<Reaction> {
    let r = v.as_object()?;
    let emoji = r.get("reaction").and_then(text)?;
    Some(Reaction {
        emoji,
        count: r
            .get("userCount")
            .or_else(|| r.get("count"))
            .and_then(number_u64)
            .unwrap_or(0),
        users: r
            .get("userList")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(text).collect())
            .unwrap_or_default(),
        mine: r
            .get("state")
            .or_else(|| r.get("isAddedBySelf"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// A number, or a decimal string of one (ids and times are often strings).
fn number_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    const SAMPLE: &str = r#"{
        "edit_msg": {"count": 2, "operator": "sarah.chen", "edit_time": "1709640000000"},
        "reaction": [
            {"reaction": "👍", "userCount": 3, "userList": ["omar", "li.wei"], "state": true},
            {"reaction": "❤️", "count": 1, "userList": ["omar"]},
            {"no_emoji": true}
        ],
        "thread_overview": {"id": "212", "name": "design", "message_count": 12},
        "isDelivered": true,
        "isRead": false,
        "zz_new_feature": {"x": 1},
        "aa_other": 5
    }"#;

    #[test]
    fn every_feature_is_read_and_unknown_keys_are_kept_in_order() {
        let m = BodyMeta::parse(SAMPLE).expect("parses");
        assert_eq!(
            m.edit,
            Some(Edit {
                count: Some(2),
                operator: Some("sarah.chen".into()),
                time: Some(1_709_640_000_000),
            })
        );
        assert_eq!(
            m.reactions.len(),
            2,
            "a reaction without an emoji is skipped"
        );
        assert_eq!(m.reactions[0].emoji, "👍");
        assert_eq!(m.reactions[0].count, 3);
        assert!(m.reactions[0].mine);
        assert_eq!(m.reactions[1].count, 1);
        assert!(!m.reactions[1].mine);
        assert_eq!(
            m.thread_overview.as_ref().and_then(|t| t.get("name")),
            Some(&Value::String("design".into()))
        );
        assert_eq!((m.delivered, m.read), (Some(true), Some(false)));
        let other: Vec<&String> = m.other.keys().collect();
        assert_eq!(other, ["zz_new_feature", "aa_other"], "the sender's order");
    }

    #[test]
    fn bad_meta_is_an_error_and_an_odd_shape_is_kept() {
        assert!(BodyMeta::parse("not json").is_err());
        assert!(BodyMeta::parse("[1]").is_err());
        let odd = BodyMeta::parse(r#"{"edit_msg": "yes", "isRead": 1}"#).expect("parses");
        assert_eq!(odd.edit, None);
        assert_eq!(
            odd.other.get("edit_msg"),
            Some(&Value::String("yes".into()))
        );
        assert_eq!(odd.other.get("isRead"), Some(&Value::from(1)));
        assert!(BodyMeta::parse("{}").expect("parses").is_empty());
    }

    #[test]
    fn the_meta_of_a_message_body_is_decoded() {
        let body = MessageBody {
            meta: Some(SAMPLE.into()),
            ..MessageBody::default()
        };
        let decoded = body_meta_of(&body.encode_to_vec()).expect("decodes");
        assert_eq!(decoded.map(|m| m.reactions.len()), Some(2));
        let none = body_meta_of(&MessageBody::default().encode_to_vec()).expect("decodes");
        assert_eq!(none, None);
    }
}
