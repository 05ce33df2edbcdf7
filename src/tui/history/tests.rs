use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::*;
use crate::protocol::{Attachment, ChatType, Content, HistoryPage, HistoryQuery};
use crate::tui::text;

const T0: i64 = 1_709_640_000_000; // 2024-03-05 12:00 UTC

fn msg(id: u64, time: i64, text: &str) -> Message {
    Message {
        id,
        from: "bob".into(),
        to: "alice".into(),
        chat_type: ChatType::Single,
        time,
        content: Content::Text { text: text.into() },
        ext: Map::new(),
        meta: None,
    }
}

fn window(start: Start, unread: u32) -> History {
    let key = ConversationKey {
        id: "bob".into(),
        kind: ChatType::Single,
    };
    History::new(
        key,
        1,
        start,
        HistoryFilters::default(),
        unread,
        TimeZone::UTC,
    )
}

fn history(unread: u32) -> History {
    window(Start::Newest, unread)
}

const VP: Viewport = Viewport {
    height: 10,
    width: 20,
    layout: MessageLayout::Comfortable,
};

/// Asks for a page on `side` and answers it with `messages` (any order).
fn load_side(
    h: &mut History,
    side: Side,
    id: u64,
    messages: Vec<Message>,
    is_last: bool,
) -> (HistoryQuery, Receipt) {
    let query = h.start_request(side, id).expect("a request may start");
    let receipt = h.receive(
        id,
        Ok(HistoryPage {
            messages,
            next_cursor: (!is_last).then(|| format!("c{id}")),
            is_last,
            undecodable: 0,
        }),
        VP,
    );
    (query, receipt)
}

/// Loads `messages` as one older page.
fn load(h: &mut History, id: u64, messages: Vec<Message>, is_last: bool) -> Receipt {
    load_side(h, Side::Older, id, messages, is_last).1
}

fn ids(h: &History) -> Vec<u64> {
    (0..h.len()).filter_map(|i| h.id_of(i)).collect()
}

