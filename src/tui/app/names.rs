//! Names on screen: on each render tick the state asks for the names of what it shows
//! that it has none for (the list rows in view with their preview senders, the open
//! conversation, the senders of the messages in view), in one request; the labels the
//! views draw come from here. Asking on the tick, not on every key, makes a fast scroll
//! one request per tick rather than one per row.

use super::{App, Effect};
use crate::names_cache::NameKey;
use crate::protocol::{ChatType, Conversation};
use crate::tui::event::ConversationKey;
use crate::tui::names::{NameKind, Names};

/// What kind of name a conversation's id has.
fn kind_of(kind: ChatType) -> NameKind {
    match kind {
        ChatType::Single => NameKind::User,
        ChatType::Group => NameKind::Group,
        ChatType::Room => NameKind::Room,
    }
}

impl App {
    /// The names known and how labels read.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// How a message's sender reads: the nickname, with the id beside it while ids are
    /// shown, or the id; `?` for no sender. One line, at most `max_width` columns. Every
    /// sender label on screen comes from here.
    pub fn sender_label(&self, id: &str, max_width: usize) -> String {
        if id.is_empty() {
            return "?".to_string();
        }
        self.names.label(NameKind::User, id, max_width)
    }

    /// How a conversation reads: the peer's nickname, the group's or room's name, or the
    /// id (see [`sender_label`](Self::sender_label)).
    pub fn conversation_label(&self, key: &ConversationKey, max_width: usize) -> String {
        self.names.label(kind_of(key.kind), &key.id, max_width)
    }

    /// [`conversation_label`](Self::conversation_label) of a conversation in the list.
    pub fn list_label(&self, c: &Conversation, max_width: usize) -> String {
        self.names.label(kind_of(c.kind), &c.id, max_width)
    }

    /// The name of a conversation, if one is known: what the list filter also matches.
    pub(super) fn conversation_name(&self, c: &Conversation) -> Option<&str> {
        self.names.name(kind_of(c.kind), &c.id)
    }

    /// The ids on screen now, in the order they are shown.
    fn ids_on_screen(&self) -> Vec<NameKey> {
        let mut shown = Vec::new();
        if let Some(s) = self.search_all() {
            let capacity = crate::tui::layout::search_all(self.width, self.height).capacity();
            for hit in s.hits().iter().skip(s.offset()).take(capacity) {
                shown.push(NameKey::new(kind_of(hit.kind), &hit.conversation));
                shown.push(NameKey::new(NameKind::User, &hit.from));
            }
        }
        if let Some(key) = &self.open {
            shown.push(NameKey::new(kind_of(key.kind), &key.id));
        }
        let layout = self.layout();
        if layout.list.is_some() {
            let rows = self.shown_conversations();
            for (_, c) in rows
                .into_iter()
                .skip(self.list_offset)
                // The last item may show in part: it is on screen too.
                .take(layout.list_capacity() + 1)
            {
                shown.push(NameKey::new(kind_of(c.kind), &c.id));
                if let Some(m) = c
                    .last_message
                    .as_ref()
                    .filter(|_| c.kind != ChatType::Single)
                {
                    shown.push(NameKey::new(NameKind::User, &m.from));
                }
            }
        }
        if layout.messages.is_some()
            && let Some(h) = self.current_history()
        {
            let vp = self.history_viewport();
            if let Some(top) = h.top_index(vp) {
                // A message takes at least a header and a line: no more than this many fit.
                let fit = usize::from(vp.height);
                for index in top..h.len().min(top.saturating_add(fit)) {
                    if let Some(from) = h.sender(index) {
                        shown.push(NameKey::new(NameKind::User, from));
                    }
                }
            }
        }
        shown
    }

    /// Asks for the names on screen the state has none for.
    pub(super) fn ask_names(&mut self, fx: &mut Vec<Effect>) {
        let shown = self.ids_on_screen();
        let id = self.next_request;
        if let Some(request) = self.names.wanted(shown, self.now_ms, id) {
            self.next_request += 1;
            fx.push(Effect::Fetch(request));
        }
    }

    /// `I`: ids beside names, or names alone.
    pub(super) fn toggle_ids(&mut self) {
        self.names.toggle_ids();
        self.note = Some(if self.names.show_ids() {
            "ids shown beside names".into()
        } else {
            "names without ids".into()
        });
    }
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;
    use serde_json::Map;

    use super::*;
    use crate::names_cache::NameEntry;
    use crate::protocol::{Content, ConversationPage, HistoryPage, Message};
    use crate::tui::event::{Event, FetchRequest};

    const NOW: i64 = 1_764_000_000_000;

    fn message(id: u64, from: &str, to: &str, kind: ChatType) -> Message {
        Message {
            id,
            from: from.into(),
            to: to.into(),
            chat_type: kind,
            time: NOW - i64::try_from(id).unwrap_or(0) * 60_000,
            content: Content::Text { text: "hi".into() },
            ext: Map::new(),
            meta: None,
        }
    }

    fn conversation(id: &str, kind: ChatType, from: &str) -> Conversation {
        Conversation {
            id: id.into(),
            kind,
            unread: 0,
            pinned: false,
            pinned_at: None,
            marks: Vec::new(),
            last_message: Some(message(1, from, id, kind)),
        }
    }

    /// An 80×24 app whose list holds `n` single chats `u0`... after a group and a room.
    fn with_list(n: usize) -> App {
        let mut app = App::new(80, 24, TimeZone::UTC);
        app.update(Event::Tick { now_ms: NOW });
        let fx = app.start();
        let Some(Effect::Fetch(FetchRequest::ConversationPage { request_id, .. })) =
            fx.into_iter().next()
        else {
            panic!("the list is asked for first");
        };
        let mut conversations = vec![
            conversation("262857469362177", ChatType::Group, "li.wei"),
            conversation("lobby", ChatType::Room, "omar"),
        ];
        conversations.extend((0..n).map(|i| conversation(&format!("u{i}"), ChatType::Single, "x")));
        app.update(Event::ConversationPage {
            request_id,
            result: Ok(ConversationPage {
                conversations,
                next_cursor: None,
            }),
        });
        app
    }

