//! Key bindings of the config file: `[keys]` maps an action name to one key or a list of
//! keys (`quit = ["q", "ctrl-c"]`). Keys are parsed and checked here (the syntax, and no
//! key bound to two actions); which action names exist is the keymap's to say, since the
//! actions live with the UI, which resolves these names and refuses unknown ones.
//!
//! Key syntax: modifiers `ctrl-`, `alt-`, `shift-` (any order, any case) before a key: one
//! character (`q`, `/`, `?`, `G`), or a name: `enter`, `esc`, `tab`, `backtab`, `space`,
//! `backspace`, `delete`, `insert`, `up`, `down`, `left`, `right`, `home`, `end`, `pageup`
//! (`pgup`), `pagedown` (`pgdn`), `f1` to `f24`, `minus` (for `-` after a modifier).

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyModifiers};
use toml::Spanned;

use super::Located;

/// One key with its modifiers, as crossterm reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyChord {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt, Shift.
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    /// Parses the key syntax of the module doc.
    pub fn parse(text: &str) -> Result<KeyChord, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (modifier, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            // "ctrl--" is Ctrl and '-': a lone '-' after a prefix is the key itself.
            if rest.len() == len {
                break;
            }
            modifiers |= modifier;
            rest = &rest[len..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && !c.is_whitespace() => KeyCode::Char(c),
            _ => named_key(&rest.to_ascii_lowercase()).ok_or_else(|| {
                format!("{text:?} is not a key (examples: \"q\", \"ctrl-c\", \"pgup\", \"f5\")")
            })?,
        };
        Ok(KeyChord { code, modifiers })
    }
}

fn named_key(name: &str) -> Option<KeyCode> {
    Some(match name {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "minus" => KeyCode::Char('-'),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        _ => {
            let n: u8 = name.strip_prefix('f')?.parse().ok()?;
            if !(1..=24).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
    })
}

/// Written back in the syntax it is read in.
impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (modifier, name) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.modifiers.contains(modifier) {
                f.write_str(name)?;
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char('-') if !self.modifiers.is_empty() => f.write_str("minus"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// `[keys]` as written: one key or a list of keys per action, read as any value and
/// checked here (serde's untagged enums lose the spans that name the line).
pub(super) type KeysFile = Spanned<toml::Value>;

/// The key bindings of the config file: action name to keys. Empty when the file has none
/// (the keymap's defaults hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyBindings {
    bindings: BTreeMap<String, Vec<KeyChord>>,
}

impl KeyBindings {
    /// Checks `[keys]`: action names are lowercase words (`a-z`, `0-9`, `_`), every key
    /// parses, and no key is bound to two actions.
    pub(super) fn from_file(
        file: BTreeMap<Spanned<String>, KeysFile>,
    ) -> Result<KeyBindings, Located> {
        let mut bindings = BTreeMap::new();
        let mut bound: Vec<(KeyChord, String)> = Vec::new();
        for (action, keys) in file {
            let name = action.get_ref();
            let valid_name = name.len() <= 40
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_name {
                return Err(Located::new(
                    action.span(),
                    format!("{name:?} is not an action name (lowercase letters, digits and '_')"),
                ));
            }
            let span = keys.span();
            let not_keys = || {
                Located::new(
                    span.clone(),
                    format!("{name}: give a key (\"q\") or a list of keys ([\"q\", \"ctrl-c\"])"),
                )
            };
            let keys: Vec<String> = match keys.into_inner() {
                toml::Value::String(key) => vec![key],
                toml::Value::Array(list) => list
                    .into_iter()
                    .map(|v| match v {
                        toml::Value::String(key) => Ok(key),
                        _ => Err(not_keys()),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(not_keys()),
            };
            let mut chords = Vec::with_capacity(keys.len());
            for key in keys {
                let chord = KeyChord::parse(&key)
                    .map_err(|message| Located::new(span.clone(), format!("{name}: {message}")))?;
                if let Some((_, other)) = bound.iter().find(|(c, _)| *c == chord) {
                    return Err(Located::new(
                        span.clone(),
                        format!("{chord} is bound to both {other} and {name}"),
                    ));
                }
                bound.push((chord, name.clone()));
                chords.push(chord);
            }
            bindings.insert(name.clone(), chords);
        }
        Ok(KeyBindings { bindings })
    }

    /// The keys of one action, when the file binds it.
    pub fn keys(&self, action: &str) -> Option<&[KeyChord]> {
        self.bindings.get(action).map(Vec::as_slice)
    }

    /// Every binding: action name and its keys, by action name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[KeyChord])> {
        self.bindings
            .iter()
            .map(|(action, keys)| (action.as_str(), keys.as_slice()))
    }

    /// Whether the file binds no key.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord(code: KeyCode, modifiers: KeyModifiers) -> KeyChord {
        KeyChord { code, modifiers }
    }

    #[test]
    fn keys_parse_with_modifiers_in_any_case() {
        assert_eq!(
            KeyChord::parse("q"),
            Ok(chord(KeyCode::Char('q'), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyChord::parse("Ctrl-C"),
            Ok(chord(KeyCode::Char('C'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            KeyChord::parse("ctrl-alt-pgup"),
            Ok(chord(
                KeyCode::PageUp,
                KeyModifiers::CONTROL | KeyModifiers::ALT
            ))
        );
        assert_eq!(
            KeyChord::parse("ctrl--"),
            Ok(chord(KeyCode::Char('-'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            KeyChord::parse("-"),
            Ok(chord(KeyCode::Char('-'), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyChord::parse("F12"),
            Ok(chord(KeyCode::F(12), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyChord::parse("space"),
            Ok(chord(KeyCode::Char(' '), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyChord::parse("中"),
            Ok(chord(KeyCode::Char('中'), KeyModifiers::NONE))
        );
    }

    #[test]
    fn what_is_not_a_key_is_refused() {
        for bad in [
            "",
            "ctrl-",
            "qq",
            "f0",
            "f25",
            "hyper-q",
            "\u{1b}",
            " ",
            "ctrl-nope",
        ] {
            assert!(KeyChord::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_written_back_as_they_are_read() {
        for text in [
            "q",
            "ctrl-c",
            "alt-shift-f5",
            "pageup",
            "space",
            "ctrl-minus",
            "-",
        ] {
            let chord = KeyChord::parse(text).expect(text);
            assert_eq!(KeyChord::parse(&chord.to_string()), Ok(chord), "{text}");
        }
    }
}
