//! Display settings of the config file (`[display]`): how times are written and in which
//! zone, how often to refresh, how wide the conversation list is, and the colours. Each is
//! optional: absent means the built-in default. Values are checked here so a bad one is an
//! error naming its line, not a surprise on screen.

use std::str::FromStr;
use std::time::Duration;

use jiff::tz::TimeZone;
use ratatui::style::Color;
use serde::Deserialize;
use toml::Spanned;

use super::Located;

/// The narrowest and widest conversation list, in columns.
pub const LIST_WIDTH_RANGE: std::ops::RangeInclusive<u16> = 16..=120;
/// The longest refresh interval, in seconds (a day).
pub const MAX_REFRESH_SECS: u64 = 24 * 3600;

/// `[display]` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DisplayFile {
    time_format: Option<Spanned<String>>,
    time_zone: Option<Spanned<String>>,
    refresh_interval: Option<Spanned<i64>>,
    list_width: Option<Spanned<i64>>,
    layout: Option<Spanned<String>>,
    images: Option<Spanned<String>>,
    #[serde(default)]
    colors: ColorsFile,
}

/// `[display.colors]` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorsFile {
    accent: Option<Spanned<String>>,
    muted: Option<Spanned<String>>,
    selection: Option<Spanned<String>>,
    error: Option<Spanned<String>>,
    search_match: Option<Spanned<String>>,
    senders: Option<Spanned<Vec<Spanned<String>>>>,
}

/// The zone times are shown in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    /// The system's zone.
    Local,
    /// An IANA zone name (`Asia/Shanghai`) or `UTC`, known to exist.
    Named(String),
}

impl Zone {
    /// The zone itself. A named zone was found when the file was read; should it vanish
    /// since (a tz database update), the system zone stands in.
    pub fn time_zone(&self) -> TimeZone {
        match self {
            Zone::Local => TimeZone::system(),
            Zone::Named(name) => TimeZone::get(name).unwrap_or_else(|_| TimeZone::system()),
        }
    }

    /// As written in the file.
    pub fn name(&self) -> &str {
        match self {
            Zone::Local => "local",
            Zone::Named(name) => name,
        }
    }
}

/// How the history pane lays messages out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A header above each run of one sender's messages.
    Comfortable,
    /// One line per message: `16:56 sarah.chen │ text`.
    Compact,
}

impl Layout {
    /// As written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Comfortable => "comfortable",
            Layout::Compact => "compact",
        }
    }
}

/// How pictures are drawn in the details panel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Images {
    /// Ask the terminal which graphics it has (kitty, sixel, iTerm2); half-blocks when it
    /// has none, inside tmux or screen, or when it does not answer.
    #[default]
    Auto,
    /// Coloured half-block characters: every terminal with colours.
    Halfblocks,
    /// The kitty graphics protocol.
    Kitty,
    /// Sixel graphics.
    Sixel,
    /// iTerm2's inline images.
    Iterm2,
    /// No pictures.
    Off,
}

impl Images {
    /// Every setting, as written in the file.
    pub const NAMES: [(&'static str, Images); 6] = [
        ("auto", Images::Auto),
        ("halfblocks", Images::Halfblocks),
        ("kitty", Images::Kitty),
        ("sixel", Images::Sixel),
        ("iterm2", Images::Iterm2),
        ("off", Images::Off),
    ];

    /// As written in the file.
    pub fn name(self) -> &'static str {
        Images::NAMES
            .iter()
            .find(|(_, i)| *i == self)
            .map_or("auto", |(name, _)| name)
    }
}

/// Colours by their role on screen; `None` keeps the built-in colour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Colors {
    /// Focused borders, headings, the search prompt.
    pub accent: Option<Color>,
    /// Unfocused borders and secondary text.
    pub muted: Option<Color>,
    /// Search matches, unread badges, new-message notes and filters.
    pub selection: Option<Color>,
    /// Errors and the unread divider.
    pub error: Option<Color>,
    /// The current search match.
    pub search_match: Option<Color>,
    /// Sender names, in turn.
    pub senders: Option<Vec<Color>>,
}

/// The display settings, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Display {
    /// A strftime format for message times (`%Y-%m-%d %H:%M`).
    pub time_format: Option<String>,
    /// The zone of shown times.
    pub time_zone: Option<Zone>,
    /// How often the open conversation (and, at most once a minute, the list) refreshes;
    /// `Some(ZERO)` = never.
    pub refresh_interval: Option<Duration>,
    /// Width of the conversation list, in columns.
    pub list_width: Option<u16>,
    /// `layout = "compact"` or `"comfortable"` (the default).
    pub layout: Option<Layout>,
    /// `images = "auto"` (the default), `"halfblocks"`, `"kitty"`, `"sixel"`, `"iterm2"`
    /// or `"off"`.
    pub images: Option<Images>,
    /// Colours.
    pub colors: Colors,
}

