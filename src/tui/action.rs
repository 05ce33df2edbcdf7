//! Every action a key can trigger, and the keymap: which keys do what in each mode.
//!
//! A key press becomes an [`Action`] in exactly one place, [`Keymap::resolve`]; the state
//! machine ([`App`](super::app::App)) then performs the action. The help overlay and the
//! README's key table are generated from the same [`Keymap`] ([`Keymap::help`],
//! [`Keymap::markdown_table`]), so they cannot list a key that does not exist or miss one
//! that does.
//!
//! The table is data: a binding is a mode, a key sequence and an action, and
//! [`Keymap::bind`] / [`Keymap::unbind`] change it. Keys, sequences and actions all have a
//! text form that round-trips ([`KeyPress`]'s `FromStr` and `Display`, [`Action::name`]),
//! so a config file can say `history "ctrl-e" = "scroll_down"`.
//!
//! Modes ([`Mode`]): what has the keyboard. The list and history panes fall back to the
//! bindings of [`Mode::Browse`]; text inputs (search, prompts) type every key that is not
//! bound as a character.

mod keys;

use std::fmt;
use std::str::FromStr;

pub use keys::{KeyPress, KeySequence};

/// Defines [`Action`] with its config name and description in one list, so the three can
/// never disagree.
macro_rules! actions {
    ($($variant:ident = $name:literal, $description:literal;)*) => {
        /// Something a key can make the browser do. The description is what the help
        /// overlay and the README say about it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $(
                #[doc = $description]
                $variant,
            )*
        }

        impl Action {
            /// Every action, in the order the help lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The action's name in a config file: `scroll_down`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What it does, in the person's words.
            pub fn description(self) -> &'static str {
                match self {
                    $(Action::$variant => $description,)*
                }
            }
        }
    };
}

actions! {
    Quit = "quit", "quit";
    Interrupt = "interrupt", "cancel what is running; quit when nothing is";
    Suspend = "suspend", "suspend to the shell (fg resumes)";
    ShowHelp = "help", "this help";
    CloseHelp = "close_help", "close this help";
    Reload = "reload", "reload the list, check for new messages, fetch names again";
    Retry = "retry", "retry what failed";
    ToggleIds = "toggle_ids", "show ids beside names, or names alone";
    SwitchPane = "switch_pane", "switch panes (one pane at a time below 80 columns)";
    Search = "search", "search the loaded history: incremental, case-insensitive";
    GoTo = "go_to", "open any conversation by id: bob, #group, &room";
    FilterList = "filter_list", "filter the list by name as you type (Esc clears)";
    SearchAll = "search_all", "search all history: every conversation in the library";

    SelectNext = "select_next", "next conversation";
    SelectPrevious = "select_previous", "previous conversation";
    SelectPageDown = "select_page_down", "a screen down the list";
    SelectPageUp = "select_page_up", "a screen up the list";
    SelectHalfDown = "select_half_down", "half a screen down the list";
    SelectHalfUp = "select_half_up", "half a screen up the list";
    SelectFirst = "select_first", "first conversation";
    SelectLast = "select_last", "last conversation";
    Open = "open", "open the selected conversation";

    ScrollDown = "scroll_down", "scroll down a line";
    ScrollUp = "scroll_up", "scroll up a line";
    PageDown = "page_down", "a screen down";
    PageUp = "page_up", "a screen up";
    HalfPageDown = "half_page_down", "half a screen down";
    HalfPageUp = "half_page_up", "half a screen up";
    OldestLoaded = "oldest_loaded", "the oldest loaded message";
    Newest = "newest", "the newest message";
    Beginning = "beginning", "the very beginning of the conversation (one request)";
    JumpToDate = "jump_to_date", "jump to a date or time: 2023-05-01, 14:30, yesterday, -3d";
    FirstUnread = "first_unread", "the first unread message (pages toward it; Esc stops)";
    Sync = "sync", "keep this conversation in the library back to its beginning, in the background (Esc stops)";
    Filter = "filter", "filter on the server: img,file from li.wei since 2024-01-01";
    ClearFilter = "clear_filter", "clear the filter, back to the same place";
    Back = "back", "back to where you were before the last jump";
    FocusList = "focus_list", "back to the conversation list";
    NextMatch = "next_match", "next older match (the status line counts matching messages)";
    PreviousMatch = "previous_match", "next newer match";
    SearchOlder = "search_older", "continue the search into older history, fetching pages";
    Cancel = "cancel", "stop what is running, then close the search";
    SelectMessage = "select_message", "select a message (the newest in view): then j/k move by message, Esc ends";
    NextMessage = "next_message", "select the next newer message";
    PreviousMessage = "previous_message", "select the next older message";
    Details = "details", "details of the selected message: id, exact time, every field, ext";
    FullText = "full_text", "read the whole selected message, however long";
    CopyText = "copy_text", "copy the selected message's text to the clipboard (OSC 52)";
    CopyLink = "copy_link", "copy the selected message's attachment URL, or its id";
    OpenLink = "open_link", "open a link of the selected message (asks first, naming its host)";
    Download = "download", "download the selected message's attachment (Esc stops)";
    ToggleLayout = "toggle_layout", "compact layout on/off: one line per message";
    ToggleMouse = "toggle_mouse", "mouse capture off/on (off: select text with the mouse)";
    ClosePanel = "close_panel", "close this panel";

    Accept = "accept", "done typing";
    DeleteChar = "delete_char", "delete the last character";
    ToggleRegex = "toggle_regex", "regex on/off";
}

