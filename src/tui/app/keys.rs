//! Keys and the mouse: a key press becomes an [`Action`] through the keymap, in the mode
//! the state is in, and [`App::perform`] does it. Nothing here matches a key code: which
//! key does what is the keymap's business alone.

use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};

use super::{App, Effect, WHEEL_LINES};
use crate::tui::action::{Action, KeyPress, Mode, Resolved};
use crate::tui::help;
use crate::tui::layout::{self, LIST_ITEM_HEIGHT, Pane};
use crate::tui::prompt::PromptKind;
use crate::tui::search::Search;

impl App {
    /// What has the keyboard now.
    pub fn mode(&self) -> Mode {
        if self.help.is_some() {
            Mode::Help
        } else if self.prompt.is_some() {
            Mode::Prompt
        } else if self.link_choice.is_some() {
            Mode::Links
        } else if self.panel.is_some() {
            Mode::Panel
        } else if let Some(s) = self.search_all() {
            if s.is_editing() {
                Mode::SearchAllInput
            } else {
                Mode::SearchAllResults
            }
        } else if self.search().is_some_and(Search::is_editing) {
            Mode::Search
        } else {
            match self.focus {
                Pane::List => Mode::List,
                Pane::History
                    if self
                        .current_history()
                        .is_some_and(|h| h.selected().is_some()) =>
                {
                    Mode::Select
                }
                Pane::History => Mode::History,
            }
        }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.note = None;
        let press = KeyPress::from_event(key);
        let mode = self.mode();
        self.typed.push(press);
        match self.keymap.resolve(mode, &self.typed) {
            Resolved::Action(action) => {
                self.typed.clear();
                self.perform(action, fx);
            }
            Resolved::Pending => {}
            Resolved::Unbound if self.typed.len() > 1 => {
                // The keys before it started a sequence this one does not finish: forget
                // them and take this key on its own.
                self.typed.clear();
                self.on_key(key, fx);
            }
            Resolved::Unbound => {
                self.typed.clear();
                if mode.is_text_input()
                    && let Some(c) = press.typed_char()
                {
                    self.type_char(c);
                }
            }
        }
    }

    /// A character typed into the open text input.
    fn type_char(&mut self, c: char) {
        match self.mode() {
            Mode::Search => self.with_search(|s, h| s.push(c, h)),
            Mode::Prompt => self.prompt_type(c),
            Mode::SearchAllInput => self.search_all_type(c),
            _ => {}
        }
    }