impl Display {
    /// Checks `[display]`.
    pub(super) fn from_file(file: DisplayFile) -> Result<Display, Located> {
        let time_format = file.time_format.map(check_time_format).transpose()?;
        let time_zone = file.time_zone.map(check_zone).transpose()?;
        let refresh_interval = file
            .refresh_interval
            .map(|secs| {
                u64::try_from(*secs.get_ref())
                    .ok()
                    .filter(|s| *s <= MAX_REFRESH_SECS)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        Located::new(
                            secs.span(),
                            format!(
                                "refresh_interval is in seconds, 0 (never) to {MAX_REFRESH_SECS}"
                            ),
                        )
                    })
            })
            .transpose()?;
        let list_width = file
            .list_width
            .map(|width| {
                u16::try_from(*width.get_ref())
                    .ok()
                    .filter(|w| LIST_WIDTH_RANGE.contains(w))
                    .ok_or_else(|| {
                        Located::new(
                            width.span(),
                            format!(
                                "list_width is in columns, {} to {}",
                                LIST_WIDTH_RANGE.start(),
                                LIST_WIDTH_RANGE.end()
                            ),
                        )
                    })
            })
            .transpose()?;
        let layout = file
            .layout
            .map(|l| match l.get_ref().trim() {
                "compact" => Ok(Layout::Compact),
                "comfortable" => Ok(Layout::Comfortable),
                other => Err(Located::new(
                    l.span(),
                    format!("layout is \"compact\" or \"comfortable\", not {other:?}"),
                )),
            })
            .transpose()?;
        let images = file
            .images
            .map(|i| {
                let written = i.get_ref().trim();
                Images::NAMES
                    .iter()
                    .find(|(name, _)| *name == written)
                    .map(|(_, images)| *images)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Images::NAMES.iter().map(|(n, _)| *n).collect();
                        Located::new(
                            i.span(),
                            format!("images is one of {}, not {written:?}", names.join(", ")),
                        )
                    })
            })
            .transpose()?;
        let c = file.colors;
        let senders = c
            .senders
            .map(|list| {
                let span = list.span();
                let colors = list
                    .into_inner()
                    .into_iter()
                    .map(color)
                    .collect::<Result<Vec<_>, _>>()?;
                if colors.is_empty() {
                    return Err(Located::new(
                        span,
                        "senders needs at least one colour".into(),
                    ));
                }
                Ok(colors)
            })
            .transpose()?;
        Ok(Display {
            time_format,
            time_zone,
            refresh_interval,
            list_width,
            layout,
            images,
            colors: Colors {
                accent: c.accent.map(color).transpose()?,
                muted: c.muted.map(color).transpose()?,
                selection: c.selection.map(color).transpose()?,
                error: c.error.map(color).transpose()?,
                search_match: c.search_match.map(color).transpose()?,
                senders,
            },
        })
    }
}

/// A format is checked by using it once: jiff refuses unknown directives.
fn check_time_format(format: Spanned<String>) -> Result<String, Located> {
    let sample = jiff::Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC);
    let text = format.get_ref();
    let written = jiff::fmt::strtime::format(text.as_bytes(), &sample);
    match written {
        Ok(shown) if !text.trim().is_empty() && !shown.chars().any(char::is_control) => {
            Ok(format.into_inner())
        }
        Ok(_) => Err(Located::new(
            format.span(),
            "time_format must show something, on one line".into(),
        )),
        Err(e) => Err(Located::new(
            format.span(),
            format!("time_format {text:?} is not a strftime format: {e}"),
        )),
    }
}

fn check_zone(zone: Spanned<String>) -> Result<Zone, Located> {
    let name = zone.get_ref().trim();
    if name.eq_ignore_ascii_case("local") || name.eq_ignore_ascii_case("system") {
        return Ok(Zone::Local);
    }
    match TimeZone::get(name) {
        Ok(_) => Ok(Zone::Named(name.to_string())),
        Err(_) => Err(Located::new(
            zone.span(),
            format!(
                "time_zone {name:?} is not a zone: use \"local\", \"UTC\" or a name like \"Asia/Shanghai\""
            ),
        )),
    }
}

fn color(text: Spanned<String>) -> Result<Color, Located> {
    Color::from_str(text.get_ref().trim()).map_err(|_| {
        Located::new(
            text.span(),
            format!(
                "{:?} is not a colour: use a name (\"cyan\", \"light-red\", \"dark-gray\"), \"#rrggbb\" or 0 to 255",
                text.get_ref()
            ),
        )
    })
}