impl Action {
    /// The action with this config name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// What the action does in `mode`: most say the same everywhere, a few (Enter, Esc in
    /// text inputs) say what they mean there.
    pub fn describe(self, mode: Mode) -> &'static str {
        match (self, mode) {
            (Action::Accept, Mode::Search) => "stay at the match",
            (Action::Cancel, Mode::Search) => {
                "stop searching older history, then go back to where the search began"
            }
            (Action::SearchOlder, Mode::Search) => "continue into older history",
            (Action::Accept, Mode::Prompt) => "go",
            (Action::Accept, Mode::SearchAllInput) => "search",
            (Action::Cancel, Mode::SearchAllInput | Mode::SearchAllResults) => {
                "close the search of all history"
            }
            (Action::SearchAll, Mode::SearchAllResults) => "type another search",
            (Action::SelectNext, Mode::SearchAllResults) => "next (older) hit",
            (Action::SelectPrevious, Mode::SearchAllResults) => "previous (newer) hit",
            (Action::SelectPageDown, Mode::SearchAllResults) => "a screen of hits down",
            (Action::SelectPageUp, Mode::SearchAllResults) => "a screen of hits up",
            (Action::SelectFirst, Mode::SearchAllResults) => "the newest hit",
            (Action::SelectLast, Mode::SearchAllResults) => "the oldest hit in so far",
            (Action::Open, Mode::SearchAllResults) => {
                "open the conversation at this message, selected"
            }
            (Action::Cancel, Mode::List) => "clear the list filter",
            (Action::Cancel, Mode::Prompt) => "close the prompt",
            (Action::ScrollDown, Mode::Help) => "scroll this help down",
            (Action::ScrollUp, Mode::Help) => "scroll this help up",
            (Action::Cancel, Mode::Select) => "stop what is running, else end selecting",
            (Action::ScrollDown, Mode::Panel) => "scroll down a line",
            (Action::ScrollUp, Mode::Panel) => "scroll up a line",
            (Action::OldestLoaded, Mode::Panel) => "the top",
            (Action::Accept, Mode::Links) => "open the chosen link",
            (Action::Cancel, Mode::Links) => "open nothing",
            (Action::SelectNext, Mode::Links) => "next link",
            (Action::SelectPrevious, Mode::Links) => "previous link",
            (Action::Newest, Mode::Panel) => "the end",
            _ => self.description(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = KeymapError;

    fn from_str(s: &str) -> Result<Action, KeymapError> {
        Action::from_name(s.trim()).ok_or_else(|| KeymapError::UnknownAction(s.to_string()))
    }
}

/// What has the keyboard, which decides what a key means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Bindings shared by the list and the history pane (they fall back to these).
    Browse,
    /// The conversation list has the focus.
    List,
    /// The history pane has the focus.
    History,
    /// A message is selected in the history pane: j/k move the selection.
    Select,
    /// The details or full-text panel is open.
    Panel,
    /// A message's links are offered for opening.
    Links,
    /// The search input line is open.
    Search,
    /// A prompt is being typed at the bottom of the screen.
    Prompt,
    /// The query of a search of all history is being typed.
    SearchAllInput,
    /// The hits of a search of all history have the keys.
    SearchAllResults,
    /// The help overlay is shown.
    Help,
}

impl Mode {
    /// Every mode, in the order the help lists them.
    pub const ALL: &'static [Mode] = &[
        Mode::Browse,
        Mode::List,
        Mode::History,
        Mode::Select,
        Mode::Panel,
        Mode::Links,
        Mode::Search,
        Mode::Prompt,
        Mode::SearchAllInput,
        Mode::SearchAllResults,
        Mode::Help,
    ];

