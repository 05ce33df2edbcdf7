//! The wire format against bytes written by hand from PROTOCOL.md §5's field numbers, so
//! decoding is checked against the contract and not only against roam's own encoder.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use roam::protocol::json::{
    BodyJson, CursorEntry, ExportLine, LegacyEntry, MessageJson, RoamingRequest, TokenRequest,
    TokenResponse,
};
use roam::protocol::{ChatType, Content, Message, decode_entry, encode_entry};
use serde_json::{Map, Value, json};

/// A minimal protobuf writer: just enough to spell messages field by field.
#[derive(Default, Clone)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(mut self, field: u32, mut v: u64) -> Self {
        self.key(field, 0);
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                break;
            }
            self.0.push(byte | 0x80);
        }
        self
    }
    fn double(mut self, field: u32, v: f64) -> Self {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(mut self, field: u32, v: &[u8]) -> Self {
        self.key(field, 2);
        let len = Pb::default().raw_varint(v.len() as u64);
        self.0.extend_from_slice(&len.0);
        self.0.extend_from_slice(v);
        self
    }
    fn str(self, field: u32, v: &str) -> Self {
        self.bytes(field, v.as_bytes())
    }
    fn msg(self, field: u32, v: Pb) -> Self {
        self.bytes(field, &v.0)
    }
    fn key(&mut self, field: u32, wire: u8) {
        let k = Pb::default().raw_varint(u64::from(field << 3 | u32::from(wire)));
        self.0.extend_from_slice(&k.0);
    }
    fn raw_varint(mut self, mut v: u64) -> Self {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }
}

fn jid(name: &str) -> Pb {
    Pb::default()
        .str(1, "acme#chatapp")
        .str(2, name)
        .str(3, "easemob.com")
}

/// Meta{id, timestamp, ns, payload=MessageBody{type, from, to, contents=[content], ext}}.
fn entry(ns: u64, body_type: u64, content: Option<Pb>, ext: Vec<Pb>) -> String {
    let mut body = Pb::default()
        .varint(1, body_type)
        .msg(2, jid("bob"))
        .msg(3, jid("alice"));
    if let Some(c) = content {
        body = body.msg(4, c);
    }
    for kv in ext {
        body = body.msg(5, kv);
    }
    let meta = Pb::default()
        .varint(1, 1_234_567_890_123_456_789)
        .msg(2, jid("bob"))
        .msg(3, jid("alice"))
        .varint(4, 1_716_999_999_000)
        .varint(5, ns)
        .bytes(6, &body.0);
    STANDARD.encode(&meta.0)
}

fn decode_content(content: Pb) -> Content {
    let m = decode_entry(&entry(1, 1, Some(content), vec![]))
        .unwrap()
        .unwrap();
    m.content
}

#[test]
fn a_hand_written_text_entry_decodes_with_ids_times_and_names_from_the_body() {
    let m = decode_entry(&entry(
        1,
        1,
        Some(Pb::default().varint(1, 0).str(2, "hi alice")),
        vec![],
    ))
    .unwrap()
    .unwrap();
    assert_eq!(m.id, 1_234_567_890_123_456_789);
    assert_eq!(m.time, 1_716_999_999_000);
    assert_eq!(m.from, "bob");
    assert_eq!(m.to, "alice");
    assert_eq!(m.chat_type, ChatType::Single);
    assert_eq!(
        m.content,
        Content::Text {
            text: "hi alice".into()
        }
    );
}

#[test]
fn group_and_room_types_map_to_chat_types() {
    let text = || Some(Pb::default().varint(1, 0).str(2, "x"));
    let group = decode_entry(&entry(1, 2, text(), vec![])).unwrap().unwrap();
    let room = decode_entry(&entry(1, 3, text(), vec![])).unwrap().unwrap();
    assert_eq!(group.chat_type, ChatType::Group);
    assert_eq!(room.chat_type, ChatType::Room);
}

