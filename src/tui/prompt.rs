//! A line typed at the bottom of the screen: where to jump, what to filter, which
//! conversation to open, what to look for in the list. It holds only the text and the
//! last error; what a submitted line means is the state machine's business.
//!
//! ```text
//! jump to: 2023-05-01 14:30█            2023-05-01, 14:30, yesterday, -3d · Enter Esc
//! ```

/// The most characters a prompt takes: a line typed by a person, not a document.
pub const MAX_INPUT: usize = 256;

/// What the line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// A time to jump to in the open conversation ([`when`](super::when)).
    Jump,
}

impl PromptKind {
    /// What the prompt says before the input.
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Jump => "jump to: ",
        }
    }

    /// What may be typed, shown at the right while nothing is wrong.
    pub fn hint(self) -> &'static str {
        match self {
            PromptKind::Jump => super::when::EXAMPLES,
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

#[cfg(test)]
mod tests {
    use super::*;

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
