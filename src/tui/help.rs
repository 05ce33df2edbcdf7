//! What the help overlay says and where it goes: the keymap's [`help`](Keymap::help)
//! laid out as lines for a box of a given size. Pure, so the state machine can clamp the
//! overlay's scroll position with the same numbers the view draws with.
//!
//! ```text
//! ┏ keys ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃ list and history                    ┃   a heading per mode
//! ┃ q          quit                     ┃   keys, then what they do, wrapped
//! ┃ Ctrl-c     cancel what is running   ┃
//! ┃            (search, paging); quit   ┃
//! ┗━━━━━━━━━━━━━━━━━━━ 1-12/64 Esc closes ┛
//! ```

use ratatui::layout::Rect;

use super::action::{Action, Keymap, Mode};
use super::text;

/// The widest the key column gets; longer key lists get a line of their own.
const MAX_KEY_WIDTH: usize = 14;

/// The widest the box gets.
const MAX_WIDTH: u16 = 76;

/// One line of the help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelpLine {
    /// A mode's heading.
    Heading(&'static str),
    /// Keys (on the first line of a row only; alone on it when they are wider than the key
    /// column) and a piece of what they do.
    Row {
        /// The keys, padded by the view to the key column; empty on continuation lines.
        keys: String,
        /// What they do (one wrapped line of it).
        text: String,
    },
    /// Space between sections.
    Blank,
}

/// The help's lines for a box whose inside is `inner_width` columns, and the width of the
/// key column.
pub fn lines(keymap: &Keymap, inner_width: u16) -> (Vec<HelpLine>, usize) {
    let sections = keymap.help();
    let key_width = sections
        .iter()
        .flat_map(|s| s.rows.iter().map(|(k, _)| text::width(k)))
        .max()
        .unwrap_or(0)
        .min(MAX_KEY_WIDTH)
        .min(usize::from(inner_width) / 3);
    let text_width = usize::from(inner_width)
        .saturating_sub(key_width + 1)
        .max(1);
    let mut out = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push(HelpLine::Blank);
        }
        out.push(HelpLine::Heading(section.mode.title()));
        for (keys, does) in &section.rows {
            let mut keys = Some(keys.clone());
            if text::width(keys.as_deref().unwrap_or_default()) > key_width {
                // Too long for the column: the keys get a line of their own.
                out.push(HelpLine::Row {
                    keys: text::truncate_to_width(
                        &keys.take().unwrap_or_default(),
                        usize::from(inner_width),
                    ),
                    text: String::new(),
                });
            }
            let wrapped = text::wrap(does, u16::try_from(text_width).unwrap_or(u16::MAX));
            for line in &wrapped {
                out.push(HelpLine::Row {
                    keys: keys.take().unwrap_or_default(),
                    text: line.as_str(does).to_string(),
                });
            }
        }
    }
    (out, key_width)
}

/// The box the overlay takes in a `screen`, centred: as wide as the help wants up to
/// [`MAX_WIDTH`], as tall as its lines, both within the screen.
pub fn area(keymap: &Keymap, screen: Rect) -> Rect {
    let width = screen.width.min(MAX_WIDTH);
    let (lines, _) = lines(keymap, width.saturating_sub(2));
    let wanted = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let height = screen.height.min(wanted);
    Rect::new(
        screen.x + (screen.width - width) / 2,
        screen.y + (screen.height - height) / 2,
        width,
        height,
    )
}

/// How far the help can scroll in a `screen`: lines beyond the box.
pub fn max_scroll(keymap: &Keymap, screen: Rect) -> usize {
    let r = area(keymap, screen);
    let (lines, _) = lines(keymap, r.width.saturating_sub(2));
    lines
        .len()
        .saturating_sub(usize::from(r.height.saturating_sub(2)))
}

/// The hint at the bottom of the box: how to close it, from the keymap.
pub fn close_hint(keymap: &Keymap) -> String {
    let keys = keymap.keys_for(Mode::Help, Action::CloseHelp);
    match keys.split(' ').next().filter(|k| !k.is_empty()) {
        Some(k) => format!("{k} closes"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binding_is_in_the_lines_and_fits_narrow_boxes() {
        let map = Keymap::default();
        for width in [38u16, 74] {
            let (lines, key_width) = lines(&map, width);
            for line in &lines {
                if let HelpLine::Row { keys, text: t } = line {
                    assert!(text::width(keys) <= usize::from(width));
                    assert!(t.is_empty() || text::width(keys) <= key_width, "{keys}");
                    assert!(key_width + 1 + text::width(t) <= usize::from(width), "{t}");
                }
            }
            let rows = lines
                .iter()
                .filter(|l| matches!(l, HelpLine::Row { keys, .. } if !keys.is_empty()))
                .count();
            let wanted: usize = map.help().iter().map(|s| s.rows.len()).sum();
            assert_eq!(rows, wanted, "at {width}");
        }
        let small = area(&map, Rect::new(0, 0, 40, 12));
        assert_eq!(small, Rect::new(0, 0, 40, 12));
        assert!(max_scroll(&map, small) > 0, "40×12 scrolls");
        assert_eq!(close_hint(&map), "Esc closes");
    }
}