#[test]
fn other_namespaces_events_and_empty_contents_are_dropped() {
    let text = || Some(Pb::default().varint(1, 0).str(2, "x"));
    for ns in [0, 2, 3, 4, 5, 6] {
        assert_eq!(
            decode_entry(&entry(ns, 1, text(), vec![])),
            Ok(None),
            "ns {ns}"
        );
    }
    for event in [0, 4, 5, 6, 7, 8] {
        assert_eq!(
            decode_entry(&entry(1, event, text(), vec![])),
            Ok(None),
            "type {event}"
        );
    }
    assert_eq!(decode_entry(&entry(1, 1, None, vec![])), Ok(None));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(decode_entry("not base64 !!").is_err());
    assert!(decode_entry(&STANDARD.encode([0xff, 0xff, 0xff])).is_err());
}

#[test]
fn subtype_presence_decides_combined_and_gif() {
    let plain = decode_content(Pb::default().varint(1, 0).str(2, "t"));
    assert!(matches!(plain, Content::Text { .. }));
    let combined = decode_content(
        Pb::default()
            .varint(1, 0)
            .str(2, "fallback")
            .varint(22, 0)
            .str(23, "Chat history")
            .str(24, "a: hi\nb: yo")
            .varint(25, 1)
            .str(7, "https://x/c")
            .str(8, "sec"),
    );
    match combined {
        Content::Combined {
            title,
            summary,
            level,
            text,
            file,
        } => {
            assert_eq!(title, "Chat history");
            assert_eq!(summary, "a: hi\nb: yo");
            assert_eq!(level, Some(1));
            assert_eq!(text, "fallback");
            assert_eq!(
                file.download_url(),
                "https://x/c?em-redirect=true&share-secret=sec"
            );
        }
        other => panic!("expected combined, got {other:?}"),
    }
    let gif = decode_content(Pb::default().varint(1, 1).varint(22, 1).str(7, "u"));
    assert!(matches!(gif, Content::Image { gif: true, .. }));
    let png = decode_content(Pb::default().varint(1, 1).str(7, "u"));
    assert!(matches!(png, Content::Image { gif: false, .. }));
}