    /// The modes whose bindings apply, most specific first.
    pub fn lookup_order(self) -> &'static [Mode] {
        match self {
            Mode::List => &[Mode::List, Mode::Browse],
            Mode::History => &[Mode::History, Mode::Browse],
            Mode::Select => &[Mode::Select, Mode::History, Mode::Browse],
            Mode::Panel => &[Mode::Panel],
            Mode::Links => &[Mode::Links],
            Mode::Browse => &[Mode::Browse],
            Mode::Search => &[Mode::Search],
            Mode::Prompt => &[Mode::Prompt],
            Mode::SearchAllInput => &[Mode::SearchAllInput],
            Mode::SearchAllResults => &[Mode::SearchAllResults],
            Mode::Help => &[Mode::Help],
        }
    }

    /// The browsing mode behind this one: hints name the keys of the pane below an input
    /// or the help, where the person will press them.
    pub fn browsing(self) -> Mode {
        match self {
            Mode::List
            | Mode::History
            | Mode::Select
            | Mode::SearchAllInput
            | Mode::SearchAllResults => self,
            _ => Mode::History,
        }
    }

    /// Text inputs type unbound keys as characters.
    pub fn is_text_input(self) -> bool {
        matches!(self, Mode::Search | Mode::Prompt | Mode::SearchAllInput)
    }

    /// The mode's name in a config file.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Browse => "browse",
            Mode::List => "list",
            Mode::History => "history",
            Mode::Select => "select",
            Mode::Panel => "panel",
            Mode::Links => "links",
            Mode::Search => "search",
            Mode::Prompt => "prompt",
            Mode::SearchAllInput => "search_all_input",
            Mode::SearchAllResults => "search_all_results",
            Mode::Help => "help",
        }
    }

    /// The heading of the mode's part of the help.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Browse => "list and history",
            Mode::List => "conversation list",
            Mode::History => "history",
            Mode::Select => "a message selected",
            Mode::Panel => "details and full text",
            Mode::Links => "opening a link",
            Mode::Search => "typing a search",
            Mode::Prompt => "typing in a prompt",
            Mode::SearchAllInput => "typing a search of all history",
            Mode::SearchAllResults => "hits of a search of all history",
            Mode::Help => "this help",
        }
    }
}

impl FromStr for Mode {
    type Err = KeymapError;

    fn from_str(s: &str) -> Result<Mode, KeymapError> {
        Mode::ALL
            .iter()
            .copied()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| KeymapError::UnknownMode(s.to_string()))
    }
}

/// Why a key, action or binding could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    /// Not a key name this keymap knows.
    #[error("unknown key {0:?} (e.g. j, G, ctrl-d, pgup, space, enter, esc, up)")]
    UnknownKey(String),
    /// Not an action name.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// Not a mode name.
    #[error(
        "unknown mode {0:?} (browse, list, history, select, panel, links, search, prompt, \
         search_all_input, search_all_results, help)"
    )]
    UnknownMode(String),
    /// A binding with no keys.
    #[error("a binding needs at least one key")]
    Empty,
    /// The keys start, or are the start of, another binding of the same mode: one of the
    /// two could never be typed.
    #[error("{keys} in {mode} clashes with {other}")]
    Prefix {
        /// The keys being bound.
        keys: String,
        /// The mode.
        mode: &'static str,
        /// The binding it clashes with.
        other: String,
    },
}

