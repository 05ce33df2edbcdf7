//! What a person's config file changes in the browser: key bindings, colours, the time
//! zone, the list's width and how often it refreshes. Built once at start from the
//! [`Config`]; the state machine takes each part through its setters.

use std::path::PathBuf;

use jiff::tz::TimeZone;

use super::action::{Keymap, KeymapError};
use super::app::{App, Settings};
use super::history::MessageLayout;
use super::theme::Theme;
use crate::config::{Config, Display, Images, Layout};

/// The list reloads at most once a minute whatever the setting: the service limits list
/// calls to 5 a minute per user (PROTOCOL.md §6) and others may share that budget.
const LIST_RELOAD_FLOOR_MS: i64 = 60_000;

/// An interval that never comes: `refresh_interval = 0`.
const NEVER_MS: i64 = i64::MAX / 4;

/// The browser's settings from a config file.
#[derive(Clone, Debug)]
pub struct Preferences {
    /// Which keys do what.
    pub keymap: Keymap,
    /// Colours by role.
    pub theme: Theme,
    /// The zone times are shown in.
    pub zone: TimeZone,
    /// The list's width beside the messages; `None`: a third of the screen.
    pub list_width: Option<u16>,
    /// How often the open conversation and the list refresh.
    pub refresh: Settings,
    /// Comfortable or compact.
    pub layout: MessageLayout,
    /// Where downloads go.
    pub downloads_dir: PathBuf,
    /// How pictures are drawn.
    pub images: Images,
}

impl Default for Preferences {
    /// The built-in keys and colours, the system's zone, the default refresh.
    fn default() -> Preferences {
        Preferences {
            keymap: Keymap::default(),
            theme: Theme::default(),
            zone: TimeZone::try_system().unwrap_or(TimeZone::UTC),
            list_width: None,
            refresh: Settings::default(),
            layout: MessageLayout::default(),
            downloads_dir: crate::downloads::downloads_dir(None),
            images: Images::default(),
        }
    }
}

impl Preferences {
    /// The preferences `config` asks for. Its key bindings are applied to the default
    /// keymap: an error says which binding cannot be made (a key that starts another).
    pub fn from_config(config: &Config) -> Result<Preferences, KeymapError> {
        let mut keymap = Keymap::default();
        for (action, keys) in config.keys.iter() {
            keymap.rebind(action, keys)?;
        }
        let display = &config.display;
        Ok(Preferences {
            keymap,
            theme: theme(display),
            zone: display
                .time_zone
                .as_ref()
                .map_or_else(|| Preferences::default().zone, |z| z.time_zone()),
            list_width: display.list_width,
            refresh: refresh(display),
            layout: match display.layout {
                Some(Layout::Compact) => MessageLayout::Compact,
                Some(Layout::Comfortable) | None => MessageLayout::Comfortable,
            },
            downloads_dir: crate::downloads::downloads_dir(config.downloads_dir.as_deref()),
            images: display.images.unwrap_or_default(),
        })
    }

    /// Hands each part to the state machine.
    pub fn apply(self, app: &mut App) {
        app.set_keymap(self.keymap);
        app.set_theme(self.theme);
        app.set_list_width(self.list_width);
        app.set_settings(self.refresh);
        app.set_message_layout(self.layout);
        app.set_downloads_dir(self.downloads_dir);
        app.set_pictures(self.images != Images::Off);
    }
}

fn theme(display: &Display) -> Theme {
    let colors = &display.colors;
    let base = Theme::default();
    Theme {
        accent: colors.accent.unwrap_or(base.accent),
        muted: colors.muted.unwrap_or(base.muted),
        selection: colors.selection.unwrap_or(base.selection),
        error: colors.error.unwrap_or(base.error),
        search_match: colors.search_match.unwrap_or(base.search_match),
        senders: colors.senders.clone().unwrap_or(base.senders),
    }
}

/// `refresh_interval` sets how often the open conversation asks for newer messages; the
/// list follows, but not more often than once a minute; zero turns both off.
fn refresh(display: &Display) -> Settings {
    let base = Settings::default();
    let Some(interval) = display.refresh_interval else {
        return base;
    };
    let ms = i64::try_from(interval.as_millis()).unwrap_or(NEVER_MS);
    if ms == 0 {
        return Settings {
            refresh_every_ms: NEVER_MS,
            list_every_ms: NEVER_MS,
            ..base
        };
    }
    Settings {
        refresh_every_ms: ms,
        list_every_ms: ms.max(LIST_RELOAD_FLOOR_MS),
        ..base
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::tui::action::{Action, KeyPress, Mode, Resolved};

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("config.toml")).expect("a good file")
    }

    #[test]
    fn a_config_file_changes_keys_colours_zone_width_and_refresh() {
        let prefs = Preferences::from_config(&config(
            "[display]\ntime_zone = \"Asia/Tokyo\"\nlist_width = 30\nrefresh_interval = 5\n\
             layout = \"compact\"\n[display.colors]\naccent = \"green\"\n[keys]\nquit = \"ctrl-q\"\n",
        ))
        .expect("applies");
        assert_eq!(
            prefs.keymap.resolve(Mode::Browse, &[KeyPress::ctrl('q')]),
            Resolved::Action(Action::Quit)
        );
        assert_eq!(
            prefs.keymap.resolve(Mode::Browse, &[KeyPress::char('q')]),
            Resolved::Unbound,
            "q no longer quits"
        );
        assert_eq!(prefs.theme.accent, ratatui::style::Color::Green);
        assert_eq!(prefs.theme.error, Theme::default().error, "the rest stays");
        assert_eq!(prefs.zone.iana_name(), Some("Asia/Tokyo"));
        assert_eq!(prefs.list_width, Some(30));
        assert_eq!(prefs.layout, MessageLayout::Compact);
        assert_eq!(prefs.refresh.refresh_every_ms, 5_000);
        assert_eq!(prefs.refresh.list_every_ms, 60_000, "the list's floor");
        let mut app = App::new(120, 40, TimeZone::UTC);
        prefs.apply(&mut app);
        assert_eq!(app.layout().list.map(|r| r.width), Some(30));
        assert_eq!(app.theme().accent, ratatui::style::Color::Green);
        assert_eq!(app.message_layout(), MessageLayout::Compact);
        assert!(
            Config::parse("[display]\nlayout = \"dense\"\n", Path::new("c.toml")).is_err(),
            "an unknown layout is an error naming the line"
        );
    }

    #[test]
    fn zero_turns_refreshing_off_and_no_file_changes_nothing() {
        let off = Preferences::from_config(&config("[display]\nrefresh_interval = 0\n"))
            .expect("applies");
        assert!(off.refresh.refresh_every_ms >= NEVER_MS);
        assert!(off.refresh.list_every_ms >= NEVER_MS);
        let plain = Preferences::from_config(&config("")).expect("applies");
        assert_eq!(plain.keymap, Keymap::default());
        assert_eq!(plain.theme, Theme::default());
        assert_eq!(plain.refresh, Settings::default());
    }
}
