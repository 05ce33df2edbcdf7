//! Key bindings of the config file: `[keys]` maps an action name to one key or a list of
//! keys (`quit = ["q", "ctrl-c"]`). Names and keys are read with the browser's own keymap
//! syntax ([`Action::from_name`], [`KeySequence`]), so a file can bind exactly what the help
//! shows and nothing else: `ctrl-`, `alt-`, `shift-` before a character or a key name
//! (`enter`, `esc`, `pgup`, `f5`, `space`, `up`...), several keys in a row separated by
//! spaces (`g g`). A key bound to two actions is refused with its line.

use std::collections::BTreeMap;

use toml::Spanned;

use super::Located;
use crate::tui::action::{Action, KeySequence};

/// `[keys]` as written: one key or a list of keys per action, read as any value and
/// checked here (serde's untagged enums lose the spans that name the line).
pub(super) type KeysFile = Spanned<toml::Value>;

/// The key bindings of the config file: action to keys, by action name. Empty when the
/// file has none (the keymap's defaults hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyBindings {
    bindings: BTreeMap<&'static str, (Action, Vec<KeySequence>)>,
}

impl KeyBindings {
    /// Checks `[keys]`: every action exists, every key parses, and no key is bound to two
    /// actions.
    pub(super) fn from_file(
        file: BTreeMap<Spanned<String>, KeysFile>,
    ) -> Result<KeyBindings, Located> {
        let mut bindings = BTreeMap::new();
        let mut bound: Vec<(KeySequence, &'static str)> = Vec::new();
        for (name, keys) in file {
            let Some(action) = Action::from_name(name.get_ref()) else {
                let shown: String = name.get_ref().chars().take(40).collect();
                return Err(Located::new(
                    name.span(),
                    format!("{shown:?} is not an action (the names are in roam's help, ?)"),
                ));
            };
            let name = action.name();
            let span = keys.span();
            let not_keys = || {
                Located::new(
                    span.clone(),
                    format!("{name}: give a key (\"q\") or a list of keys ([\"q\", \"ctrl-c\"])"),
                )
            };
            let texts: Vec<String> = match keys.into_inner() {
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
            if texts.is_empty() {
                return Err(not_keys());
            }
            let mut sequences = Vec::with_capacity(texts.len());
            for text in texts {
                let keys: KeySequence = text
                    .parse()
                    .map_err(|e| Located::new(span.clone(), format!("{name}: {e}")))?;
                if let Some((_, other)) = bound.iter().find(|(k, _)| *k == keys) {
                    return Err(Located::new(
                        span.clone(),
                        format!("{keys} is bound to both {other} and {name}"),
                    ));
                }
                bound.push((keys.clone(), name));
                sequences.push(keys);
            }
            bindings.insert(name, (action, sequences));
        }
        Ok(KeyBindings { bindings })
    }

    /// The keys of one action (by its config name), when the file binds it.
    pub fn keys(&self, action: &str) -> Option<&[KeySequence]> {
        self.bindings.get(action).map(|(_, keys)| keys.as_slice())
    }

    /// Every binding: the action and its keys, by action name.
    pub fn iter(&self) -> impl Iterator<Item = (Action, &[KeySequence])> {
        self.bindings
            .values()
            .map(|(action, keys)| (*action, keys.as_slice()))
    }

    /// Whether the file binds no key.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}
