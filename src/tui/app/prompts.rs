//! The prompts typed at the bottom of the screen: opening one, typing, and what a
//! submitted line does.

use super::{App, Effect};
use crate::tui::prompt::{Prompt, PromptKind};
use crate::tui::when;

impl App {
    /// Opens a prompt of `kind` with `input` typed already.
    pub(super) fn open_prompt(&mut self, kind: PromptKind, input: &str) {
        if kind == PromptKind::Jump && self.open.is_none() {
            self.note = Some("open a conversation first".into());
            return;
        }
        self.prompt = Some(Prompt::new(kind, input));
    }

    pub(super) fn prompt_type(&mut self, c: char) {
        if let Some(p) = self.prompt.as_mut() {
            p.push(c);
        }
    }

    pub(super) fn prompt_delete(&mut self) {
        if let Some(p) = self.prompt.as_mut() {
            p.pop();
        }
    }

    pub(super) fn prompt_cancel(&mut self) {
        self.prompt = None;
    }

    /// Enter: does what the line says, or says why not and stays open.
    pub(super) fn prompt_submit(&mut self, fx: &mut Vec<Effect>) {
        let Some(prompt) = self.prompt.as_ref() else {
            return;
        };
        match prompt.kind() {
            PromptKind::Jump => {
                let now = jiff::Timestamp::from_millisecond(self.now_ms)
                    .unwrap_or_default()
                    .to_zoned(self.tz.clone());
                match when::parse(prompt.input(), &now) {
                    Ok(w) => {
                        self.prompt = None;
                        self.jump_to_time(w.start, fx);
                    }
                    Err(e) => {
                        // The input is on screen already: say what is wrong, not it again.
                        let reason = match e {
                            when::WhenError::Unrecognized(_) => {
                                format!("not a time · try {}", when::EXAMPLES)
                            }
                            when::WhenError::OutOfRange(_) => "no such time".to_string(),
                        };
                        if let Some(p) = self.prompt.as_mut() {
                            p.refuse(reason);
                        }
                    }
                }
            }
        }
    }
}