    /// Does `action` in the current mode.
    pub fn perform(&mut self, action: Action, fx: &mut Vec<Effect>) {
        let mode = self.mode();
        let in_search_all = matches!(mode, Mode::SearchAllInput | Mode::SearchAllResults);
        match action {
            Action::SearchAll => self.open_search_all(),
            Action::Sync => self.start_sync(fx),
            Action::Accept if mode == Mode::SearchAllInput => self.submit_search_all(fx),
            Action::DeleteChar if mode == Mode::SearchAllInput => self.search_all_delete(),
            Action::ToggleRegex if mode == Mode::SearchAllInput => self.search_all_toggle_regex(),
            Action::Cancel if in_search_all => self.close_search_all(),
            Action::Open if mode == Mode::SearchAllResults => self.open_hit(fx),
            Action::SelectNext
            | Action::SelectPrevious
            | Action::SelectPageDown
            | Action::SelectPageUp
            | Action::SelectHalfDown
            | Action::SelectHalfUp
            | Action::SelectFirst
            | Action::SelectLast
                if mode == Mode::SearchAllResults =>
            {
                self.step_hits(action, fx);
            }
            Action::Quit => fx.push(Effect::Quit),
            Action::Suspend => fx.push(Effect::Suspend),
            Action::Interrupt => self.interrupt(fx),
            Action::ShowHelp => self.help = Some(0),
            Action::CloseHelp => self.help = None,
            Action::Reload => self.reload_all(fx),
            Action::ToggleIds => self.toggle_ids(),
            Action::Retry => self.retry(fx),
            Action::SwitchPane => {
                self.focus = match self.focus {
                    Pane::List if self.open.is_some() => Pane::History,
                    _ => Pane::List,
                };
            }
            Action::Search => self.start_search(),
            Action::Open => self.open_selected(fx),
            Action::FocusList => self.focus = Pane::List,
            Action::Back => self.go_back(),
            Action::Beginning => self.go_beginning(fx),
            Action::NextMatch => self.step_match(true),
            Action::PreviousMatch => self.step_match(false),
            Action::SearchOlder => self.continue_search(fx),
            Action::Cancel if mode == Mode::Prompt => self.prompt_cancel(),
            Action::Cancel if mode == Mode::Search => self.cancel_search_input(),
            Action::Cancel if mode == Mode::List => self.set_list_filter(None),
            Action::Cancel if mode == Mode::Links => self.close_links(),
            Action::Accept if mode == Mode::Links => self.open_chosen_link(fx),
            Action::SelectNext if mode == Mode::Links => self.step_link(1),
            Action::SelectPrevious if mode == Mode::Links => self.step_link(-1),
            Action::OpenLink => self.offer_links(),
            Action::Download => self.start_download(fx),
            Action::Cancel if mode == Mode::Select => {
                if !self.cancel_running(fx) {
                    self.clear_message_selection();
                }
            }
            Action::SelectMessage => self.select_message(),
            Action::NextMessage => self.step_message(1),
            Action::PreviousMessage => self.step_message(-1),
            Action::Details => self.open_details(fx),
            Action::FullText => self.open_full_text(),
            Action::CopyText => self.copy_message(false, fx),
            Action::CopyLink => self.copy_message(true, fx),
            Action::ToggleLayout => self.toggle_layout(fx),
            Action::ToggleMouse => self.toggle_mouse(fx),
            Action::ClosePanel => self.close_panel(),
            Action::Cancel => {
                if !self.cancel_running(fx) {
                    self.cancel_in_history();
                }
            }
            Action::GoTo => self.open_prompt(PromptKind::GoTo, ""),
            Action::Filter => self.open_filter_prompt(),
            Action::ClearFilter => self.clear_filter(fx),
            Action::FilterList => {
                let typed = self.list_filter().unwrap_or_default().to_string();
                self.open_prompt(PromptKind::ListFilter, &typed);
            }
            Action::Accept if mode == Mode::Prompt => self.prompt_submit(fx),
            Action::Accept => self.accept_search_input(),
            Action::DeleteChar if mode == Mode::Prompt => self.prompt_delete(),
            Action::DeleteChar => self.with_search(|s, h| s.pop(h)),
            Action::JumpToDate => self.open_prompt(PromptKind::Jump, ""),
            Action::FirstUnread => self.go_first_unread(fx),
            Action::ToggleRegex => self.with_search(|s, h| s.toggle_regex(h)),
            Action::SelectNext
            | Action::SelectPrevious
            | Action::SelectPageDown
            | Action::SelectPageUp
            | Action::SelectHalfDown
            | Action::SelectHalfUp
            | Action::SelectFirst
            | Action::SelectLast => self.move_in_list(action),
            Action::ScrollDown
            | Action::ScrollUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::OldestLoaded
            | Action::Newest => {
                if mode == Mode::Help {
                    self.scroll_help(action);
                } else if mode == Mode::Panel {
                    self.scroll_panel(action);
                } else if action == Action::Newest {
                    self.go_newest(fx);
                } else {
                    self.scroll_history(action);
                }
            }
        }
    }

    /// Ctrl-c: closes a prompt or cancels what is running; when nothing is, quits.
    fn interrupt(&mut self, fx: &mut Vec<Effect>) {
        if self.prompt.is_some() {
            self.prompt_cancel();
            return;
        }
        if self.link_choice.is_some() {
            self.close_links();
            return;
        }
        if self.search_all().is_some() {
            self.close_search_all();
            return;
        }
        if self.cancel_running(fx) {
            let quit = self.key_hint(Action::Interrupt);
            if !quit.is_empty() {
                let note = self.note.take().unwrap_or_else(|| "cancelled".into());
                self.note = Some(format!("{note} · {quit} again quits"));
            }
            return;
        }
        fx.push(Effect::Quit);
    }

    /// Stops the long operation that runs, if one does: a search of older history,
    /// paging toward the unread divider, a jump still loading, a download, a sync. True
    /// when one was stopped.
    fn cancel_running(&mut self, fx: &mut Vec<Effect>) -> bool {
        if let Some(s) = self.search.as_mut().filter(|s| s.continuing().is_some()) {
            s.stop_continuing();
            self.note = Some("search of older history stopped".into());
            return true;
        }
        if self.stop_unread() {
            self.note = Some("stopped paging toward the first unread".into());
            return true;
        }
        if self.cancel_jump() {
            self.note = Some("jump cancelled".into());
            return true;
        }
        if self.cancel_download(fx) {
            return true;
        }
        self.stop_sync(fx)
    }