/// One row of the keymap: in `mode`, typing `keys` performs `action`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Where it applies.
    pub mode: Mode,
    /// What is typed.
    pub keys: KeySequence,
    /// What it does.
    pub action: Action,
}

/// What a key press means, given the keys typed before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The keys complete a binding.
    Action(Action),
    /// The keys start a longer binding: wait for the next key.
    Pending,
    /// Nothing is bound: a text input types it, elsewhere it is ignored.
    Unbound,
}

/// One part of the help: a mode's heading and its rows of (keys, what they do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpSection {
    /// The mode.
    pub mode: Mode,
    /// Keys for the same action are joined on one row: `j ↓`.
    pub rows: Vec<(String, &'static str)>,
}

/// Which keys do what, per mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// The default bindings: (mode, keys, action). Keys are written as [`KeySequence`] parses
/// them.
const DEFAULTS: &[(Mode, &str, Action)] = &[
    (Mode::Browse, "q", Action::Quit),
    (Mode::Browse, "ctrl-c", Action::Interrupt),
    (Mode::Browse, "ctrl-z", Action::Suspend),
    (Mode::Browse, "?", Action::ShowHelp),
    (Mode::Browse, "r", Action::Reload),
    (Mode::Browse, "R", Action::Retry),
    (Mode::Browse, "I", Action::ToggleIds),
    (Mode::Browse, "tab", Action::SwitchPane),
    (Mode::Browse, "backtab", Action::SwitchPane),
    (Mode::Browse, ":", Action::GoTo),
    (Mode::Browse, "M", Action::ToggleMouse),
    (Mode::Browse, "S", Action::SearchAll),
    (Mode::List, "j", Action::SelectNext),
    (Mode::List, "down", Action::SelectNext),
    (Mode::List, "k", Action::SelectPrevious),
    (Mode::List, "up", Action::SelectPrevious),
    (Mode::List, "pgdn", Action::SelectPageDown),
    (Mode::List, "space", Action::SelectPageDown),
    (Mode::List, "pgup", Action::SelectPageUp),
    (Mode::List, "ctrl-d", Action::SelectHalfDown),
    (Mode::List, "ctrl-u", Action::SelectHalfUp),
    (Mode::List, "g", Action::SelectFirst),
    (Mode::List, "home", Action::SelectFirst),
    (Mode::List, "G", Action::SelectLast),
    (Mode::List, "end", Action::SelectLast),
    (Mode::List, "/", Action::FilterList),
    (Mode::List, "esc", Action::Cancel),
    (Mode::List, "enter", Action::Open),
    (Mode::List, "l", Action::Open),
    (Mode::List, "right", Action::Open),
    (Mode::History, "j", Action::ScrollDown),
    (Mode::History, "down", Action::ScrollDown),
    (Mode::History, "k", Action::ScrollUp),
    (Mode::History, "up", Action::ScrollUp),
    (Mode::History, "pgdn", Action::PageDown),
    (Mode::History, "space", Action::PageDown),
    (Mode::History, "pgup", Action::PageUp),
    (Mode::History, "ctrl-d", Action::HalfPageDown),
    (Mode::History, "ctrl-u", Action::HalfPageUp),
    (Mode::History, "g", Action::OldestLoaded),
    (Mode::History, "home", Action::OldestLoaded),
    (Mode::History, "G", Action::Newest),
    (Mode::History, "end", Action::Newest),
    (Mode::History, "B", Action::Beginning),
    (Mode::History, "t", Action::JumpToDate),
    (Mode::History, "u", Action::FirstUnread),
    (Mode::History, "f", Action::Filter),
    (Mode::History, "s", Action::Sync),
    (Mode::History, "F", Action::ClearFilter),
    (Mode::History, "''", Action::Back),
    (Mode::History, "/", Action::Search),
    (Mode::History, "h", Action::FocusList),
    (Mode::History, "left", Action::FocusList),
    (Mode::History, "n", Action::NextMatch),
    (Mode::History, "N", Action::PreviousMatch),
    (Mode::History, "o", Action::SearchOlder),
    (Mode::History, "ctrl-o", Action::SearchOlder),
    (Mode::History, "esc", Action::Cancel),
    (Mode::History, "v", Action::SelectMessage),
    (Mode::History, "enter", Action::SelectMessage),
    (Mode::History, "i", Action::Details),
    (Mode::History, "e", Action::FullText),
    (Mode::History, "y", Action::CopyText),
    (Mode::History, "Y", Action::CopyLink),
    (Mode::History, "c", Action::ToggleLayout),
    (Mode::History, "O", Action::OpenLink),
    (Mode::History, "d", Action::Download),
    (Mode::Select, "j", Action::NextMessage),
    (Mode::Select, "down", Action::NextMessage),
    (Mode::Select, "k", Action::PreviousMessage),
    (Mode::Select, "up", Action::PreviousMessage),
    (Mode::Select, "enter", Action::Details),
    (Mode::Select, "o", Action::OpenLink),
    (Mode::Select, "esc", Action::Cancel),
    (Mode::Select, "v", Action::Cancel),
    (Mode::Panel, "esc", Action::ClosePanel),
    (Mode::Panel, "i", Action::ClosePanel),
    (Mode::Panel, "j", Action::ScrollDown),
    (Mode::Panel, "down", Action::ScrollDown),
    (Mode::Panel, "k", Action::ScrollUp),
    (Mode::Panel, "up", Action::ScrollUp),
    (Mode::Panel, "pgdn", Action::PageDown),
    (Mode::Panel, "space", Action::PageDown),
    (Mode::Panel, "pgup", Action::PageUp),
    (Mode::Panel, "ctrl-d", Action::HalfPageDown),
    (Mode::Panel, "ctrl-u", Action::HalfPageUp),
    (Mode::Panel, "g", Action::OldestLoaded),
    (Mode::Panel, "home", Action::OldestLoaded),
    (Mode::Panel, "G", Action::Newest),
    (Mode::Panel, "end", Action::Newest),
    (Mode::Panel, "e", Action::FullText),
    (Mode::Panel, "y", Action::CopyText),
    (Mode::Panel, "o", Action::OpenLink),
    (Mode::Panel, "O", Action::OpenLink),
    (Mode::Panel, "d", Action::Download),
    (Mode::Panel, "Y", Action::CopyLink),
    (Mode::Panel, "q", Action::Quit),
    (Mode::Panel, "ctrl-c", Action::Interrupt),
    (Mode::Panel, "ctrl-z", Action::Suspend),
    (Mode::Links, "j", Action::SelectNext),
    (Mode::Links, "down", Action::SelectNext),
    (Mode::Links, "tab", Action::SelectNext),
    (Mode::Links, "k", Action::SelectPrevious),
    (Mode::Links, "up", Action::SelectPrevious),
    (Mode::Links, "y", Action::Accept),
    (Mode::Links, "enter", Action::Accept),
    (Mode::Links, "n", Action::Cancel),
    (Mode::Links, "esc", Action::Cancel),
    (Mode::Links, "q", Action::Cancel),
    (Mode::Links, "ctrl-c", Action::Interrupt),
    (Mode::Links, "ctrl-z", Action::Suspend),
    (Mode::Search, "enter", Action::Accept),
    (Mode::Search, "esc", Action::Cancel),
    (Mode::Search, "backspace", Action::DeleteChar),
    (Mode::Search, "ctrl-r", Action::ToggleRegex),
    (Mode::Search, "ctrl-n", Action::NextMatch),
    (Mode::Search, "down", Action::NextMatch),
    (Mode::Search, "ctrl-p", Action::PreviousMatch),
    (Mode::Search, "up", Action::PreviousMatch),
    (Mode::Search, "ctrl-o", Action::SearchOlder),
    (Mode::Search, "ctrl-c", Action::Interrupt),
    (Mode::Search, "ctrl-z", Action::Suspend),
    (Mode::Prompt, "enter", Action::Accept),
    (Mode::Prompt, "esc", Action::Cancel),
    (Mode::Prompt, "backspace", Action::DeleteChar),
    (Mode::Prompt, "ctrl-c", Action::Interrupt),
    (Mode::Prompt, "ctrl-z", Action::Suspend),
    (Mode::SearchAllInput, "enter", Action::Accept),
    (Mode::SearchAllInput, "esc", Action::Cancel),
    (Mode::SearchAllInput, "backspace", Action::DeleteChar),
    (Mode::SearchAllInput, "ctrl-r", Action::ToggleRegex),
    (Mode::SearchAllInput, "ctrl-c", Action::Interrupt),
    (Mode::SearchAllInput, "ctrl-z", Action::Suspend),
    (Mode::SearchAllResults, "j", Action::SelectNext),
    (Mode::SearchAllResults, "down", Action::SelectNext),
    (Mode::SearchAllResults, "k", Action::SelectPrevious),
    (Mode::SearchAllResults, "up", Action::SelectPrevious),
    (Mode::SearchAllResults, "pgdn", Action::SelectPageDown),
    (Mode::SearchAllResults, "space", Action::SelectPageDown),
    (Mode::SearchAllResults, "pgup", Action::SelectPageUp),
    (Mode::SearchAllResults, "g", Action::SelectFirst),
    (Mode::SearchAllResults, "home", Action::SelectFirst),
    (Mode::SearchAllResults, "G", Action::SelectLast),
    (Mode::SearchAllResults, "end", Action::SelectLast),
    (Mode::SearchAllResults, "enter", Action::Open),
    (Mode::SearchAllResults, "l", Action::Open),
    (Mode::SearchAllResults, "/", Action::SearchAll),
    (Mode::SearchAllResults, "S", Action::SearchAll),
    (Mode::SearchAllResults, "esc", Action::Cancel),
    (Mode::SearchAllResults, "?", Action::ShowHelp),
    (Mode::SearchAllResults, "q", Action::Quit),
    (Mode::SearchAllResults, "ctrl-c", Action::Interrupt),
    (Mode::SearchAllResults, "ctrl-z", Action::Suspend),
    (Mode::Help, "esc", Action::CloseHelp),
    (Mode::Help, "?", Action::CloseHelp),
    (Mode::Help, "j", Action::ScrollDown),
    (Mode::Help, "down", Action::ScrollDown),
    (Mode::Help, "k", Action::ScrollUp),
    (Mode::Help, "up", Action::ScrollUp),
    (Mode::Help, "pgdn", Action::PageDown),
    (Mode::Help, "space", Action::PageDown),
    (Mode::Help, "pgup", Action::PageUp),
    (Mode::Help, "q", Action::Quit),
    (Mode::Help, "ctrl-c", Action::Interrupt),
    (Mode::Help, "ctrl-z", Action::Suspend),
];