#[test]
fn overlaps_and_newer_messages_are_dropped() {
    let mut h = history(0);
    let page = (5..=10).map(|i| msg(i, T0 + i as i64, "x")).collect();
    assert_eq!(
        load(&mut h, 1, page, false),
        Receipt::Loaded {
            side: Side::Older,
            added: 6
        }
    );
    let overlap = (3..=8).rev().map(|i| msg(i, T0 + i as i64, "x")).collect();
    assert_eq!(
        load(&mut h, 2, overlap, false),
        Receipt::Loaded {
            side: Side::Older,
            added: 2
        }
    );
    assert_eq!(ids(&h), [3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(h.pages(), 2);
    assert_eq!(
        h.first_position(),
        -2,
        "prepends count down from the first page"
    );
    // Only the request in flight is answered.
    assert_eq!(
        h.receive(2, Err(FetchError::new("x", false)), VP),
        Receipt::Stale
    );
}

#[test]
fn both_edges_page_with_their_own_cursor_direction_and_bounds() {
    let t = T0 + 1000;
    let mut h = window(Start::At(t), 0);
    assert!(h.wants(Side::Older, VP) && h.wants(Side::Newer, VP));
    let older = h.start_request(Side::Older, 1).unwrap();
    let newer = h.start_request(Side::Newer, 2).unwrap();
    assert_eq!(older.direction, crate::protocol::Direction::Up);
    assert_eq!(
        (older.cursor.as_deref(), older.filters.end_time),
        (None, Some(t - 1))
    );
    assert_eq!(newer.direction, crate::protocol::Direction::Down);
    assert_eq!(
        (newer.cursor.as_deref(), newer.filters.start_time),
        (None, Some(t))
    );
    assert!(
        h.start_request(Side::Older, 3).is_none(),
        "one per direction"
    );
    // The newer page arrives first: messages from t on, oldest first.
    let page = (10..20).map(|i| msg(i, T0 + i as i64 * 100, "n")).collect();
    h.receive(
        2,
        Ok(HistoryPage {
            messages: page,
            next_cursor: Some("20".into()),
            is_last: false,
            undecodable: 0,
        }),
        VP,
    );
    let page = (1..10)
        .rev()
        .map(|i| msg(i, T0 + i as i64 * 100, "o"))
        .collect();
    h.receive(
        1,
        Ok(HistoryPage {
            messages: page,
            next_cursor: None,
            is_last: true,
            undecodable: 0,
        }),
        VP,
    );
    assert_eq!(ids(&h), (1..20).collect::<Vec<_>>());
    assert!(h.at_beginning() && !h.at_newest());
    assert_eq!(h.marker_index().and_then(|i| h.id_of(i)), Some(10));
    let next = h.start_request(Side::Newer, 4).unwrap();
    assert_eq!(next.cursor.as_deref(), Some("20"));
    assert_eq!(next.filters.start_time, Some(t), "the bound stays");
    // Appending never moves the anchor.
    let anchor = h.anchor();
    let page = (20..25).map(|i| msg(i, T0 + i as i64 * 100, "n")).collect();
    h.receive(
        4,
        Ok(HistoryPage {
            messages: page,
            next_cursor: None,
            is_last: true,
            undecodable: 0,
        }),
        VP,
    );
    assert_eq!(h.anchor(), anchor);
    assert!(h.at_newest() && h.is_live());
    assert_eq!(
        h.arrived(),
        0,
        "paging toward the newest brings nothing new"
    );
}

#[test]
fn a_refresh_asks_from_the_newest_loaded_and_counts_what_arrived() {
    let mut h = history(0);
    let page = (1..=30).map(|i| msg(i, T0 + i as i64, "x")).collect();
    load(&mut h, 1, page, true);
    assert!(h.can_refresh() && h.follows());
    let (q, r) = load_side(
        &mut h,
        Side::Newer,
        2,
        vec![msg(30, T0 + 30, "x"), msg(31, T0 + 31, "new")],
        true,
    );
    assert_eq!(q.cursor, None);
    assert_eq!(q.filters.start_time, Some(T0 + 30));
    assert_eq!(
        r,
        Receipt::Loaded {
            side: Side::Newer,
            added: 1
        }
    );
    assert_eq!(h.anchor(), None, "following: still at the newest");
    assert_eq!(h.arrived(), 0);
    // Scrolled away, arrivals are counted and the view stays.
    h.scroll_up(5, VP);
    let anchor = h.anchor();
    load_side(
        &mut h,
        Side::Newer,
        3,
        vec![msg(32, T0 + 32, "a"), msg(33, T0 + 33, "b")],
        true,
    );
    assert_eq!(h.anchor(), anchor);
    assert_eq!(h.arrived(), 2);
    h.scroll_to_bottom();
    assert_eq!((h.arrived(), h.follows()), (0, true));
}

#[test]
fn bodies_at_and_between_walk_chunks_and_skip_what_is_not_loaded() {
    let mut h = history(0);
    // Three older pages of 3, 2 and 4 messages (ids 7..=9, 5..=6, 1..=4), then a newer
    // page of 2 (ids 10, 11): positions -6..=4, id = position + 7.
    for (n, ids) in [(1u64, 7..=9u64), (2, 5..=6), (3, 1..=4)] {
        let page = ids
            .map(|i| msg(i, T0 + i as i64, &format!("m{i}")))
            .collect();
        load(&mut h, n, page, n == 3);
    }
    h.newer = Edge::new(false);
    let page = (10..=11)
        .map(|i| msg(i, T0 + i as i64, &format!("m{i}")))
        .collect();
    load_side(&mut h, Side::Newer, 4, page, true);
    assert_eq!(h.len(), 11);
    assert_eq!((h.first_position(), h.end_position()), (-6, 5));
    let want = |ps: &[i64]| -> Vec<(i64, String)> {
        ps.iter().map(|&p| (p, format!("m{}", p + 7))).collect()
    };
    let got = |ps: Vec<i64>| -> Vec<(i64, String)> {
        h.bodies_at(ps).map(|(p, b)| (p, b.to_string())).collect()
    };
    let all: Vec<i64> = (-6..5).collect();
    assert_eq!(got(all.clone()), want(&all));
    assert_eq!(got(vec![-6, -1, 4]), want(&[-6, -1, 4]), "sparse");
    assert_eq!(got(vec![-9, 2, 40]), want(&[2]), "not loaded");
    assert_eq!(got(vec![3, -5, 0]), want(&[3, -5, 0]), "out of order");
    let between: Vec<(i64, String)> = h
        .bodies_between(-2, 3)
        .map(|(p, b)| (p, b.to_string()))
        .collect();
    assert_eq!(between, want(&[-2, -1, 0, 1, 2]));
    assert_eq!(h.bodies_between(i64::MIN, i64::MAX).count(), 11);
}

#[test]
fn a_cursor_that_does_not_move_ends_paging() {
    let mut h = history(0);
    load(&mut h, 1, vec![msg(9, T0, "x")], false);
    assert_eq!(h.edge(Side::Older).cursor(), Some("c1"));
    h.start_request(Side::Older, 2);
    h.receive(
        2,
        Ok(HistoryPage {
            messages: Vec::new(),
            next_cursor: Some("c1".into()),
            is_last: false,
            undecodable: 0,
        }),
        VP,
    );
    assert!(h.at_beginning() && !h.can_request(Side::Older));
}

#[test]
fn rows_have_separators_headers_wrapped_bodies_and_edges() {
    let mut h = history(1);
    let day = 86_400_000;
    let page = vec![
        msg(1, T0, "first"),
        msg(2, T0 + 1, "a body long enough to wrap twice"),
        msg(3, T0 + day, "next day"),
    ];
    load(&mut h, 1, page, true);
    let label = |h: &History, r: &Row| match r {
        Row::Top(e) => format!("top {e:?}"),
        Row::Bottom(e) => format!("bottom {e:?}"),
        Row::Day { label } => format!("day {label}"),
        Row::Unread { count } => format!("unread {count}"),
        Row::Marker { time } => format!("marker {time}"),
        Row::Header { index } => format!("header {index}"),
        Row::Body { index, line, text } => {
            format!("{index}.{line} {}", text.as_str(h.body(*index).unwrap()))
        }
    };
    let tall = Viewport {
        height: 30,
        width: 20,
        layout: MessageLayout::Comfortable,
    };
    let labels: Vec<String> = h.visible_rows(tall).iter().map(|r| label(&h, r)).collect();
    assert_eq!(
        labels,
        [
            "top Beginning",
            "day 2024-03-05 Tue",
            "header 0",
            "0.0 first",
            // Same sender a moment later: the run shares the header above.
            // Wrapped at body_width(20) = 18 columns.
            "1.0 a body long enough",
            "1.1 to wrap twice",
            "day 2024-03-06 Wed",
            "unread 1",
            "header 2",
            "2.0 next day",
        ]
    );
    // A window in the middle of history: more both ways, and a marker.
    let mut mid = window(Start::At(T0 + 1), 0);
    mid.start_request(Side::Older, 1);
    load_side(
        &mut mid,
        Side::Newer,
        2,
        vec![msg(2, T0 + 1, "there")],
        false,
    );
    assert_eq!(
        mid.marker_index(),
        None,
        "placed once both first pages are in"
    );
    mid.receive(
        1,
        Ok(HistoryPage {
            messages: Vec::new(),
            next_cursor: Some("older".into()),
            is_last: false,
            undecodable: 0,
        }),
        VP,
    );
    let labels: Vec<String> = mid
        .visible_rows(tall)
        .iter()
        .map(|r| label(&mid, r))
        .collect();
    assert_eq!(
        labels,
        [
            "top More",
            "day 2024-03-05 Tue",
            format!("marker {}", T0 + 1).as_str(),
            "header 0",
            "0.0 there",
            "bottom More",
        ]
    );
}

#[test]
fn line_counts_follow_the_width() {
    let mut h = history(0);
    let text = "word ".repeat(40);
    load(&mut h, 1, vec![msg(1, T0, &text)], true);
    let e = h.entry(0).unwrap();
    let wide = h.body_lines(
        e,
        Fit {
            width: 100,
            compact: false,
        },
    );
    let narrow = h.body_lines(
        e,
        Fit {
            width: 20,
            compact: false,
        },
    );
    assert_eq!(e.lines.get(), (20, narrow as u32));
    assert!(narrow > wide);
    assert_eq!(narrow, text::wrap(&e.body, 20).len());
    assert_eq!(
        h.body_lines(
            e,
            Fit {
                width: 0,
                compact: false
            }
        ),
        0
    );
}

#[test]
fn scrolling_stops_at_both_ends_and_keeps_the_view_full() {
    let mut h = history(0);
    let page = (1..=30).map(|i| msg(i, T0 + i as i64, "x")).collect();
    load(&mut h, 1, page, true);
    // 1 top row + 1 day + 30 × 2 = 62 rows; the view is 10.
    h.scroll_up(1000, VP);
    let rows = h.visible_rows(VP);
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0], Row::Top(EdgeRow::Beginning));
    let top_anchor = h.anchor();
    h.scroll_up(1, VP);
    assert_eq!(h.anchor(), top_anchor, "no further than the top");
    h.scroll_down(3, VP);
    h.scroll_to_oldest(VP);
    assert_eq!(h.anchor(), top_anchor);
    h.scroll_down(1000, VP);
    assert_eq!(h.anchor(), None, "at the newest the anchor is forgotten");
    assert!(!h.scrolled_away());
    // Short content: everything, fewer rows than the height.
    let mut short = history(0);
    load(&mut short, 1, vec![msg(1, T0, "x")], true);
    short.scroll_up(5, VP);
    assert_eq!(short.visible_rows(VP).len(), 4);
    assert_eq!(short.anchor(), None);
}

