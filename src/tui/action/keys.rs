//! Keys as the keymap sees them: one press ([`KeyPress`]) and presses in a row
//! ([`KeySequence`]), each with a text form that reads back (`ctrl-d`, `pgup`, `''`), so a
//! config file can name them, and a display form the help shows (`Ctrl-d`, `PgUp`).

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::KeymapError;

/// One key press as the keymap sees it: a key and its Ctrl/Alt/Shift state. Shift is part
/// of the character for character keys (`G`, not Shift-g).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPress {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt and (for keys that are not characters) Shift.
    pub modifiers: KeyModifiers,
}

impl KeyPress {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> KeyPress {
        KeyPress {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// A character key.
    pub const fn char(c: char) -> KeyPress {
        KeyPress::plain(KeyCode::Char(c))
    }

    /// Ctrl and a character.
    pub const fn ctrl(c: char) -> KeyPress {
        KeyPress {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// The key press of a terminal key event, normalized: Shift folded into characters,
    /// modifiers other than Ctrl, Alt and Shift dropped, Shift-Tab as `BackTab`.
    pub fn from_event(key: KeyEvent) -> KeyPress {
        let mut modifiers =
            key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match key.code {
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                // Ctrl with a letter arrives as the lowercase letter in most terminals;
                // an uppercase one (Ctrl-Shift) stays distinct.
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeyPress { code, modifiers }
    }

    /// The character this key types into a text input, if it types one.
    pub fn typed_char(self) -> Option<char> {
        match self.code {
            KeyCode::Char(c)
                if !self
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    /// A key without modifiers that is a single character: sequences of these print
    /// without separators (`''`).
    fn is_plain_char(self) -> bool {
        self.modifiers.is_empty() && matches!(self.code, KeyCode::Char(c) if c != ' ')
    }
}

/// The name of a key without modifiers, as the help shows it.
fn code_name(code: KeyCode) -> String {
    match code {
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Delete => "Del".into(),
        KeyCode::Insert => "Ins".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    }
}

/// The key named `name` (case-insensitive for names, exact for characters).
fn parse_code(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(match c {
            '↑' => KeyCode::Up,
            '↓' => KeyCode::Down,
            '←' => KeyCode::Left,
            '→' => KeyCode::Right,
            c => KeyCode::Char(c),
        });
    }
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "space" => KeyCode::Char(' '),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" | "shift-tab" => KeyCode::BackTab,
        "backspace" | "bs" => KeyCode::Backspace,
        "del" | "delete" => KeyCode::Delete,
        "ins" | "insert" => KeyCode::Insert,
        f if f.starts_with('f') && f.len() > 1 => KeyCode::F(f[1..].parse().ok()?),
        _ => return None,
    })
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        f.write_str(&code_name(self.code))
    }
}

impl FromStr for KeyPress {
    type Err = KeymapError;

    /// `j`, `G`, `ctrl-d`, `Ctrl-d`, `alt-x`, `shift-up`, `pgup`, `space`, `↑`.
    fn from_str(s: &str) -> Result<KeyPress, KeymapError> {
        let unknown = || KeymapError::UnknownKey(s.to_string());
        let mut rest = s.trim();
        let mut modifiers = KeyModifiers::NONE;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (flag, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") && !lower.eq("shift-tab") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            modifiers |= flag;
            rest = &rest[len..];
        }
        let code = parse_code(rest).ok_or_else(unknown)?;
        if matches!(code, KeyCode::Char(_)) && modifiers.contains(KeyModifiers::SHIFT) {
            // Shift is part of the character: write `G`, not `shift-g`.
            return Err(unknown());
        }
        Ok(KeyPress { code, modifiers })
    }
}

/// Keys pressed one after the other: most bindings are one key, `''` is two.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeySequence(pub Vec<KeyPress>);

impl KeySequence {
    /// The key presses.
    pub fn keys(&self) -> &[KeyPress] {
        &self.0
    }
}

impl fmt::Display for KeySequence {
    /// `''` for plain characters typed in a row, else the keys space-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let compact = self.0.len() > 1 && self.0.iter().all(|k| k.is_plain_char());
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 && !compact {
                f.write_str(" ")?;
            }
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

impl FromStr for KeySequence {
    type Err = KeymapError;

    /// Keys separated by spaces (`g g`, `ctrl-w j`); a word of plain characters that is
    /// not a key name is one key per character (`''`).
    fn from_str(s: &str) -> Result<KeySequence, KeymapError> {
        let mut keys = Vec::new();
        for word in s.split_whitespace() {
            match word.parse::<KeyPress>() {
                Ok(k) => keys.push(k),
                Err(_) if word.chars().count() > 1 && !word.chars().any(char::is_alphabetic) => {
                    keys.extend(word.chars().map(KeyPress::char));
                }
                Err(e) => return Err(e),
            }
        }
        if keys.is_empty() {
            return Err(KeymapError::Empty);
        }
        Ok(KeySequence(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_normalized() {
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(KeyPress::from_event(shifted), KeyPress::char('G'));
        let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            KeyPress::from_event(backtab),
            KeyPress::plain(KeyCode::BackTab)
        );
        assert_eq!(KeyPress::ctrl('c').typed_char(), None);
        assert_eq!(KeyPress::char('é').typed_char(), Some('é'));
    }
}