impl Default for Keymap {
    fn default() -> Keymap {
        let mut map = Keymap {
            bindings: Vec::with_capacity(DEFAULTS.len()),
        };
        for &(mode, keys, action) in DEFAULTS {
            // The defaults are checked by a test; a bad one is left out, never a panic.
            if let Ok(keys) = keys.parse() {
                let _ = map.bind(mode, keys, action);
            }
        }
        map
    }
}

impl Keymap {
    /// A keymap with no bindings.
    pub fn empty() -> Keymap {
        Keymap {
            bindings: Vec::new(),
        }
    }

    /// Every binding, in the order they were made.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Binds `keys` in `mode` to `action`, replacing what those exact keys did. Keys that
    /// start another binding of the mode, or that another binding starts, are refused:
    /// one of the two could never be typed.
    pub fn bind(
        &mut self,
        mode: Mode,
        keys: KeySequence,
        action: Action,
    ) -> Result<(), KeymapError> {
        if keys.0.is_empty() {
            return Err(KeymapError::Empty);
        }
        if let Some(b) = self
            .bindings
            .iter_mut()
            .find(|b| b.mode == mode && b.keys == keys)
        {
            b.action = action;
            return Ok(());
        }
        let clash = self.bindings.iter().find(|b| {
            b.mode == mode && (b.keys.0.starts_with(&keys.0) || keys.0.starts_with(&b.keys.0))
        });
        if let Some(other) = clash {
            return Err(KeymapError::Prefix {
                keys: keys.to_string(),
                mode: mode.name(),
                other: other.keys.to_string(),
            });
        }
        self.bindings.push(Binding { mode, keys, action });
        Ok(())
    }