    /// The names request among `fx`: its id, the ids asked and whether it skips the disk.
    fn names_asked(fx: &[Effect]) -> Option<(u64, Vec<NameKey>, bool)> {
        fx.iter().find_map(|e| match e {
            Effect::Fetch(FetchRequest::Names {
                request_id,
                ids,
                refresh,
            }) => Some((*request_id, ids.clone(), *refresh)),
            _ => None,
        })
    }

    fn tick(app: &mut App) -> Option<(u64, Vec<NameKey>, bool)> {
        names_asked(&app.update(Event::Tick { now_ms: NOW }))
    }

    fn answer(app: &mut App, request_id: u64, ids: &[NameKey]) {
        let names = ids
            .iter()
            .map(|key| NameEntry {
                key: key.clone(),
                name: Some(format!("name of {}", key.id)),
                fetched_ms: NOW,
            })
            .collect();
        app.update(Event::Names {
            request_id,
            names,
            failed: Vec::new(),
        });
    }

    #[test]
    fn the_rows_in_view_are_asked_about_once_on_the_tick() {
        let mut app = with_list(20);
        let (id, ids, refresh) = tick(&mut app).expect("names asked on the tick");
        assert!(!refresh);
        let user = |id: &str| NameKey::new(NameKind::User, id);
        // The group with its preview's sender, the room with its, then single chats
        // (whose preview sender is the peer, not shown).
        assert_eq!(
            ids[..5],
            [
                NameKey::new(NameKind::Group, "262857469362177"),
                user("li.wei"),
                NameKey::new(NameKind::Room, "lobby"),
                user("omar"),
                user("u0"),
            ]
        );
        // 22 rows: 11 items of two rows; the last may show in part.
        let shown = app.layout().list_capacity() + 1;
        assert_eq!(ids.len(), shown + 2, "{ids:?}");
        assert!(
            !ids.contains(&user("u19")),
            "rows out of view are not asked"
        );
        assert_eq!(tick(&mut app), None, "not again while in flight");
        answer(&mut app, id, &ids);
        assert_eq!(tick(&mut app), None, "fresh");
        assert_eq!(
            app.list_label(&app.conversations()[0], 40),
            "name of 262857469362177"
        );
        // Keys never ask; the tick after them asks for what came into view.
        assert_eq!(
            names_asked(&app.update(Event::Action(crate::tui::action::Action::SelectLast))),
            None
        );
        let (_, more, _) = tick(&mut app).expect("the rows scrolled into view");
        assert!(more.contains(&user("u19")), "{more:?}");
        assert!(
            !more.contains(&user("u0")),
            "known names are not asked again"
        );
    }

    #[test]
    fn r_asks_again_past_the_disk_and_a_failure_shows_the_id() {
        let mut app = with_list(2);
        let (id, ids, _) = tick(&mut app).expect("asked");
        answer(&mut app, id, &ids);
        app.update(Event::Action(crate::tui::action::Action::Reload));
        let (id, again, refresh) = tick(&mut app).expect("asked again after r");
        assert_eq!(again, ids);
        assert!(refresh, "r skips the disk cache");
        app.update(Event::Names {
            request_id: id,
            names: Vec::new(),
            failed: again,
        });
        // The names known before stay; nothing is asked again at once.
        assert_eq!(app.sender_label("li.wei", 40), "name of li.wei");
        assert_eq!(tick(&mut app), None);
        assert_eq!(app.sender_label("nobody", 40), "nobody");
        assert_eq!(app.sender_label("", 40), "?");
    }

    #[test]
    fn the_open_conversation_and_the_senders_in_view_are_asked_about() {
        let mut app = with_list(0);
        let fx = app.update(Event::Action(crate::tui::action::Action::Open));
        let Some(Effect::Fetch(FetchRequest::History {
            query, request_id, ..
        })) = fx
            .into_iter()
            .find(|e| matches!(e, Effect::Fetch(FetchRequest::History { .. })))
        else {
            panic!("opening asks for history");
        };
        let senders = ["li.wei", "tanaka.yuki", "omar"];
        let messages = (0..30)
            .map(|i| {
                message(
                    i + 1,
                    senders[i as usize % 3],
                    &query.conversation,
                    query.kind,
                )
            })
            .collect();
        app.update(Event::HistoryPage {
            conversation: ConversationKey::of_query(&query),
            request_id,
            result: Ok(HistoryPage {
                messages,
                next_cursor: None,
                is_last: true,
                undecodable: 0,
            }),
        });
        let (_, ids, _) = tick(&mut app).expect("asked");
        assert_eq!(ids[0], NameKey::new(NameKind::Group, "262857469362177"));
        assert!(
            ids.contains(&NameKey::new(NameKind::User, "tanaka.yuki")),
            "{ids:?}"
        );
        assert_eq!(
            ids.iter().filter(|k| k.id == "omar").count(),
            1,
            "each once: {ids:?}"
        );
    }

    #[test]
    fn the_list_filter_matches_names_too() {
        let mut app = with_list(2);
        let (id, ids, _) = tick(&mut app).expect("asked");
        answer(&mut app, id, &ids);
        app.set_list_filter(Some("name of lob".into()));
        let shown: Vec<&str> = app
            .shown_conversations()
            .iter()
            .map(|(_, c)| c.id.as_str())
            .collect();
        assert_eq!(shown, vec!["lobby"]);
    }
}