#[test]
fn a_window_from_the_beginning_shows_its_top_and_a_bottom_row() {
    let mut h = window(Start::Beginning, 0);
    assert!(
        !h.wants(Side::Older, VP),
        "nothing is older than the beginning"
    );
    let (q, _) = load_side(
        &mut h,
        Side::Newer,
        1,
        (1..=30).map(|i| msg(i, T0 + i as i64, "x")).collect(),
        false,
    );
    assert_eq!((q.cursor, q.filters.start_time), (None, None));
    let rows = h.visible_rows(VP);
    assert_eq!(rows[0], Row::Top(EdgeRow::Beginning));
    assert!(h.scrolled_away(), "not at the newest");
    h.scroll_down(1000, VP);
    assert_eq!(h.visible_rows(VP).last(), Some(&Row::Bottom(EdgeRow::More)));
    assert!(h.wants(Side::Newer, VP));
    assert!(!h.is_live());
}

#[test]
fn reveal_moves_only_when_needed() {
    let mut h = history(0);
    let page = (1..=30)
        .map(|i| msg(i, T0 + i as i64, &format!("m{i}")))
        .collect();
    load(&mut h, 1, page, true);
    h.reveal(29, 0, VP);
    assert_eq!(h.anchor(), None, "the newest is visible already");
    h.reveal(0, 0, VP);
    let rows = h.visible_rows(VP);
    assert!(rows.contains(&Row::Header { index: 0 }));
    let a = h.anchor();
    h.reveal(1, 0, VP);
    assert_eq!(h.anchor(), a, "also visible: nothing moves");
}