    /// Removes the binding of `keys` in `mode`; true when there was one.
    pub fn unbind(&mut self, mode: Mode, keys: &KeySequence) -> bool {
        let before = self.bindings.len();
        self.bindings
            .retain(|b| !(b.mode == mode && &b.keys == keys));
        self.bindings.len() != before
    }

    /// Gives `action` the keys `keys` instead of its own: in every mode the action is bound
    /// in (the browse mode when it is bound nowhere), its old keys are removed and the new
    /// ones bound, taking over what they did in that mode. This is what a config file's
    /// `[keys]` entry does.
    pub fn rebind(&mut self, action: Action, keys: &[KeySequence]) -> Result<(), KeymapError> {
        if keys.is_empty() {
            return Err(KeymapError::Empty);
        }
        let mut modes: Vec<Mode> = Vec::new();
        for b in self.bindings.iter().filter(|b| b.action == action) {
            if !modes.contains(&b.mode) {
                modes.push(b.mode);
            }
        }
        if modes.is_empty() {
            modes.push(Mode::Browse);
        }
        self.bindings
            .retain(|b| !(b.action == action && modes.contains(&b.mode)));
        for mode in modes {
            for k in keys {
                self.bind(mode, k.clone(), action)?;
            }
        }
        Ok(())
    }

