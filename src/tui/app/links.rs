//! Opening a message's links: its `http`/`https` links (in its text, then its
//! attachment's URL) in a small chooser that always names the host of the link it would
//! open, and only on a yes. A message is untrusted: what is refused ([`crate::links`]) is
//! never offered, and the link handed to the system's opener is the checked one.
//!
//! ```text
//! ┏ open a link ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃› example.com  https://example.com/a         ┃
//! ┃  files.roam   https://files.roam/chatfiles… ┃
//! ┗━━━━━━━━ open a link to example.com? (y/n) ━━┛
//! ```

use super::{App, Effect};
use crate::links::{self, Link};
use crate::protocol::Message;

/// The links of one message, one of them chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkChoice {
    links: Vec<Link>,
    chosen: usize,
}

impl LinkChoice {
    /// The links, in the order of the message.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Which one Enter (or y) opens.
    pub fn chosen(&self) -> usize {
        self.chosen
    }

    /// The line that asks before opening the chosen link.
    pub fn question(&self) -> String {
        self.links
            .get(self.chosen)
            .map(links::confirmation_line)
            .unwrap_or_default()
    }
}

/// Why a message offers nothing to open, in the person's words: the attachment's link was
/// refused, or there is none.
fn nothing_to_open(msg: &Message) -> String {
    match msg.content.attachment().map(|a| a.download_url()) {
        Some(url) if !url.is_empty() => match links::check_link(&url) {
            Err(refusal) => format!("the attachment's link is not opened: {refusal}"),
            Ok(_) => "no link to open in this message".to_string(),
        },
        _ => "no link to open in this message".to_string(),
    }
}

impl App {
    /// The link chooser, while it is open.
    pub fn link_choice(&self) -> Option<&LinkChoice> {
        self.link_choice.as_ref()
    }

    /// Offers the selected message's links (selecting the newest message in view first
    /// when none is).
    pub(super) fn offer_links(&mut self) {
        let Some(msg) = self.selected_message() else {
            self.note = Some("no message to open".into());
            return;
        };
        let found = links::message_links(&msg);
        if found.is_empty() {
            self.note = Some(nothing_to_open(&msg));
            return;
        }
        self.link_choice = Some(LinkChoice {
            links: found,
            chosen: 0,
        });
    }

    /// Chooses the next (`delta` 1) or previous (-1) link.
    pub(super) fn step_link(&mut self, delta: isize) {
        if let Some(c) = self.link_choice.as_mut() {
            let last = c.links.len().saturating_sub(1);
            c.chosen = c.chosen.saturating_add_signed(delta).min(last);
        }
    }

    /// The person said yes: the chosen link goes to the system's opener.
    pub(super) fn open_chosen_link(&mut self, fx: &mut Vec<Effect>) {
        let Some(choice) = self.link_choice.take() else {
            return;
        };
        if let Some(link) = choice.links.get(choice.chosen) {
            self.note = Some(format!("opening a link to {}", link.host));
            fx.push(Effect::OpenLink(link.url.clone()));
        }
    }

    /// The person said no.
    pub(super) fn close_links(&mut self) {
        self.link_choice = None;
    }
}
