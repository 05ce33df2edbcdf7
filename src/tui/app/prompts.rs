//! The prompts typed at the bottom of the screen: opening one, typing, and what a
//! submitted line does.

use super::{App, Effect};
use crate::tui::event::ConversationKey;
use crate::tui::layout::Pane;
use crate::tui::prompt::{Prompt, PromptKind, goto_target};
use crate::tui::{filter, when};

impl App {
    /// Opens a prompt of `kind` with `input` typed already.
    pub(super) fn open_prompt(&mut self, kind: PromptKind, input: &str) {
        if matches!(kind, PromptKind::Jump | PromptKind::Filter) && self.open.is_none() {
            self.note = Some("open a conversation first".into());
            return;
        }
        self.prompt = Some(Prompt::new(kind, input));
    }

    pub(super) fn prompt_type(&mut self, c: char) {
        if let Some(p) = self.prompt.as_mut() {
            p.push(c);
        }
        self.prompt_changed();
    }

    pub(super) fn prompt_delete(&mut self) {
        if let Some(p) = self.prompt.as_mut() {
            p.pop();
        }
        self.prompt_changed();
    }

    /// The list filter applies as it is typed.
    fn prompt_changed(&mut self) {
        if let Some(p) = self
            .prompt
            .as_ref()
            .filter(|p| p.kind() == PromptKind::ListFilter)
        {
            let text = p.input().to_string();
            self.set_list_filter(Some(text));
        }
    }

    /// Esc: closes the prompt; the list filter's also clears the filter.
    pub(super) fn prompt_cancel(&mut self) {
        if self
            .prompt
            .take()
            .is_some_and(|p| p.kind() == PromptKind::ListFilter)
        {
            self.set_list_filter(None);
        }
    }

    /// Opens `key` from the go-to prompt, selecting it in the list when it is there.
    fn go_to(&mut self, key: ConversationKey, fx: &mut Vec<Effect>) {
        if let Some(i) = self
            .conversations
            .iter()
            .position(|c| ConversationKey::of(c) == key)
        {
            self.set_list_filter(None);
            self.selected = i;
        }
        let unread = self.unread_of(&key);
        self.open_conversation_key(key, unread, fx);
        self.focus = Pane::History;
    }

    /// Enter: does what the line says, or says why not and stays open.
    pub(super) fn prompt_submit(&mut self, fx: &mut Vec<Effect>) {
        let Some(prompt) = self.prompt.as_ref() else {
            return;
        };
        let now = jiff::Timestamp::from_millisecond(self.now_ms)
            .unwrap_or_default()
            .to_zoned(self.tz.clone());
        match prompt.kind() {
            PromptKind::ListFilter => self.prompt = None,
            PromptKind::Filter => {
                let result = filter::parse(prompt.input(), &now)
                    .map_err(|e| e.to_string())
                    .and_then(|f| self.apply_filter(f, fx));
                match result {
                    Ok(()) => self.prompt = None,
                    Err(reason) => {
                        if let Some(p) = self.prompt.as_mut() {
                            p.refuse(reason);
                        }
                    }
                }
            }
            PromptKind::GoTo => {
                let listed = |id: &str| {
                    self.conversations
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| c.kind)
                };
                match goto_target(prompt.input(), listed) {
                    Ok(key) => {
                        self.prompt = None;
                        self.go_to(key, fx);
                    }
                    Err(reason) => {
                        if let Some(p) = self.prompt.as_mut() {
                            p.refuse(reason);
                        }
                    }
                }
            }
            PromptKind::Jump => {
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