    /// What `typed` (the keys pressed since the last action, ending with the new one)
    /// means in `mode`: an action, the start of a longer binding, or nothing.
    pub fn resolve(&self, mode: Mode, typed: &[KeyPress]) -> Resolved {
        for m in mode.lookup_order() {
            let mut pending = false;
            for b in self.bindings.iter().filter(|b| b.mode == *m) {
                if b.keys.0 == typed {
                    return Resolved::Action(b.action);
                }
                pending |= b.keys.0.starts_with(typed);
            }
            if pending {
                return Resolved::Pending;
            }
        }
        Resolved::Unbound
    }

    /// The keys that perform `action` in `mode` (or the modes it falls back to), as the
    /// help writes them: `R`, `G End`. Empty when nothing is bound: hints built from this
    /// always name the keys that really work.
    pub fn keys_for(&self, mode: Mode, action: Action) -> String {
        let keys: Vec<String> = mode
            .lookup_order()
            .iter()
            .flat_map(|m| {
                self.bindings
                    .iter()
                    .filter(move |b| b.mode == *m && b.action == action)
            })
            .map(|b| b.keys.to_string())
            .collect();
        keys.join(" ")
    }

    /// The help: for each mode with bindings, one row per action, its keys joined, in the
    /// order of [`Action::ALL`].
    pub fn help(&self) -> Vec<HelpSection> {
        Mode::ALL
            .iter()
            .filter_map(|&mode| {
                let rows: Vec<(String, &'static str)> = Action::ALL
                    .iter()
                    .filter_map(|&action| {
                        let keys: Vec<String> = self
                            .bindings
                            .iter()
                            .filter(|b| b.mode == mode && b.action == action)
                            .map(|b| b.keys.to_string())
                            .collect();
                        (!keys.is_empty()).then(|| (keys.join(" "), action.describe(mode)))
                    })
                    .collect();
                (!rows.is_empty()).then_some(HelpSection { mode, rows })
            })
            .collect()
    }

    /// The key table of the README: `| where | keys | does |`, generated from
    /// [`help`](Self::help). A test keeps the README's copy equal to it.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from("| where | keys | does |\n|---|---|---|\n");
        for section in self.help() {
            for (keys, does) in section.rows {
                let keys: Vec<String> = keys
                    .split(' ')
                    .map(|k| format!("`{}`", k.replace('|', "\\|")))
                    .collect();
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    section.mode.title(),
                    keys.join(" "),
                    does
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebinding_an_action_moves_it_in_every_mode_it_lives_in() {
        let mut map = Keymap::default();
        let keys: Vec<KeySequence> = vec!["ctrl-e".parse().unwrap(), "J".parse().unwrap()];
        map.rebind(Action::ScrollDown, &keys).expect("free keys");
        let ctrl_e = [KeyPress::ctrl('e')];
        assert_eq!(
            map.resolve(Mode::History, &ctrl_e),
            Resolved::Action(Action::ScrollDown)
        );
        assert_eq!(
            map.resolve(Mode::Help, &ctrl_e),
            Resolved::Action(Action::ScrollDown),
            "the help scrolls with the same keys"
        );
        assert_ne!(
            map.resolve(Mode::History, &[KeyPress::char('j')]),
            Resolved::Action(Action::ScrollDown),
            "the old key is gone"
        );
        // Taking a key another action had: that key now does this.
        map.rebind(Action::Quit, &["G".parse().unwrap()])
            .expect("rebinds");
        assert_eq!(
            map.resolve(Mode::Browse, &[KeyPress::char('G')]),
            Resolved::Action(Action::Quit)
        );
        // A key that starts a two-key binding cannot be bound alone.
        let clash = map.rebind(Action::PageUp, &["'".parse().unwrap()]);
        assert!(
            matches!(clash, Err(KeymapError::Prefix { .. })),
            "{clash:?}"
        );
    }

    #[test]
    fn every_default_binding_parses_and_none_clash() {
        let map = Keymap::default();
        assert_eq!(
            map.bindings().len(),
            DEFAULTS.len(),
            "a default was refused"
        );
    }

    #[test]
    fn keys_round_trip_through_their_text() {
        for b in Keymap::default().bindings() {
            let text = b.keys.to_string();
            assert_eq!(text.parse::<KeySequence>().as_ref(), Ok(&b.keys), "{text}");
        }
        for a in Action::ALL {
            assert_eq!(a.name().parse::<Action>(), Ok(*a));
        }
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>(), Ok(*m));
        }
        assert_eq!("ctrl-D".parse::<KeyPress>(), Ok(KeyPress::ctrl('D')));
        assert!("shift-g".parse::<KeyPress>().is_err());
        assert!("hyper-x".parse::<KeyPress>().is_err());
        assert_eq!(
            "''".parse::<KeySequence>().map(|s| s.to_string()),
            Ok("''".to_string())
        );
    }

    #[test]
    fn modes_fall_back_and_sequences_wait() {
        let mut map = Keymap::default();
        let q = [KeyPress::char('q')];
        assert_eq!(
            map.resolve(Mode::History, &q),
            Resolved::Action(Action::Quit)
        );
        assert_eq!(map.resolve(Mode::Search, &q), Resolved::Unbound, "typed");
        let quote = KeyPress::char('\'');
        map.bind(
            Mode::History,
            KeySequence(vec![quote, quote]),
            Action::Newest,
        )
        .unwrap();
        assert_eq!(map.resolve(Mode::History, &[quote]), Resolved::Pending);
        assert_eq!(
            map.resolve(Mode::History, &[quote, quote]),
            Resolved::Action(Action::Newest)
        );
        assert!(
            map.bind(Mode::History, KeySequence(vec![quote]), Action::Quit)
                .is_err(),
            "a prefix of a binding"
        );
    }

    #[test]
    fn rebinding_changes_the_help_and_hints() {
        let mut map = Keymap::default();
        let r = "R".parse().unwrap();
        assert_eq!(map.keys_for(Mode::History, Action::Retry), "R");
        assert!(map.unbind(Mode::Browse, &r));
        map.bind(Mode::Browse, "ctrl-t".parse().unwrap(), Action::Retry)
            .unwrap();
        assert_eq!(map.keys_for(Mode::List, Action::Retry), "Ctrl-t");
        let browse = &map.help()[0];
        assert!(browse.rows.iter().any(|(k, _)| k == "Ctrl-t"));
        assert!(!browse.rows.iter().any(|(k, _)| k == "R"));
        map.bind(Mode::Browse, "ctrl-t".parse().unwrap(), Action::Quit)
            .unwrap();
        assert_eq!(map.keys_for(Mode::List, Action::Retry), "");
    }
}