#[test]
fn empty_and_degenerate_viewports() {
    let mut h = history(0);
    assert!(
        h.wants(Side::Older, VP),
        "nothing loaded: fetch the newest page"
    );
    for vp in [
        Viewport::default(),
        Viewport {
            height: 1,
            width: 1,
            layout: MessageLayout::Comfortable,
        },
    ] {
        assert!(h.visible_rows(vp).len() <= 1);
        h.scroll_up(3, vp);
        h.scroll_down(3, vp);
        h.normalize(vp);
    }
    load(&mut h, 1, vec![msg(1, T0, "你好🎉")], false);
    let one = Viewport {
        height: 1,
        width: 1,
        layout: MessageLayout::Comfortable,
    };
    h.scroll_to_oldest(one);
    assert_eq!(h.visible_rows(one).len(), 1);
    assert!(!h.wants(Side::Older, Viewport::default()));
}

fn text_message(id: u64, text: &str) -> Message {
    Message {
        id,
        from: "bob".into(),
        to: "team".into(),
        chat_type: ChatType::Group,
        time: 1_709_640_000_000 + id as i64,
        content: Content::Text { text: text.into() },
        ext: Map::new(),
        meta: None,
    }
}

#[test]
fn messages_come_back_as_they_arrived() {
    let mut h = history(0);
    let mut ext = Map::new();
    ext.insert("em_ignore_notification".into(), Value::Bool(true));
    let sent = vec![
        text_message(1, "plain 你好 👋\nsecond line"),
        text_message(2, "hostile \u{1b}[31mred\u{202e}"),
        Message {
            ext,
            ..text_message(3, "with ext")
        },
        Message {
            content: Content::Image {
                file: Attachment::default(),
                size: None,
                gif: false,
            },
            ..text_message(4, "")
        },
    ];
    let (_, receipt) = load_side(
        &mut h,
        Side::Older,
        9,
        sent.iter().rev().cloned().collect(),
        true,
    );
    assert_eq!(
        receipt,
        Receipt::Loaded {
            side: Side::Older,
            added: 4
        }
    );
    let back: Vec<Message> = (0..h.len()).filter_map(|i| h.message(i)).collect();
    assert_eq!(back, sent);
    assert_eq!(h.sender(3), Some("bob"));
    assert_eq!(h.time(0), Some(1_709_640_000_001));
    assert_eq!(h.body(0), Some("plain 你好 👋\nsecond line"));
    assert!(!h.body(1).unwrap_or_default().contains('\u{1b}'));
    assert_eq!(h.names.len(), 2, "names are stored once");
}

#[test]
fn show_at_top_puts_the_block_first() {
    let mut h = history(30);
    let page = (1..=100).map(|i| msg(i, T0 + i as i64, "x")).collect();
    load(&mut h, 1, page, true);
    let i = h.unread_index().unwrap();
    h.show_at_top(i, VP);
    assert_eq!(h.visible_rows(VP)[0], Row::Unread { count: 30 });
    h.show_at_top(40, VP);
    // One sender's run shares a header: message 40's block is its body alone.
    assert!(
        matches!(
            h.visible_rows(VP)[0],
            Row::Body {
                index: 40,
                line: 0,
                ..
            }
        ),
        "{:?}",
        h.visible_rows(VP)[0]
    );
}