    fn move_in_list(&mut self, action: Action) {
        let page = self.layout().list_capacity().max(1) as isize;
        let half = (page / 2).max(1);
        match action {
            Action::SelectNext => self.step_selection(1),
            Action::SelectPrevious => self.step_selection(-1),
            Action::SelectPageDown => self.step_selection(page),
            Action::SelectPageUp => self.step_selection(-page),
            Action::SelectHalfDown => self.step_selection(half),
            Action::SelectHalfUp => self.step_selection(-half),
            Action::SelectFirst => self.step_selection(isize::MIN),
            Action::SelectLast => self.step_selection(isize::MAX),
            _ => {}
        }
    }

    fn scroll_history(&mut self, action: Action) {
        let vp = self.history_viewport();
        let page = usize::from(vp.height).saturating_sub(1).max(1);
        let half = (usize::from(vp.height) / 2).max(1);
        let Some(h) = self.shown_mut() else {
            return;
        };
        match action {
            Action::ScrollDown => h.scroll_down(1, vp),
            Action::ScrollUp => h.scroll_up(1, vp),
            Action::PageDown => h.scroll_down(page, vp),
            Action::PageUp => h.scroll_up(page, vp),
            Action::HalfPageDown => h.scroll_down(half, vp),
            Action::HalfPageUp => h.scroll_up(half, vp),
            Action::OldestLoaded => h.scroll_to_oldest(vp),
            Action::Newest => {}
            _ => {}
        }
    }

    fn scroll_help(&mut self, action: Action) {
        let screen = ratatui::layout::Rect::new(0, 0, self.width, self.height);
        let max = help::max_scroll(&self.keymap, screen);
        let page = usize::from(help::area(&self.keymap, screen).height.saturating_sub(3)).max(1);
        let at = self.help.unwrap_or(0);
        let to = match action {
            Action::ScrollDown => at.saturating_add(1),
            Action::ScrollUp => at.saturating_sub(1),
            Action::PageDown | Action::HalfPageDown => at.saturating_add(page),
            Action::PageUp | Action::HalfPageUp => at.saturating_sub(page),
            Action::OldestLoaded => 0,
            Action::Newest => max,
            _ => at,
        };
        self.help = Some(to.min(max));
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent, fx: &mut Vec<Effect>) {
        let l = self.layout();
        let (col, row) = (m.column, m.row);
        let over_history = l.history.is_some_and(|r| layout::contains(r, col, row));
        let over_list = l.list.is_some_and(|r| layout::contains(r, col, row));
        if self.search_all().is_some() && self.help.is_none() {
            // The view covers the panes: the wheel moves through the hits, clicks do nothing.
            match m.kind {
                MouseEventKind::ScrollUp => self.wheel_hits(true, fx),
                MouseEventKind::ScrollDown => self.wheel_hits(false, fx),
                _ => {}
            }
            return;
        }
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let up = m.kind == MouseEventKind::ScrollUp;
                if self.help.is_some() || self.panel.is_some() {
                    let action = if up {
                        Action::ScrollUp
                    } else {
                        Action::ScrollDown
                    };
                    for _ in 0..WHEEL_LINES {
                        if self.help.is_some() {
                            self.scroll_help(action);
                        } else {
                            self.scroll_panel(action);
                        }
                    }
                } else if over_list {
                    self.step_selection(if up { -1 } else { 1 });
                } else if over_history {
                    let vp = self.history_viewport();
                    if let Some(h) = self.shown_mut() {
                        if up {
                            h.scroll_up(WHEEL_LINES, vp);
                        } else {
                            h.scroll_down(WHEEL_LINES, vp);
                        }
                    }
                }
            }
            MouseEventKind::Down(MouseButton::Left)
                if self.help.is_none() && self.panel.is_none() =>
            {
                if over_history && self.open.is_some() {
                    self.click_history(row);
                } else if over_list {
                    self.focus = Pane::List;
                    // Keys should reach the list now, not the search input.
                    if let Some(s) = self.search.as_mut() {
                        s.finish_editing();
                    }
                    let Some(inner) = l.list_inner.filter(|r| layout::contains(*r, col, row))
                    else {
                        return;
                    };
                    let position =
                        self.list_offset + usize::from((row - inner.y) / LIST_ITEM_HEIGHT);
                    if let Some(item) = self.shown_at(position) {
                        self.selected = item;
                        self.open_selected(fx);
                    }
                }
            }
            _ => {}
        }
    }
}