#[test]
fn every_content_kind_decodes_from_field_numbers() {
    let size = Pb::default().double(1, 1024.0).double(2, 768.0);
    match decode_content(
        Pb::default()
            .varint(1, 1)
            .str(6, "photo.jpg")
            .str(7, "https://x/i")
            .varint(9, 235_520)
            .msg(13, size),
    ) {
        Content::Image { file, size, .. } => {
            assert_eq!(file.filename, "photo.jpg");
            assert_eq!(file.file_length, Some(235_520));
            assert_eq!(size.map(|s| (s.width, s.height)), Some((1024.0, 768.0)));
            assert_eq!(
                file.thumbnail_url(),
                "https://x/i?em-redirect=true&thumbnail=true"
            );
        }
        other => panic!("{other:?}"),
    }
    match decode_content(
        Pb::default()
            .varint(1, 2)
            .str(6, "clip.mp4")
            .varint(12, 31)
            .str(14, "https://x/t")
            .str(15, "ts"),
    ) {
        Content::Video {
            file,
            duration,
            thumb,
            thumb_secret,
            ..
        } => {
            assert_eq!(file.filename, "clip.mp4");
            assert_eq!(duration, Some(31));
            assert_eq!(thumb.as_deref(), Some("https://x/t"));
            assert_eq!(thumb_secret.as_deref(), Some("ts"));
        }
        other => panic!("{other:?}"),
    }
    match decode_content(
        Pb::default()
            .varint(1, 3)
            .double(3, 39.9)
            .double(4, 116.36)
            .str(5, "西城区")
            .str(21, "大厦"),
    ) {
        Content::Location {
            address,
            lat,
            lng,
            building,
        } => {
            assert_eq!((address.as_str(), lat, lng), ("西城区", 39.9, 116.36));
            assert_eq!(building.as_deref(), Some("大厦"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decode_content(Pb::default().varint(1, 4).varint(12, 12)),
        Content::Audio {
            duration: Some(12),
            ..
        }
    ));
    assert!(matches!(
        decode_content(Pb::default().varint(1, 5).str(6, "report.pdf")),
        Content::File { file } if file.filename == "report.pdf"
    ));
    assert_eq!(
        decode_content(Pb::default().varint(1, 6).str(10, "run")),
        Content::Command {
            action: "run".into()
        }
    );
    let kv = Pb::default().str(1, "name").varint(2, 7).str(6, "flower");
    match decode_content(Pb::default().varint(1, 7).str(19, "gift").msg(20, kv)) {
        Content::Custom { event, exts } => {
            assert_eq!(event, "gift");
            assert_eq!(exts.get("name"), Some(&json!("flower")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decode_content(Pb::default().varint(1, 8).str(23, "T")),
        Content::Combined { title, .. } if title == "T"
    ));
}

#[test]
fn key_values_are_typed_by_their_type_field() {
    let kvs = vec![
        Pb::default().str(1, "b").varint(2, 1).varint(3, 1),
        Pb::default().str(1, "i").varint(2, 2).varint(3, 42),
        Pb::default().str(1, "u").varint(2, 3).varint(3, 7),
        Pb::default()
            .str(1, "l")
            .varint(2, 4)
            .varint(3, (-5i64) as u64),
        Pb::default().str(1, "f").varint(2, 5).float(4, 1.5),
        Pb::default().str(1, "d").varint(2, 6).double(5, 2.25),
        Pb::default().str(1, "s").varint(2, 7).str(6, "x"),
        Pb::default()
            .str(1, "j")
            .varint(2, 8)
            .str(6, r#"{"a":[1,2]}"#),
        Pb::default()
            .str(1, "bad_json")
            .varint(2, 8)
            .str(6, "{oops"),
    ];
    let m = decode_entry(&entry(
        1,
        1,
        Some(Pb::default().varint(1, 0).str(2, "t")),
        kvs,
    ))
    .unwrap()
    .unwrap();
    let want = json!({"b": true, "i": 42, "u": 7, "l": -5, "f": 1.5, "d": 2.25, "s": "x",
                      "j": {"a": [1, 2]}, "bad_json": "{oops"});
    assert_eq!(Value::Object(m.ext), want);
}

fn sample_messages() -> Vec<Message> {
    let file = roam::protocol::Attachment {
        url: "https://a/f".into(),
        secret: Some("s".into()),
        filename: "report.pdf".into(),
        file_length: Some(1_200_000),
    };
    let mut exts = Map::new();
    exts.insert("name".into(), json!("flower"));
    let contents = vec![
        Content::Text {
            text: "你好 👩‍👩‍👧 مرحبا".into(),
        },
        Content::Image {
            file: file.clone(),
            size: Some(roam::protocol::Size {
                width: 10.0,
                height: 20.0,
            }),
            gif: true,
        },
        Content::Video {
            file: file.clone(),
            duration: Some(31),
            thumb: Some("t".into()),
            thumb_secret: None,
            size: None,
        },
        Content::Audio {
            file: file.clone(),
            duration: Some(12),
        },
        Content::File { file: file.clone() },
        Content::Location {
            address: "西城区".into(),
            lat: 39.9,
            lng: 116.36,
            building: Some("b".into()),
        },
        Content::Command {
            action: "run".into(),
        },
        Content::Custom {
            event: "gift".into(),
            exts,
        },
        Content::Combined {
            title: "T".into(),
            summary: "S".into(),
            file,
            level: Some(1),
            text: "fb".into(),
        },
    ];
    contents
        .into_iter()
        .enumerate()
        .map(|(i, content)| Message {
            id: 9_000_000_000_000_000_000 + i as u64,
            from: "bob".into(),
            to: "alice".into(),
            chat_type: ChatType::Group,
            time: 1_700_000_000_000 + i as i64,
            content,
            ext: Map::new(),
            meta: None,
        })
        .collect()
}

#[test]
fn every_kind_round_trips_through_protobuf_json_and_export() {
    for m in sample_messages() {
        let decoded = decode_entry(&encode_entry(&m, "acme#chatapp"))
            .unwrap()
            .unwrap();
        assert_eq!(decoded, m);
        let json = MessageJson::from_message(&m);
        let text = serde_json::to_string(&json).unwrap();
        let back: MessageJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_message(m.id, m.time, None).unwrap(), m);
        let line = serde_json::to_string(&ExportLine::from_message(&m, "outgoing")).unwrap();
        let read: ExportLine = serde_json::from_str(&line).unwrap();
        assert_eq!(read.to_message().unwrap(), m);
    }
}

#[test]
fn a_plain_text_never_carries_a_subtype() {
    let m = &sample_messages()[0];
    let bytes = roam::protocol::history::encode_meta(m, "acme#chatapp");
    use prost::Message as _;
    let meta = roam::protocol::pb::Meta::decode(bytes.as_slice()).unwrap();
    let body = roam::protocol::pb::MessageBody::decode(meta.payload.unwrap().as_slice()).unwrap();
    assert_eq!(body.contents[0].sub_type, None);
    assert_eq!(meta.ns, Some(1));
}

#[test]
fn json_bodies_accept_both_custom_exts_shapes_and_string_numbers() {
    let object: BodyJson = serde_json::from_value(
        json!({"type":"custom","customEvent":"gift","customExts":{"name":"flower"}}),
    )
    .unwrap();
    let array: BodyJson = serde_json::from_value(
        json!({"type":"custom","customEvent":"gift","customExts":[{"name":"flower"}]}),
    )
    .unwrap();
    assert_eq!(object.to_content().unwrap(), array.to_content().unwrap());
    let img: BodyJson = serde_json::from_value(
        json!({"type":"img","url":"u","file_length":"2048","size":{"width":"3","height":4}}),
    )
    .unwrap();
    match img.to_content().unwrap() {
        Content::Image { file, size, .. } => {
            assert_eq!(file.file_length, Some(2048));
            assert_eq!(size.map(|s| (s.width, s.height)), Some((3.0, 4.0)));
        }
        other => panic!("{other:?}"),
    }
    let unknown: BodyJson = serde_json::from_value(json!({"type":"hologram"})).unwrap();
    assert!(unknown.to_content().is_err());
}

#[test]
fn conversation_entries_read_the_documented_examples() {
    let legacy: LegacyEntry = serde_json::from_value(json!({
        "channel_id": "acme#chatapp_bob@easemob.com", "unread_num": 2,
        "meta": { "id": "1234567890123456789",
                  "from": "acme#chatapp_bob@easemob.com/webim_1716999999999",
                  "to": "acme#chatapp_alice@easemob.com",
                  "timestamp": 1716999999000u64,
                  "payload": "{\"bodies\":[{\"msg\":\"hi alice\",\"type\":\"txt\"}],\"ext\":{},\"from\":\"bob\",\"to\":\"alice\",\"type\":\"chat\"}" }
    }))
    .unwrap();
    let c = legacy.to_conversation().unwrap();
    assert_eq!(
        (c.id.as_str(), c.kind, c.unread),
        ("bob", ChatType::Single, 2)
    );
    let last = c.last_message.unwrap();
    assert_eq!(last.id, 1_234_567_890_123_456_789);
    assert_eq!(
        last.content,
        Content::Text {
            text: "hi alice".into()
        }
    );

    let empty: LegacyEntry =
        serde_json::from_value(json!({"channel_id": "acme#chatapp_g1@conference.easemob.com", "unread_num": 0, "meta": {}}))
            .unwrap();
    let g = empty.to_conversation().unwrap();
    assert_eq!((g.kind, g.last_message), (ChatType::Group, None));

    let cursor: CursorEntry = serde_json::from_value(json!({
        "session_to": "team", "session_type": "groupchat", "is_top": true,
        "update_top_status_time": 1716900000000u64, "unread_num": 5, "marks": ["mark_0"], "meta": {}
    }))
    .unwrap();
    let t = cursor.to_conversation();
    assert!(t.pinned);
    assert_eq!(
        (t.kind, t.unread, t.marks.as_slice()),
        (ChatType::Group, 5, ["mark_0".to_string()].as_slice())
    );
}

#[test]
fn roaming_requests_read_the_sdk_start_shapes_and_validate_page_size() {
    let req = |v: Value| serde_json::from_value::<RoamingRequest>(v).unwrap();
    assert_eq!(
        req(json!({"queue":"a@easemob.com","start":-1,"end":-1})).cursor(),
        Ok(None)
    );
    assert_eq!(req(json!({"queue":"q","start":"-1"})).cursor(), Ok(None));
    assert_eq!(req(json!({"queue":"q","start":null})).cursor(), Ok(None));
    assert_eq!(req(json!({"queue":"q","start":""})).cursor(), Ok(None));
    assert_eq!(
        req(json!({"queue":"q","start":"123"})).cursor(),
        Ok(Some(123))
    );
    assert!(req(json!({"queue":"q","start":"zz"})).cursor().is_err());
    assert_eq!(req(json!({"queue":"q"})).page_size(), Ok(20));
    assert_eq!(
        req(json!({"queue":"q","pull_number":50})).page_size(),
        Ok(50)
    );
    assert_eq!(
        req(json!({"queue":"q","pull_number":"7"})).page_size(),
        Ok(7)
    );
    for bad in [
        json!(0),
        json!(51),
        json!(-1),
        json!("abc"),
        json!(1.5),
        json!([1]),
    ] {
        assert!(
            req(json!({"queue":"q","pull_number":bad}))
                .page_size()
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn roaming_requests_are_written_in_the_two_shapes_the_sdk_sends_and_read_back() {
    // The paged call: every field, absent filters as null (what the SDK sends).
    let paged = RoamingRequest {
        queue: "bob@easemob.com".into(),
        start: json!("1234"),
        end: json!(-1),
        pull_number: json!(50),
        is_positive: Some(true),
        msg_type: Some(String::new()),
        ..RoamingRequest::default()
    };
    let wire = serde_json::to_value(&paged).unwrap();
    assert_eq!(
        wire,
        json!({"queue": "bob@easemob.com", "start": "1234", "end": -1, "pull_number": 50,
               "is_positive": true, "msgType": "", "startTime": null, "endTime": null,
               "userId": null})
    );
    let back: RoamingRequest = serde_json::from_value(wire).unwrap();
    assert_eq!(
        (back.cursor(), back.page_size(), back.is_positive),
        (Ok(Some(1234)), Ok(50), Some(true))
    );
    // The legacy call: queue, start and end only.
    let legacy = RoamingRequest {
        queue: "team@conference.easemob.com".into(),
        start: json!(-1),
        end: json!(-1),
        ..RoamingRequest::default()
    };
    assert_eq!(
        serde_json::to_value(&legacy).unwrap(),
        json!({"queue": "team@conference.easemob.com", "start": -1, "end": -1})
    );
}

fn arb_text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![any::<String>(), "[a-z 你好👍🏽\u{202e}\u{1b}\n]{0,40}"]
}

fn arb_content() -> impl Strategy<Value = Content> {
    let file = (
        arb_text(),
        proptest::option::of("[a-z0-9]{1,8}"),
        arb_text(),
        proptest::option::of(0u64..i32::MAX as u64),
    )
        .prop_map(
            |(url, secret, filename, file_length)| roam::protocol::Attachment {
                url,
                secret,
                filename,
                file_length,
            },
        )
        .boxed();
    prop_oneof![
        arb_text().prop_map(|text| Content::Text { text }),
        (file.clone(), any::<bool>()).prop_map(|(file, gif)| Content::Image {
            file,
            size: None,
            gif
        }),
        (file.clone(), proptest::option::of(0u32..i32::MAX as u32))
            .prop_map(|(file, duration)| Content::Audio { file, duration }),
        file.clone().prop_map(|file| Content::File { file }),
        (arb_text(), -90.0f64..90.0, -180.0f64..180.0).prop_map(|(address, lat, lng)| {
            Content::Location {
                address,
                lat,
                lng,
                building: None,
            }
        }),
        arb_text().prop_map(|action| Content::Command { action }),
        (arb_text(), arb_text(), file, arb_text()).prop_map(|(title, summary, file, text)| {
            Content::Combined {
                title,
                summary,
                file,
                level: Some(1),
                text,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn protobuf_round_trip(id in any::<u64>(), time in 0i64..i64::MAX, from in "[a-z0-9_.-]{1,64}", to in "[a-z0-9_.-]{1,64}",
                           content in arb_content(), ext_s in arb_text(), ext_i in any::<i64>(), ext_b in any::<bool>()) {
        let mut ext = Map::new();
        ext.insert("s".into(), json!(ext_s));
        ext.insert("i".into(), json!(ext_i));
        ext.insert("b".into(), json!(ext_b));
        ext.insert("o".into(), json!({"nested": [1, "two"]}));
        let m = Message { meta: None, id, from, to, chat_type: ChatType::Single, time, content, ext };
        prop_assert_eq!(decode_entry(&encode_entry(&m, "o#a")).unwrap().unwrap(), m.clone());
        let line = serde_json::to_string(&ExportLine::from_message(&m, "incoming")).unwrap();
        let read: ExportLine = serde_json::from_str(&line).unwrap();
        prop_assert_eq!(read.to_message().unwrap(), m);
    }

    /// The entry a server builds from stored columns and the stored body tail is, byte for
    /// byte, the entry encoded from the whole message, for every kind and app key.
    #[test]
    fn entries_from_stored_parts_equal_whole_encoding(id in any::<u64>(), time in any::<i64>(), from in arb_text(), to in arb_text(),
                           kind in 0u8..3, content in arb_content(), ext_s in arb_text(), appkey in "[a-z0-9#]{0,20}") {
        let mut ext = Map::new();
        ext.insert("s".into(), json!(ext_s));
        ext.insert("o".into(), json!({"nested": [1, "two"]}));
        let chat_type = [ChatType::Single, ChatType::Group, ChatType::Room][kind as usize];
        let m = Message { meta: None, id, from, to, chat_type, time, content, ext };
        let head = roam::protocol::EntryHead { id, time, chat_type, from: &m.from, to: &m.to };
        let mut built = vec![7u8];
        roam::protocol::write_meta(&head, &appkey, &roam::protocol::encode_body_tail(&m), &mut built);
        prop_assert_eq!(&built[1..], &roam::protocol::history::encode_meta(&m, &appkey)[..]);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_entry(&STANDARD.encode(&bytes));
    }
}

#[test]
fn token_bodies_never_show_their_secrets_in_debug() {
    let request: TokenRequest = serde_json::from_value(
        json!({"grant_type":"password","username":"alice","password":"pw-secret"}),
    )
    .expect("token request");
    let shown = format!("{request:?}");
    assert!(
        !shown.contains("pw-secret") && shown.contains("alice"),
        "{shown}"
    );
    let response: TokenResponse =
        serde_json::from_value(json!({"access_token":"YWMt-secret","expires_in":60}))
            .expect("token response");
    let shown = format!("{response:?}");
    assert!(
        !shown.contains("YWMt-secret") && shown.contains("60"),
        "{shown}"
    );
}

/// The keys of a JSON object, in order.
fn key_order(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn ext_and_custom_exts_keep_the_senders_key_order_in_every_form() {
    // Written by hand, so the order is the sender's and not a map's.
    let text = r#"{"bodies":[{"type":"custom","customEvent":"gift","customExts":[{"zeta":1},{"alpha":"a"},{"mid":true}]}],"ext":{"zz":1,"aa":{"y":1,"b":2},"mm":"x"},"from":"bob","to":"alice","type":"chat"}"#;
    let form: MessageJson = serde_json::from_str(text).unwrap();
    let m = form.to_message(1_300_000_000_000_000_005, 5, None).unwrap();
    let ext_keys = ["zz", "aa", "mm"];
    let exts_keys = ["zeta", "alpha", "mid"];
    let check = |m: &Message, how: &str| {
        let keys: Vec<&str> = m.ext.keys().map(String::as_str).collect();
        assert_eq!(keys, ext_keys, "ext after {how}");
        assert_eq!(
            key_order(&m.ext["aa"]),
            ["y", "b"],
            "nested ext after {how}"
        );
        match &m.content {
            Content::Custom { exts, .. } => {
                let keys: Vec<&str> = exts.keys().map(String::as_str).collect();
                assert_eq!(keys, exts_keys, "customExts after {how}");
            }
            other => panic!("{other:?}"),
        }
    };
    check(&m, "reading the JSON form");

    // The JSON form written back: the text itself has the keys in the sender's order.
    let written = serde_json::to_string(&MessageJson::from_message(&m)).unwrap();
    let at = |key: &str| written.find(&format!("\"{key}\"")).unwrap();
    assert!(at("zz") < at("aa") && at("aa") < at("mm"), "{written}");
    assert!(at("y") < at("b"), "{written}");
    assert!(
        at("zeta") < at("alpha") && at("alpha") < at("mid"),
        "{written}"
    );
    check(
        &serde_json::from_str::<MessageJson>(&written)
            .unwrap()
            .to_message(1_300_000_000_000_000_005, 5, None)
            .unwrap(),
        "writing the JSON form",
    );

    // Protobuf: the KeyValue lists are in the sender's order on the wire.
    let bytes = roam::protocol::history::encode_meta(&m, "acme#chatapp");
    use prost::Message as _;
    let meta = roam::protocol::pb::Meta::decode(bytes.as_slice()).unwrap();
    let body = roam::protocol::pb::MessageBody::decode(meta.payload.unwrap().as_slice()).unwrap();
    let wire: Vec<&str> = body.ext.iter().filter_map(|kv| kv.key.as_deref()).collect();
    assert_eq!(wire, ext_keys);
    let wire: Vec<&str> = body.contents[0]
        .custom_exts
        .iter()
        .filter_map(|kv| kv.key.as_deref())
        .collect();
    assert_eq!(wire, exts_keys);
    check(
        &decode_entry(&encode_entry(&m, "acme#chatapp"))
            .unwrap()
            .unwrap(),
        "protobuf",
    );

    // The export line.
    let line = serde_json::to_string(&ExportLine::from_message(&m, "outgoing")).unwrap();
    let read: ExportLine = serde_json::from_str(&line).unwrap();
    check(&read.to_message().unwrap(), "the export line");
}

#[test]
fn body_meta_travels_with_the_message_in_protobuf_and_the_stored_tail() {
    use roam::protocol::body_meta::BodyMeta;
    let mut m = sample_messages().remove(0);
    let meta = json!({
        "edit_msg": {"count": 2, "operator": "alice", "edit_time": 1_700_000_100_000u64},
        "reaction": [{"reaction": "👍", "count": 3, "state": true, "userList": ["alice"]}],
        "isRead": true,
        "zz_unknown": {"kept": [1, 2]}
    });
    m.meta = meta.as_object().cloned();
    let decoded = decode_entry(&encode_entry(&m, "acme#chatapp"))
        .unwrap()
        .unwrap();
    assert_eq!(decoded, m);
    let head = roam::protocol::EntryHead {
        id: m.id,
        time: m.time,
        chat_type: m.chat_type,
        from: &m.from,
        to: &m.to,
    };
    let mut built = Vec::new();
    roam::protocol::write_meta(
        &head,
        "acme#chatapp",
        &roam::protocol::encode_body_tail(&m),
        &mut built,
    );
    assert_eq!(
        built,
        roam::protocol::history::encode_meta(&m, "acme#chatapp"),
        "a server's stored tail keeps the meta"
    );
    let read = BodyMeta::from_object(decoded.meta.expect("meta"));
    let edit = read.edit.expect("edit");
    assert_eq!(
        (edit.count, edit.operator.as_deref()),
        (Some(2), Some("alice"))
    );
    assert_eq!(read.reactions.len(), 1);
    assert!(read.reactions[0].mine);
    assert_eq!(read.read, Some(true));
    assert!(read.other.contains_key("zz_unknown"));
}
