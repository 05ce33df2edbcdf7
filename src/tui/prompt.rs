//! A line typed at the bottom of the screen: where to jump, what to filter, which
//! conversation to open, what to look for in the list. It holds only the text and the
//! last error; what a submitted line means is the state machine's business.
//!
//! ```text
//! jump to: 2023-05-01 14:30█            2023-05-01, 14:30, yesterday, -3d · Enter Esc
//! ```

use super::event::ConversationKey;
use crate::protocol::{ChatType, ids};

/// The most characters a prompt takes: a line typed by a person, not a document.
pub const MAX_INPUT: usize = 256;

/// What the line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// A time to jump to in the open conversation ([`when`](super::when)).
    Jump,
    /// Any conversation to open, by id and kind: `bob`, `#team-roam`, `&lobby`.
    GoTo,
    /// What the conversation list is filtered by, applied as it is typed.
    ListFilter,
    /// The server-side filter of the open conversation ([`filter`](super::filter)).
    Filter,
}

impl PromptKind {
    /// What the prompt says before the input.
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Jump => "jump to: ",
            PromptKind::GoTo => "go to: ",
            PromptKind::ListFilter => "list: ",
            PromptKind::Filter => "filter: ",
        }
    }

    /// What may be typed, shown at the right while nothing is wrong.
    pub fn hint(self) -> &'static str {
        match self {
            PromptKind::Jump => super::when::EXAMPLES,
            PromptKind::GoTo => "bob, #group, &room (chat rooms are not listed)",
            PromptKind::ListFilter => "part of a name · Enter keeps it, Esc clears it",
            PromptKind::Filter => super::filter::SYNTAX,
        }
    }
}

/// A prompt being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    kind: PromptKind,
    input: String,
    error: Option<String>,
}

impl Prompt {
    /// A prompt of `kind` with `input` already typed.
    pub fn new(kind: PromptKind, input: &str) -> Prompt {
        Prompt {
            kind,
            input: input.chars().take(MAX_INPUT).collect(),
            error: None,
        }
    }

    /// What it is for.
    pub fn kind(&self) -> PromptKind {
        self.kind
    }

    /// What was typed.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why the last submission was refused.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Types a character (control characters are not typed).
    pub fn push(&mut self, c: char) {
        if !c.is_control() && self.input.chars().count() < MAX_INPUT {
            self.input.push(c);
            self.error = None;
        }
    }

    /// Deletes the last character.
    pub fn pop(&mut self) {
        self.input.pop();
        self.error = None;
    }

    /// Refuses the submission with a reason; the prompt stays open.
    pub fn refuse(&mut self, reason: impl Into<String>) {
        self.error = Some(reason.into());
    }
}

/// Reads a go-to line: an id with its kind as a sigil (`#group`, `&room`, `@user`) or a
/// word (`group x`, `x room`, `user bob`); a bare id is the listed conversation with that id
/// (`listed` says its kind) or else a single chat. Ids are checked and lowercased as
/// PROTOCOL.md §1 says.
pub fn goto_target(
    input: &str,
    listed: impl Fn(&str) -> Option<ChatType>,
) -> Result<ConversationKey, String> {
    let words: Vec<&str> = input.split_whitespace().collect();
    let kind_word = |w: &str| match w.to_ascii_lowercase().as_str() {
        "room" | "chatroom" => Some(ChatType::Room),
        "group" | "groupchat" => Some(ChatType::Group),
        "user" | "chat" | "single" => Some(ChatType::Single),
        _ => None,
    };
    let (id, kind) = match words.as_slice() {
        [one] => match one.chars().next() {
            Some('&') => (&one[1..], Some(ChatType::Room)),
            Some('#') => (&one[1..], Some(ChatType::Group)),
            Some('@') => (&one[1..], Some(ChatType::Single)),
            _ => (*one, None),
        },
        [a, b] => match (kind_word(a), kind_word(b)) {
            (Some(k), _) => (*b, Some(k)),
            (None, Some(k)) => (*a, Some(k)),
            _ => return Err("one id, and its kind: bob, #group, &room, room lobby".into()),
        },
        [] => return Err("type an id: bob, #group, &room".into()),
        _ => return Err("one id, and its kind: bob, #group, &room, room lobby".into()),
    };
    let Ok(id) = ids::check(id) else {
        return Err("not an id: letters, digits, _ . - (at most 64)".into());
    };
    let kind = kind.or_else(|| listed(&id)).unwrap_or(ChatType::Single);
    Ok(ConversationKey { id, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_to_reads_ids_with_their_kind() {
        let listed = |id: &str| (id == "team-roam").then_some(ChatType::Group);
        let key = |id: &str, kind| ConversationKey {
            id: id.into(),
            kind,
        };
        for (input, want) in [
            ("&lobby", key("lobby", ChatType::Room)),
            ("room lobby", key("lobby", ChatType::Room)),
            ("Lobby ROOM", key("lobby", ChatType::Room)),
            ("#team-roam", key("team-roam", ChatType::Group)),
            ("team-roam", key("team-roam", ChatType::Group)),
            ("bob", key("bob", ChatType::Single)),
            ("@Li.Wei", key("li.wei", ChatType::Single)),
            ("  group  g1 ", key("g1", ChatType::Group)),
        ] {
            assert_eq!(goto_target(input, listed), Ok(want), "{input}");
        }
        for bad in [
            "",
            "&",
            "a b c",
            "bob\u{1b}[2J",
            "x y",
            &"a".repeat(65),
            "名字",
        ] {
            assert!(goto_target(bad, listed).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn input_is_capped_and_controls_are_not_typed() {
        let mut p = Prompt::new(PromptKind::Jump, &"x".repeat(1000));
        assert_eq!(p.input().chars().count(), MAX_INPUT);
        p.pop();
        p.push('\u{1b}');
        p.push('日');
        assert!(p.input().ends_with('日'));
        p.refuse("no");
        assert_eq!(p.error(), Some("no"));
        p.pop();
        assert_eq!(p.error(), None);
    }
}
