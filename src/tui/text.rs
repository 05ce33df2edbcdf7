//! Display text: the one gate every string from the server passes through
//! before a widget sees it, plus display width and wrapping.
//!
//! Server text is untrusted. A message body can carry terminal escape
//! sequences (`ESC [ 2 J`, OSC title changes, 8-bit CSI), bidi overrides that
//! make text read differently from what was sent, and invisible characters
//! that hide content. [`sanitize`] and [`sanitize_message`] make all of that
//! visible and inert; [`one_line`] does the same for names and previews.
//!
//! What sanitizing does, character class by class:
//!
//! | input | output | why |
//! |---|---|---|
//! | CR LF, lone CR, U+2028, U+2029 | `\n` | one line-break convention for wrapping and byte ranges |
//! | tab | spaces to the next multiple of [`TAB_WIDTH`] columns of its logical line | wrapped ranges stay plain byte ranges; see below |
//! | other C0 (U+0000–U+001F) | Control Pictures U+2400 + code, e.g. ESC → `␛` | visible, one column, still tells what it was |
//! | DEL (U+007F) | `␡` (U+2421) | same |
//! | C1 (U+0080–U+009F) | `⟨U+009B⟩` | there are no control pictures for C1; the code point is the most useful thing to show |
//! | bidi embeddings, overrides, isolates (U+202A–202E, U+2066–2069) | `⟨RLO⟩`, `⟨LRI⟩`, … | a support engineer should *see* a spoof attempt, not be fooled by it |
//! | bidi marks (U+200E, U+200F, U+061C) | removed | common in legitimate RTL text, invisible, and they cannot reorder runs |
//! | invisible formatters (U+00AD, U+200B, U+2060–2065, U+206A–206F, U+FEFF, U+FFF0–FFFB, U+180E, U+1D173–1D17A, U+E0000–E001F, U+E0080–E0FFF outside the variation selectors) | removed | they hide or split text and show nothing |
//! | tag characters (U+E0020–E007F) | kept only right after 🏴 or another tag character | they spell subdivision flags; anywhere else they smuggle invisible text |
//! | noncharacters (U+FDD0–FDEF, U+xFFFE/U+xFFFF) | `�` | terminals disagree on them |
//! | a zero-width character at the start of a line | prefixed with `◌` (U+25CC) | a lone combining mark would otherwise combine with whatever the terminal has left of the pane (its border) |
//!
//! ZWJ and ZWNJ, variation selectors and combining marks stay: emoji
//! sequences, Indic and Arabic shaping need them.
//!
//! Tabs are expanded while sanitizing, to the next multiple of [`TAB_WIDTH`]
//! columns measured from the start of the logical line (before wrapping). That
//! keeps every position in the sanitized text one fixed width, so wrapping is a
//! pure function of widths and the byte ranges it returns can be used for
//! search highlighting without any tab arithmetic.
//!
//! Width follows ratatui: a grapheme cluster is as wide as
//! `UnicodeWidthStr::width` of the whole cluster (plus ratatui's adjustment for
//! the halfwidth sound marks U+FF9E/U+FF9F), and clusters containing a control
//! character are zero wide because ratatui does not draw them. unicode-width
//! 0.2 already gives emoji ZWJ sequences, skin-tone modifier sequences, flags
//! and VS16 sequences two columns, so no extra clamping is done: clamping would
//! make our measure disagree with what ratatui draws, and the point of this
//! module is that wrapped lines fit exactly where ratatui will put them.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use unicode_segmentation::UnicodeSegmentation;

use super::numbers::human_size;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The most bytes of sanitized text shown for one message.
///
/// A hostile or accidental multi-megabyte message must not cost the history
/// view more than a screenful of work per width change; 64 KiB is far more
/// than anyone reads in a chat bubble.
pub const MESSAGE_CAP: usize = 64 * 1024;

/// The most bytes of sanitized text the full view of one message shows: far beyond any
/// chat message people write, small enough to wrap in a blink.
pub const FULL_VIEW_CAP: usize = 4 * 1024 * 1024;

/// Tab stops are every this many columns.
pub const TAB_WIDTH: usize = 4;

/// Whether the terminal draws emoji sequences (ZWJ families, skin tones, VS16) as one
/// two-column glyph, as Unicode says. Some terminals (tmux 3.3, older emulators) draw each
/// part on its own, which would shift the rest of the row; for them the sequences are split
/// into their parts before any widget sees them. Set once at start-up from a probe.
static EMOJI_SEQUENCES: AtomicBool = AtomicBool::new(true);

/// Tells sanitizing whether the terminal draws emoji sequences as one glyph (the default).
pub fn set_emoji_sequences(supported: bool) {
    EMOJI_SEQUENCES.store(supported, Ordering::Relaxed);
}

/// Whether emoji sequences are kept whole (see [`set_emoji_sequences`]).
pub fn emoji_sequences() -> bool {
    EMOJI_SEQUENCES.load(Ordering::Relaxed)
}

/// Whether `c` is something an emoji ZWJ sequence joins: a pictograph or a modifier.
fn is_emoji_part(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}' | '\u{1F000}'..='\u{1FAFF}')
}

/// Shown in front of a zero-width character that would otherwise start a line.
const DOTTED_CIRCLE: char = '\u{25CC}';

/// What sanitizing does with one input character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// Copied unchanged.
    Keep,
    /// Removed.
    Drop,
    /// LF, U+2028, U+2029: a line break.
    LineBreak,
    /// CR: dropped before LF, a line break otherwise.
    CarriageReturn,
    /// Expanded to spaces.
    Tab,
    /// Replaced by one visible character.
    Replace(char),
    /// Replaced by a visible named tag.
    Tag(&'static str),
    /// A C1 control, shown as `⟨U+00XX⟩`.
    C1,
    /// A tag character: kept only inside an emoji tag sequence.
    TagChar,
}

/// Classifies one input character. Printable ASCII is the first arm so the
/// common case costs one comparison.
fn classify(c: char) -> Action {
    match c {
        ' '..='~' => Action::Keep,
        '\n' | '\u{2028}' | '\u{2029}' => Action::LineBreak,
        '\r' => Action::CarriageReturn,
        '\t' => Action::Tab,
        // Control Pictures mirror C0 one to one: U+2400 + code.
        '\0'..='\x1f' => {
            Action::Replace(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}'))
        }
        '\x7f' => Action::Replace('\u{2421}'),
        '\u{80}'..='\u{9f}' => Action::C1,
        '\u{202A}' => Action::Tag("⟨LRE⟩"),
        '\u{202B}' => Action::Tag("⟨RLE⟩"),
        '\u{202C}' => Action::Tag("⟨PDF⟩"),
        '\u{202D}' => Action::Tag("⟨LRO⟩"),
        '\u{202E}' => Action::Tag("⟨RLO⟩"),
        '\u{2066}' => Action::Tag("⟨LRI⟩"),
        '\u{2067}' => Action::Tag("⟨RLI⟩"),
        '\u{2068}' => Action::Tag("⟨FSI⟩"),
        '\u{2069}' => Action::Tag("⟨PDI⟩"),
        // Bidi marks, then invisible format characters and the default-ignorable
        // unassigned code points near them.
        '\u{200E}' | '\u{200F}' | '\u{061C}' => Action::Drop,
        '\u{00AD}'
        | '\u{180E}'
        | '\u{200B}'
        | '\u{2060}'..='\u{2065}'
        | '\u{206A}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF0}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E001F}'
        | '\u{E0080}'..='\u{E00FF}'
        | '\u{E01F0}'..='\u{E0FFF}' => Action::Drop,
        '\u{E0020}'..='\u{E007F}' => Action::TagChar,
        '\u{FDD0}'..='\u{FDEF}' => Action::Replace('\u{FFFD}'),
        _ if u32::from(c) & 0xFFFE == 0xFFFE => Action::Replace('\u{FFFD}'),
        _ => Action::Keep,
    }
}

/// Whether sanitizing shows `c` as it is. Every other character (controls, line and
/// paragraph separators, bidi controls, invisible formatters, tag characters,
/// noncharacters) is one a sink other than the sanitized view must escape: the `--json`
/// output writes them as `\uXXXX` by this same list.
pub fn shown_as_is(c: char) -> bool {
    classify(c) == Action::Keep
}

/// Whether sanitized output is one multi-line body or a single line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Message,
    OneLine,
}

/// The sanitized output, kept as a prefix of the input for as long as nothing
/// has changed, so clean text never allocates.
struct Out<'a> {
    src: &'a str,
    /// `None` while the output is exactly `src[..borrowed_len]`.
    owned: Option<String>,
    borrowed_len: usize,
}

impl<'a> Out<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            owned: None,
            borrowed_len: 0,
        }
    }

    fn as_str(&self) -> &str {
        match &self.owned {
            Some(s) => s,
            None => self.src.get(..self.borrowed_len).unwrap_or_default(),
        }
    }

    fn len(&self) -> usize {
        self.owned.as_ref().map_or(self.borrowed_len, String::len)
    }

    /// Appends `c`, which is the input character starting at byte `at`.
    /// Callers keep the invariant that in borrowed mode `at == borrowed_len`:
    /// every other action switches to owned first.
    fn keep(&mut self, at: usize, c: char) {
        match &mut self.owned {
            Some(s) => s.push(c),
            None => self.borrowed_len = at + c.len_utf8(),
        }
    }

    /// The output as an owned string, copying the borrowed prefix once.
    fn owned(&mut self) -> &mut String {
        let (src, len) = (self.src, self.borrowed_len);
        self.owned.get_or_insert_with(|| {
            let mut s = String::with_capacity(src.len() + 16);
            s.push_str(src.get(..len).unwrap_or_default());
            s
        })
    }

    fn into_cow(self) -> Cow<'a, str> {
        match self.owned {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(self.src.get(..self.borrowed_len).unwrap_or_default()),
        }
    }
}

/// The shared sanitizer. Stops once the output reaches `cap` bytes (at a
/// character boundary) and then appends a marker saying so.
fn sanitize_with(s: &str, mode: Mode, cap: usize) -> Cow<'_, str> {
    sanitize_for(s, mode, cap, emoji_sequences())
}

/// [`sanitize_with`] for a terminal that does (`sequences`) or does not draw emoji
/// sequences as one glyph.
fn sanitize_for(s: &str, mode: Mode, cap: usize, sequences: bool) -> Cow<'_, str> {
    // Fast path: printable ASCII (and LF in bodies) needs nothing, and most
    // chat text is like that. This loop vectorizes well.
    let newline_ok = mode == Mode::Message;
    if s.len() <= cap
        && s.bytes()
            .all(|b| matches!(b, b' '..=b'~') || (newline_ok && b == b'\n'))
    {
        return Cow::Borrowed(s);
    }

    let mut out = Out::new(s);
    // The last character written, to know where lines start and whether a
    // tag character continues an emoji tag sequence.
    let mut prev: Option<char> = None;
    // Tab stops: `col` is the width of the current output line up to byte
    // `col_from`; the rest is measured lazily when a tab arrives.
    let mut col = 0usize;
    let mut col_from = 0usize;
    let mut truncated = false;
    let line_break = if mode == Mode::Message { '\n' } else { ' ' };

    for (i, c) in s.char_indices() {
        if out.len() >= cap {
            // Only claim truncation when something visible was left out.
            truncated = s
                .get(i..)
                .is_some_and(|rest| rest.chars().any(|c| classify(c) != Action::Drop));
            break;
        }
        match classify(c) {
            // On a terminal that draws the parts of an emoji sequence one by one, the
            // joiners, skin tones and emoji variation selectors go, leaving each pictograph
            // as wide on screen as it is measured here.
            Action::Keep
                if !sequences
                    && (matches!(c, '\u{1F3FB}'..='\u{1F3FF}' | '\u{FE0F}')
                        || (c == '\u{200D}' && prev.is_some_and(is_emoji_part))) =>
            {
                out.owned();
            }
            Action::Keep => {
                if matches!(prev, None | Some('\n')) && !c.is_ascii() && c.width() == Some(0) {
                    out.owned().push(DOTTED_CIRCLE);
                }
                out.keep(i, c);
                prev = Some(c);
            }
            Action::Drop => {
                out.owned();
            }
            Action::CarriageReturn if s.as_bytes().get(i + 1) == Some(&b'\n') => {
                // CR of a CR LF pair: the LF makes the break.
                out.owned();
            }
            Action::LineBreak | Action::CarriageReturn => {
                if c == line_break {
                    out.keep(i, c);
                } else {
                    out.owned().push(line_break);
                }
                prev = Some(line_break);
                if mode == Mode::Message {
                    col = 0;
                    col_from = out.len();
                }
            }
            Action::Tab if mode == Mode::OneLine => {
                out.owned().push(' ');
                prev = Some(' ');
            }
            Action::Tab => {
                col += width(out.as_str().get(col_from..).unwrap_or_default());
                let spaces = TAB_WIDTH - col % TAB_WIDTH;
                let o = out.owned();
                o.extend(std::iter::repeat_n(' ', spaces));
                col += spaces;
                col_from = o.len();
                prev = Some(' ');
            }
            Action::Replace(r) => {
                out.owned().push(r);
                prev = Some(r);
            }
            Action::Tag(tag) => {
                out.owned().push_str(tag);
                prev = Some('⟩');
            }
            Action::C1 => {
                // Writing to a String cannot fail.
                let _ = write!(out.owned(), "⟨U+{:04X}⟩", u32::from(c));
                prev = Some('⟩');
            }
            Action::TagChar => {
                if matches!(prev, Some('\u{1F3F4}' | '\u{E0020}'..='\u{E007F}')) {
                    out.keep(i, c);
                    prev = Some(c);
                } else {
                    out.owned();
                }
            }
        }
    }

    if truncated {
        let total = s.len();
        let o = out.owned();
        match mode {
            Mode::Message => {
                if !o.is_empty() && !o.ends_with('\n') {
                    o.push('\n');
                }
                let total = u64::try_from(total).unwrap_or(u64::MAX);
                let _ = write!(o, "… [message truncated: {} total]", human_size(total));
            }
            Mode::OneLine => o.push('…'),
        }
    }
    out.into_cow()
}

/// Sanitizes a multi-line message body, without a length cap.
///
/// The output contains no control character other than `\n`, no DEL, no C1,
/// no bidi override or isolate (they become visible tags) and no invisible
/// formatter. Use [`sanitize_message`] for message bodies shown in the
/// history view; this uncapped form is for text already known to be small.
pub fn sanitize(s: &str) -> String {
    sanitize_with(s, Mode::Message, usize::MAX).into_owned()
}

/// Sanitizes a message body for display, capped at about [`MESSAGE_CAP`]
/// bytes.
///
/// Text that needs no change and fits the cap is returned borrowed, so the
/// common case allocates nothing. Longer text is cut at a character boundary
/// and ends with a line like `… [message truncated: 1.2 MB total]`, where the
/// total is the size of the original text.
pub fn sanitize_message(s: &str) -> Cow<'_, str> {
    sanitize_with(s, Mode::Message, MESSAGE_CAP)
}

/// Sanitizes a multi-line text capped at about `cap` bytes, like [`sanitize_message`]
/// with another cap: what the full view of a message and the clipboard get.
pub fn sanitize_capped(s: &str, cap: usize) -> Cow<'_, str> {
    sanitize_with(s, Mode::Message, cap)
}

/// Sanitizes a name or preview into one line no wider than `max_width`
/// columns.
///
/// Line breaks (CR LF counts as one) and tabs become single spaces, everything
/// else is sanitized like a message, and text too wide is cut with `…`.
pub fn one_line(s: &str, max_width: usize) -> String {
    truncate_to_width(&sanitize_with(s, Mode::OneLine, MESSAGE_CAP), max_width)
}

/// The width of one grapheme cluster, exactly as ratatui measures it when it
/// draws, so lines we wrap are never clipped by the renderer.
fn grapheme_width(g: &str) -> usize {
    if let [b] = g.as_bytes() {
        return usize::from(!b.is_ascii_control());
    }
    let mut sound_marks = 0;
    for c in g.chars() {
        if c.is_control() {
            // ratatui skips clusters containing a control character.
            return 0;
        }
        if matches!(c, '\u{FF9E}' | '\u{FF9F}') {
            sound_marks += 1;
        }
    }
    g.width() + sound_marks
}

/// The display width of one line of text in terminal columns.
///
/// Measured per grapheme cluster: CJK and emoji (including ZWJ sequences and
/// skin-tone modifiers) are two columns, combining marks zero. Control
/// characters, including `\n`, count zero because ratatui does not draw them;
/// pass sanitized text to get a meaningful answer.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.bytes().filter(|b| !b.is_ascii_control()).count()
    } else {
        s.graphemes(true).map(grapheme_width).sum()
    }
}

/// Cuts `s` to at most `max` columns, ending with `…` when anything was cut.
///
/// Never splits a grapheme cluster. With `max == 0` nothing fits, not even
/// the ellipsis, so the result is empty unless `s` itself is zero wide.
pub fn truncate_to_width(s: &str, max: usize) -> String {
    if s.is_ascii() && s.len() <= max {
        return s.to_owned();
    }
    let budget = max.saturating_sub(1); // room left for the ellipsis
    let mut total = 0usize;
    let mut cut = 0usize;
    for (i, g) in s.grapheme_indices(true) {
        total += grapheme_width(g);
        if total <= budget {
            cut = i + g.len();
        }
        if total > max {
            if max == 0 {
                return String::new();
            }
            let mut out = String::with_capacity(cut + '…'.len_utf8());
            out.push_str(s.get(..cut).unwrap_or_default());
            out.push('…');
            return out;
        }
    }
    s.to_owned()
}

/// Keeps the end of `s` in at most `max` columns, starting with `…` when anything was
/// cut: the text just before a search match, which matters most near the match.
///
/// Never splits a grapheme cluster; pass sanitized text.
pub fn tail_to_width(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    let budget = max.saturating_sub(1);
    if max == 0 {
        return String::new();
    }
    let mut total = 0usize;
    let mut cut = s.len();
    for (i, g) in s.grapheme_indices(true).rev() {
        total += grapheme_width(g);
        if total > budget {
            break;
        }
        cut = i;
    }
    format!("…{}", s.get(cut..).unwrap_or_default())
}

/// One line of wrapped text: a byte range into the text given to [`wrap`]
/// and its display width.
///
/// Ranges let search map a match (a byte range in the sanitized text) to the
/// lines and columns it covers without copying text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WrappedLine {
    /// Byte offset of the first byte shown on this line.
    pub start: usize,
    /// Byte offset one past the last byte shown on this line.
    pub end: usize,
    /// Display width in columns (saturating at `u16::MAX`).
    pub width: u16,
}

impl WrappedLine {
    /// The text of this line, given the same text that was wrapped.
    ///
    /// Returns `""` rather than panicking if given some other text.
    pub fn as_str<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or_default()
    }

    /// The byte range of this line.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// How a grapheme cluster takes part in line breaking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Breakable whitespace: a break may replace it.
    Space,
    /// Part of a word: no break before it unless it starts the word.
    Word,
    /// Two or more columns (CJK, emoji): a break is allowed on either side,
    /// since CJK text has no spaces between words.
    Wide,
}

/// One grapheme cluster: its byte range in the whole text, width and kind.
#[derive(Clone, Copy, Debug)]
struct Cluster {
    start: usize,
    end: usize,
    width: usize,
    kind: Kind,
    /// Closing punctuation (`。`, `、`, `）`, `」`, small kana, `)` after CJK): no line
    /// may start with it where a break before the character before it is possible.
    closing: bool,
    /// `/`, `?`, `&`, `=`, `-`: where a word longer than the line (a URL, a path) breaks
    /// best, after it.
    soft: bool,
    /// Opening punctuation (`（`, `「`): no break right after it.
    opening: bool,
}

/// Opening brackets and quotes: a line should not end with one.
fn is_opening(c: char) -> bool {
    matches!(
        c,
        '（' | '〔'
            | '［'
            | '｛'
            | '〈'
            | '《'
            | '「'
            | '『'
            | '【'
            | '〘'
            | '〖'
            | '〝'
            | '‘'
            | '“'
            | '｟'
            | '«'
            | '｢'
    )
}

/// Characters a line should not start with (JIS X 4051's line-start prohibitions, the
/// common part): closing brackets and quotes, CJK commas and full stops, small kana, the
/// iteration and prolonged sound marks, and ASCII closers and stops (which matter after
/// CJK, where every position is otherwise a break opportunity).
fn is_closing(c: char) -> bool {
    matches!(
        c,
        ')' | ']' | '}' | ',' | '.' | '!' | '?' | ':' | ';'
            | '、' | '。' | '，' | '．' | '：' | '；' | '！' | '？'
            | '）' | '〕' | '］' | '｝' | '〉' | '》' | '」' | '』' | '】' | '〙' | '〗' | '〟'
            | '’' | '”' | '｠' | '»' | '・' | 'ー' | 'ヽ' | 'ヾ' | 'ゝ' | 'ゞ' | '々' | '〻'
            | '‼' | '⁇' | '⁈' | '⁉' | '゠' | '〜' | '～'
            | 'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' | 'っ' | 'ゃ' | 'ゅ' | 'ょ' | 'ゎ' | 'ゕ' | 'ゖ'
            | 'ァ' | 'ィ' | 'ゥ' | 'ェ' | 'ォ' | 'ッ' | 'ャ' | 'ュ' | 'ョ' | 'ヮ' | 'ヵ' | 'ヶ'
            | '\u{31F0}'..='\u{31FF}'
            | '｡' | '｣' | '､' | '･' | 'ｰ' | '\u{FF67}'..='\u{FF6F}'
    )
}

/// Characters a long word breaks after: the separators of URLs and paths.
fn is_soft_break(c: char) -> bool {
    matches!(c, '/' | '?' | '&' | '=' | '-')
}

fn cluster_kind(g: &str, width: usize) -> Kind {
    let mut chars = g.chars();
    match (chars.next(), chars.next()) {
        // No-break spaces are whitespace that must not break.
        (Some(c), None)
            if c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}') =>
        {
            Kind::Space
        }
        _ if width >= 2 => Kind::Wide,
        _ => Kind::Word,
    }
}

/// Calls `f` for every grapheme cluster of `line` (which starts at byte
/// `base` of the whole text). ASCII lines skip segmentation: every byte is
/// its own cluster there, since a line holds no LF to pair with a CR.
fn for_each_cluster(line: &str, base: usize, mut f: impl FnMut(Cluster)) {
    if line.is_ascii() {
        for (i, b) in line.bytes().enumerate() {
            let c = char::from(b);
            f(Cluster {
                start: base + i,
                end: base + i + 1,
                width: usize::from(!b.is_ascii_control()),
                kind: if c.is_whitespace() {
                    Kind::Space
                } else {
                    Kind::Word
                },
                closing: is_closing(c),
                soft: is_soft_break(c),
                opening: matches!(c, '(' | '[' | '{'),
            });
        }
    } else {
        for (i, g) in line.grapheme_indices(true) {
            let width = grapheme_width(g);
            let first = g.chars().next().unwrap_or(' ');
            f(Cluster {
                start: base + i,
                end: base + i + g.len(),
                width,
                kind: cluster_kind(g, width),
                closing: is_closing(first),
                soft: is_soft_break(first),
                opening: is_opening(first),
            });
        }
    }
}

/// The output line being filled.
#[derive(Clone, Copy, Debug)]
struct Filling {
    start: usize,
    end: usize,
    width: usize,
}

/// Greedy wrapping of one logical line; `emit(start, end, width)` receives
/// each output line. Shared by [`wrap`] and [`line_count`] so they can never
/// disagree.
struct LineWrapper<E: FnMut(usize, usize, usize)> {
    max: usize,
    emit: E,
    cur: Option<Filling>,
    /// Width of whitespace seen after `cur.end`, not yet part of the line:
    /// dropped if the line breaks there, committed if a word follows on the
    /// same line.
    pending_space: Option<usize>,
    /// Where `cur` could end at the last break opportunity: `(end, width)`.
    /// The word after it starts at `word_start` and is `word_width` wide.
    brk: Option<(usize, usize)>,
    word_start: usize,
    word_width: usize,
    /// Still in the leading whitespace of the logical line: indentation is
    /// content, not a break opportunity.
    indent: bool,
    prev_wide: bool,
    /// The last cluster was opening punctuation.
    prev_opening: bool,
    /// The end of the last soft break character in the current word and the word's width
    /// up to it: where a word longer than the line breaks.
    soft: Option<(usize, usize)>,
}

impl<E: FnMut(usize, usize, usize)> LineWrapper<E> {
    fn new(max: usize, emit: E) -> Self {
        Self {
            max,
            emit,
            cur: None,
            pending_space: None,
            brk: None,
            word_start: 0,
            word_width: 0,
            indent: true,
            prev_wide: false,
            prev_opening: false,
            soft: None,
        }
    }

    fn push(&mut self, c: Cluster) {
        match c.kind {
            Kind::Space if self.indent => {
                self.push_unbreakable(c);
                self.prev_wide = false;
                self.prev_opening = false;
            }
            Kind::Space => {
                // Leading whitespace of a continuation line is the break
                // itself: drop it.
                if self.cur.is_some() {
                    self.pending_space = Some(self.pending_space.unwrap_or(0) + c.width);
                }
                self.prev_wide = false;
                self.prev_opening = false;
            }
            Kind::Word | Kind::Wide => {
                self.indent = false;
                let wide = c.kind == Kind::Wide;
                // CJK breaks anywhere, except before closing punctuation and after opening.
                let opportunity = self.pending_space.is_some()
                    || ((wide || self.prev_wide) && !c.closing && !self.prev_opening);
                let space = self.pending_space.take().unwrap_or(0);
                match self.cur {
                    Some(cur) if opportunity => self.push_after_break(cur, c, space),
                    _ => self.push_unbreakable(c),
                }
                self.prev_wide = wide;
                self.prev_opening = c.opening;
            }
        }
    }

    /// `c` starts a new word after `space` columns of pending whitespace.
    fn push_after_break(&mut self, cur: Filling, c: Cluster, space: usize) {
        if cur.width + space + c.width <= self.max {
            self.brk = Some((cur.end, cur.width));
            self.cur = Some(Filling {
                end: c.end,
                width: cur.width + space + c.width,
                ..cur
            });
            self.word_start = c.start;
            self.word_width = c.width;
            self.soft = c.soft.then_some((c.end, c.width));
        } else {
            (self.emit)(cur.start, cur.end, cur.width);
            self.start_line(c);
        }
    }

    /// Adds `c` to the current word on line `cur`, remembering a soft break after it.
    fn append(&mut self, mut cur: Filling, c: Cluster) {
        cur.end = c.end;
        cur.width += c.width;
        self.word_width += c.width;
        if c.soft {
            self.soft = Some((c.end, self.word_width));
        }
        self.cur = Some(cur);
    }

    /// `c` continues the current word (or starts a line).
    fn push_unbreakable(&mut self, c: Cluster) {
        let Some(mut cur) = self.cur else {
            self.start_line(c);
            return;
        };
        // Zero-width clusters always join the line they follow: starting a
        // line with one would make it combine with the pane's left edge.
        if c.width == 0 || cur.width + c.width <= self.max {
            self.append(cur, c);
            return;
        }
        if let Some((end, width)) = self.brk.take() {
            // Move the word so far to a new line, dropping the break
            // whitespace before it.
            (self.emit)(cur.start, end, width);
            cur = Filling {
                start: self.word_start,
                end: cur.end,
                width: self.word_width,
            };
            if cur.width + c.width <= self.max {
                self.append(cur, c);
                return;
            }
        }
        // The word is longer than the line: break inside it, after its last soft break
        // character on the line when it has one (the line holds only this word here).
        if let Some((end, width)) = self
            .soft
            .take()
            .filter(|&(end, w)| cur.start == self.word_start && end < cur.end && w > 0)
        {
            (self.emit)(cur.start, end, width);
            let rest = Filling {
                start: end,
                end: cur.end,
                width: cur.width - width,
            };
            self.word_start = end;
            self.word_width = rest.width;
            if rest.width + c.width <= self.max {
                self.append(rest, c);
                return;
            }
            cur = rest;
        }
        (self.emit)(cur.start, cur.end, cur.width);
        self.start_line(c);
    }

    fn start_line(&mut self, c: Cluster) {
        self.cur = Some(Filling {
            start: c.start,
            end: c.end,
            width: c.width,
        });
        self.brk = None;
        self.word_start = c.start;
        self.word_width = c.width;
        self.soft = c.soft.then_some((c.end, c.width));
    }

    /// Ends the logical line that started at byte `base`. Trailing whitespace
    /// is dropped; an empty logical line still takes one output line.
    fn finish(mut self, base: usize) {
        match self.cur {
            Some(cur) => (self.emit)(cur.start, cur.end, cur.width),
            None => (self.emit)(base, base, 0),
        }
    }
}

/// Wraps one logical line (no `\n`) starting at byte `base`.
fn wrap_line(line: &str, base: usize, max: usize, emit: impl FnMut(usize, usize, usize)) {
    let mut wrapper = LineWrapper::new(max, emit);
    for_each_cluster(line, base, |c| wrapper.push(c));
    wrapper.finish(base);
}

/// Wraps sanitized text to `width` columns.
///
/// Each `\n` starts a new line; an empty logical line (and empty text) gives
/// one empty line. Lines break at whitespace where possible (the whitespace at
/// a break is not part of either line, and neither is trailing whitespace),
/// on either side of a wide character (CJK has no spaces), and inside a word
/// only when the word is longer than the line. A grapheme cluster is never
/// split, and zero-width clusters stay on the line they follow.
///
/// No line is wider than `width`, with one exception callers must handle: a
/// single grapheme cluster wider than the pane (a CJK character or emoji when
/// `width` is 1, or a rare wider cluster such as a run of Hangul leading
/// jamo) goes alone on its line, and that line reports its true width. ratatui
/// clips such a cluster rather than spilling it into the next pane.
///
/// `width == 0` returns no lines. Leading indentation of a logical line is
/// kept. Line ranges are in order, do not overlap, and start and end on
/// grapheme cluster boundaries.
pub fn wrap(text: &str, width: u16) -> Vec<WrappedLine> {
    let mut lines = Vec::new();
    if width == 0 {
        return lines;
    }
    let max = usize::from(width);
    let mut base = 0;
    for line in text.split('\n') {
        wrap_line(line, base, max, |start, end, w| {
            lines.push(WrappedLine {
                start,
                end,
                width: u16::try_from(w).unwrap_or(u16::MAX),
            });
        });
        base += line.len() + 1;
    }
    lines
}

/// The number of lines [`wrap`] returns for the same arguments, without
/// building them.
///
/// The history view caches this per message and width, so it is cheap: a
/// logical line of at most `width` bytes is one line without measuring it
/// (a cluster is never wider than its UTF-8 length).
pub fn line_count(text: &str, width: u16) -> usize {
    if width == 0 {
        return 0;
    }
    let max = usize::from(width);
    let mut count = 0;
    let mut base = 0;
    for line in text.split('\n') {
        if line.len() <= max {
            count += 1;
        } else {
            wrap_line(line, base, max, |_, _, _| count += 1);
        }
        base += line.len() + 1;
    }
    count
}

#[cfg(test)]
mod tests {
    #[test]
    fn tails_keep_the_end_within_the_width() {
        use super::{tail_to_width, width};
        assert_eq!(tail_to_width("abc", 3), "abc");
        assert_eq!(tail_to_width("abcdef", 4), "…def");
        let t = tail_to_width("前前前前退避", 5);
        assert_eq!(t, "…退避");
        assert!(width(&t) <= 5);
        assert_eq!(tail_to_width("abc", 0), "");
    }

    use super::*;
    use proptest::prelude::*;
    use ratatui::buffer::{Buffer, CellWidth};
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    /// Characters that must never reach a widget.
    fn is_forbidden(c: char) -> bool {
        (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{200E}'
                    | '\u{200F}'
                    | '\u{061C}'
                    | '\u{200B}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{206A}'..='\u{206F}'
                    | '\u{FEFF}'
                    | '\u{00AD}'
                    | '\u{FFF9}'..='\u{FFFB}'
                    | '\u{2028}'
                    | '\u{2029}'
            )
    }

    fn assert_inert(s: &str) {
        if let Some(c) = s.chars().find(|&c| is_forbidden(c)) {
            panic!("forbidden {:?} (U+{:04X}) in {s:?}", c, u32::from(c));
        }
    }

    fn texts(text: &str, lines: &[WrappedLine]) -> Vec<String> {
        lines.iter().map(|l| l.as_str(text).to_owned()).collect()
    }

    fn wrapped(text: &str, width: u16) -> Vec<String> {
        texts(text, &wrap(text, width))
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(sanitize("\x1b[2Jhi"), "␛[2Jhi");
        assert_eq!(sanitize("\x1b]0;pwned\x07"), "␛]0;pwned␇");
        assert_eq!(sanitize("\u{9b}31mred"), "⟨U+009B⟩31mred");
        assert_eq!(sanitize("a\u{9d}0;t\u{9c}"), "a⟨U+009D⟩0;t⟨U+009C⟩");
    }

    #[test]
    fn c0_del_and_nul_become_control_pictures() {
        assert_eq!(sanitize("\0"), "␀");
        assert_eq!(sanitize("a\x7fb"), "a␡b");
        assert_eq!(sanitize("\x08\x0b\x0c\x1f"), "␈␋␌␟");
        assert_eq!(width("␛␀␡⟨U+009B⟩"), 11);
    }

    #[test]
    fn bidi_overrides_are_tagged_and_marks_removed() {
        assert_eq!(sanitize("abc\u{202E}fdp.exe"), "abc⟨RLO⟩fdp.exe");
        assert_eq!(
            sanitize("\u{2066}\u{2067}\u{2068}x\u{2069}\u{202A}\u{202B}\u{202C}\u{202D}"),
            "⟨LRI⟩⟨RLI⟩⟨FSI⟩x⟨PDI⟩⟨LRE⟩⟨RLE⟩⟨PDF⟩⟨LRO⟩"
        );
        assert_eq!(sanitize("a\u{200E}b\u{200F}c\u{061C}d"), "abcd");
    }

    #[test]
    fn invisible_formatters_are_removed() {
        assert_eq!(sanitize("ad\u{200B}min"), "admin");
        assert_eq!(sanitize("\u{FEFF}hello"), "hello");
        assert_eq!(sanitize("soft\u{AD}hyphen"), "softhyphen");
        assert_eq!(sanitize("w\u{2060}j\u{2063}"), "wj");
        assert_eq!(sanitize("x\u{FFF9}y\u{FFFA}z\u{FFFB}"), "xyz");
        assert_eq!(sanitize("\u{206A}q\u{206F}"), "q");
    }

    #[test]
    fn joiners_and_variation_selectors_stay() {
        let family = "👩\u{200D}👩\u{200D}👧";
        assert_eq!(sanitize(family), family);
        assert_eq!(sanitize("a\u{200C}b"), "a\u{200C}b");
        assert_eq!(sanitize("❤\u{FE0F}"), "❤\u{FE0F}");
    }

    #[test]
    fn tag_characters_only_survive_in_flags() {
        let england = "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
        assert_eq!(sanitize(england), england);
        assert_eq!(width(england), 2);
        assert_eq!(sanitize("hi\u{E0068}\u{E0069}"), "hi");
    }

    #[test]
    fn noncharacters_are_replaced() {
        assert_eq!(sanitize("a\u{FFFE}b\u{FDD0}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn line_initial_combining_mark_gets_a_base() {
        assert_eq!(sanitize("\u{301}a\n\u{301}b"), "◌\u{301}a\n◌\u{301}b");
        // Removing an invisible character must not expose a bare mark either.
        assert_eq!(sanitize("\u{200B}\u{301}"), "◌\u{301}");
        // Inside a line the mark combines with its base as usual.
        assert_eq!(sanitize("e\u{301}"), "e\u{301}");
    }

    #[test]
    fn line_breaks_are_normalised() {
        assert_eq!(sanitize("a\r\nb"), "a\nb");
        assert_eq!(sanitize("a\rb\r"), "a\nb\n");
        assert_eq!(sanitize("a\r\r\nb"), "a\n\nb");
        assert_eq!(sanitize("a\u{2028}b\u{2029}c"), "a\nb\nc");
        assert_eq!(wrapped(&sanitize("a\u{2028}b"), 10), ["a", "b"]);
    }

    #[test]
    fn tabs_expand_to_the_next_stop() {
        assert_eq!(sanitize("\tx"), "    x");
        assert_eq!(sanitize("a\tb"), "a   b");
        assert_eq!(sanitize("abcd\tx"), "abcd    x");
        assert_eq!(sanitize("ab\tc\td"), "ab  c   d");
        // Columns, not bytes: 中 is two columns.
        assert_eq!(sanitize("中\tx"), "中  x");
        // The column restarts on each line.
        assert_eq!(sanitize("abc\n\tx"), "abc\n    x");
        assert_eq!(sanitize("a\r\n\tx"), "a\n    x");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(sanitize_message("hello\nworld"), Cow::Borrowed(_)));
        assert!(matches!(sanitize_message("你好 👍🏽"), Cow::Borrowed(_)));
        assert!(matches!(sanitize_message("a\x1b"), Cow::Owned(_)));
        let exactly_cap = "a".repeat(MESSAGE_CAP);
        assert!(matches!(sanitize_message(&exactly_cap), Cow::Borrowed(_)));
    }

    #[test]
    fn rtl_text_is_kept() {
        let hebrew = "שלום עולם";
        let arabic = "مرحبا بالعالم";
        assert!(matches!(sanitize_message(hebrew), Cow::Borrowed(s) if s == hebrew));
        assert_eq!(sanitize(arabic), arabic);
        assert_eq!(width(hebrew), 9);
    }

    #[test]
    fn long_messages_are_capped_with_a_marker() {
        let big = "a".repeat(1_200_000);
        let out = sanitize_message(&big);
        assert!(out.ends_with("\n… [message truncated: 1.2 MB total]"));
        assert_eq!(out.find('\n'), Some(MESSAGE_CAP));

        // Multi-byte text is cut at a character boundary.
        let cjk = "中".repeat(30_000);
        let out = sanitize_message(&cjk);
        let body = out.split('\n').next().unwrap_or_default();
        assert!(body.chars().all(|c| c == '中'));
        assert_eq!(body.len(), MESSAGE_CAP.div_ceil(3) * 3);
        assert!(out.ends_with("… [message truncated: 90 kB total]"));

        // Expansion counts too: escapes grow, the output stays near the cap.
        let escapes = "\u{9b}".repeat(MESSAGE_CAP);
        let out = sanitize_message(&escapes);
        assert!(out.len() < MESSAGE_CAP + 100);
        assert!(out.ends_with("[message truncated: 131 kB total]"));

        // Nothing visible was lost: no marker.
        let invisible_tail = format!("{}{}", "a".repeat(MESSAGE_CAP), "\u{200B}".repeat(10));
        assert_eq!(sanitize_message(&invisible_tail), "a".repeat(MESSAGE_CAP));
    }

    #[test]
    fn widths_follow_unicode_rules() {
        assert_eq!(width("hello"), 5);
        assert_eq!(width("中文"), 4);
        assert_eq!(width("ｶﾀｶﾅ"), 4);
        assert_eq!(width("👩\u{200D}👩\u{200D}👧"), 2);
        assert_eq!(width("👍🏽"), 2);
        assert_eq!(width("🇺🇸"), 2);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("a👩\u{200D}👩\u{200D}👧b"), 4);
        assert_eq!(width(""), 0);
        assert_eq!(width("a\nb"), 2);
    }

    #[test]
    fn truncation_respects_width() {
        assert_eq!(truncate_to_width("hello world", 5), "hell…");
        assert_eq!(truncate_to_width("hello", 5), "hello");
        assert_eq!(truncate_to_width("你好世界", 5), "你好…");
        assert_eq!(truncate_to_width("你好世界", 4), "你…");
        assert_eq!(truncate_to_width("你好世界", 8), "你好世界");
        assert_eq!(
            truncate_to_width("👩\u{200D}👩\u{200D}👧👍🏽x", 4),
            "👩\u{200D}👩\u{200D}👧…"
        );
        assert_eq!(truncate_to_width("abc", 1), "…");
        assert_eq!(truncate_to_width("abc", 0), "");
    }

    #[test]
    fn one_line_names() {
        assert_eq!(one_line("Bob\r\nSmith", 20), "Bob Smith");
        assert_eq!(one_line("a\nb\u{2028}c\td", 20), "a b c d");
        assert_eq!(one_line("evil\u{202E}gnp.exe", 40), "evil⟨RLO⟩gnp.exe");
        assert_eq!(one_line("\x1b]0;x\x07name", 40), "␛]0;x␇name");
        assert_eq!(one_line("a very long conversation name", 10), "a very lo…");
        assert_eq!(one_line("客服中心值班组", 9), "客服中心…");
        let huge = "x".repeat(MESSAGE_CAP * 2);
        assert_eq!(width(&one_line(&huge, 30)), 30);
    }

    #[test]
    fn wrap_prefers_whitespace() {
        assert_eq!(wrapped("hello world", 5), ["hello", "world"]);
        assert_eq!(wrapped("hello world", 11), ["hello world"]);
        assert_eq!(wrapped("hello world", 8), ["hello", "world"]);
        assert_eq!(wrapped("a b c d", 3), ["a b", "c d"]);
        // Break whitespace and trailing whitespace are dropped; runs too.
        assert_eq!(wrapped("aaa    bbb   ", 5), ["aaa", "bbb"]);
        // Indentation is content.
        assert_eq!(wrapped("    code", 10), ["    code"]);
    }

    #[test]
    fn wrap_breaks_long_words() {
        assert_eq!(wrapped("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrapped("ab abcdefgh", 4), ["ab", "abcd", "efgh"]);
        assert_eq!(wrapped("xy abcdefgh z", 5), ["xy", "abcde", "fgh z"]);
    }

    #[test]
    fn long_urls_break_after_their_separators() {
        let url =
            "https://files.example.com/chatfiles/5f3a-77b2?em-redirect=true&share-secret=Zk9q";
        assert_eq!(
            wrapped(url, 30),
            [
                "https://files.example.com/",
                "chatfiles/5f3a-77b2?em-",
                "redirect=true&share-secret=",
                "Zk9q"
            ]
        );
        // Text before a URL stays on its line; the URL moves down whole when it fits.
        assert_eq!(
            wrapped("see https://a.example/x/y", 20),
            ["see", "https://a.example/x/", "y"]
        );
        // A word without separators still breaks where the line ends.
        assert_eq!(wrapped("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        for width in 1..40 {
            assert_eq!(line_count(url, width), wrap(url, width).len(), "{width}");
        }
    }

    #[test]
    fn cjk_lines_do_not_start_with_closing_punctuation() {
        // Width 6 holds three CJK characters: a plain break would start the second line
        // with `。`; the character before it goes down with it.
        assert_eq!(wrapped("你好世。再见", 6), ["你好", "世。再", "见"]);
        assert_eq!(
            wrapped("東京（とうきょう）です", 8),
            ["東京（と", "うきょ", "う）です"]
        );
        assert_eq!(wrapped("ちょっと待って", 4), ["ちょ", "っと", "待っ", "て"]);
        assert_eq!(wrapped("「はい」、そう", 8), ["「は", "い」、そ", "う"]);
        // Where nothing else is possible the line still breaks: a single closing mark
        // wider than the pane.
        assert_eq!(wrapped("。。。", 2), ["。", "。", "。"]);
    }

    #[test]
    fn wrap_handles_cjk_and_emoji() {
        assert_eq!(wrapped("你好世界", 5), ["你好", "世界"]);
        assert_eq!(wrapped("ab你好", 3), ["ab", "你", "好"]);
        assert_eq!(wrapped("hi 你好世界", 6), ["hi 你", "好世界"]);
        let family = "👩\u{200D}👩\u{200D}👧";
        let text = format!("{family}{family}{family}");
        assert_eq!(
            wrapped(&text, 5),
            [format!("{family}{family}"), family.to_owned()]
        );
    }

    #[test]
    fn wrap_never_splits_graphemes() {
        assert_eq!(
            wrapped("e\u{301}e\u{301}e\u{301}", 2),
            ["e\u{301}e\u{301}", "e\u{301}"]
        );
        assert_eq!(wrapped("🇺🇸🇫🇷", 3), ["🇺🇸", "🇫🇷"]);
    }

    #[test]
    fn wide_grapheme_in_narrow_pane_goes_alone() {
        let lines = wrap("中a文", 1);
        assert_eq!(texts("中a文", &lines), ["中", "a", "文"]);
        assert_eq!(lines.iter().map(|l| l.width).collect::<Vec<_>>(), [2, 1, 2]);
    }

    #[test]
    fn wrap_ranges_and_empty_lines() {
        let text = "ab cd\n\nef";
        let at = |start, end, width| WrappedLine { start, end, width };
        let lines = wrap(text, 2);
        assert_eq!(lines, [at(0, 2, 2), at(3, 5, 2), at(6, 6, 0), at(7, 9, 2)]);
        assert_eq!(lines[3].range(), 7..9);
        assert_eq!(lines[3].as_str(text), "ef");
        assert_eq!(lines[3].as_str("short"), "");
        assert_eq!(wrap("", 10), [at(0, 0, 0)]);
        assert_eq!(wrapped("a\n", 10), ["a", ""]);
    }

    #[test]
    fn width_zero_is_empty() {
        assert!(wrap("hello", 0).is_empty());
        assert_eq!(line_count("hello", 0), 0);
        assert!(wrap("", 0).is_empty());
    }

    #[test]
    fn line_count_matches_examples() {
        assert_eq!(line_count("hello world", 5), 2);
        assert_eq!(line_count("a\nb\nc", 80), 3);
        assert_eq!(line_count("你好世界", 5), 2);
        assert_eq!(line_count("", 5), 1);
    }

    /// Pieces that exercise every branch: hostile controls, clusters of every
    /// width, whitespace of every kind, and plain words.
    const PIECES: &[&str] = &[
        "a",
        "word",
        "longerword",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\u{2028}",
        "\u{A0}",
        "\u{3000}",
        "\x1b[2J",
        "\x1b]0;pwned\x07",
        "\u{9b}",
        "\u{202E}",
        "\u{2066}",
        "\u{200B}",
        "\u{FEFF}",
        "\u{AD}",
        "\x7f",
        "\0",
        "\u{200E}",
        "\u{301}",
        "e\u{301}",
        "中",
        "你好",
        "👩\u{200D}👩\u{200D}👧",
        "👍🏽",
        "🇺🇸",
        "🇺",
        "ᄀᄀᄀ",
        "\u{1161}",
        "ﾊﾞ",
        "ﾞ",
        "\u{E0067}",
        "🏴\u{E0067}\u{E007F}",
        "\u{200D}",
        "\u{FE0F}",
        "x\u{1F3FD}",
        "क्षि",
        "שלום",
        "\u{600}",
        "\u{FFF9}",
        "\u{FFFE}",
    ];

    fn hostile_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    /// Byte offsets of grapheme boundaries, per logical line, in `text`.
    fn boundaries(text: &str) -> std::collections::BTreeSet<usize> {
        let mut set = std::collections::BTreeSet::new();
        let mut base = 0;
        for line in text.split('\n') {
            set.extend(line.grapheme_indices(true).map(|(i, _)| base + i));
            set.insert(base + line.len());
            base += line.len() + 1;
        }
        set
    }

    fn check_wrap(text: &str, width: u16) -> Result<(), TestCaseError> {
        let lines = wrap(text, width);
        prop_assert_eq!(line_count(text, width), lines.len());
        if width == 0 {
            prop_assert!(lines.is_empty());
            return Ok(());
        }
        prop_assert!(lines.len() > text.matches('\n').count());
        let cuts = boundaries(text);
        let mut pos = 0;
        for line in &lines {
            prop_assert!(line.start >= pos && line.end >= line.start);
            prop_assert!(cuts.contains(&line.start) && cuts.contains(&line.end));
            // What lies between lines is only break whitespace and newlines.
            let gap = &text[pos..line.start];
            prop_assert!(gap.chars().all(char::is_whitespace), "gap {:?}", gap);
            let shown = line.as_str(text);
            prop_assert!(!shown.contains('\n'));
            prop_assert_eq!(usize::from(line.width), width_of(shown));
            if line.width > width {
                // The one allowed overflow: a single cluster wider than the pane.
                let visible = shown
                    .graphemes(true)
                    .filter(|g| grapheme_width(g) > 0)
                    .count();
                prop_assert_eq!(visible, 1, "{:?}", shown);
            }
            pos = line.end;
        }
        prop_assert!(text[pos..].chars().all(char::is_whitespace));
        Ok(())
    }

    /// Width by grapheme, independent of `width`'s ASCII shortcut.
    fn width_of(s: &str) -> usize {
        s.graphemes(true).map(grapheme_width).sum()
    }

    proptest! {
        #[test]
        fn sanitized_output_is_inert(s in hostile_text()) {
            let out = sanitize(&s);
            assert_inert(&out);
            let one = one_line(&s, 80);
            assert_inert(&one);
            prop_assert!(!one.contains('\n'));
            prop_assert!(width(&one) <= 80);
            // Sanitizing is idempotent: clean text passes through unchanged.
            prop_assert_eq!(sanitize(&out), out.clone());
            prop_assert!(matches!(sanitize_message(&out), Cow::Borrowed(_)));
        }

        #[test]
        fn arbitrary_strings_are_inert(s in any::<String>()) {
            assert_inert(&sanitize(&s));
            assert_inert(&sanitize_message(&s));
        }

        #[test]
        fn wrap_is_consistent_on_hostile_text(s in hostile_text(), width in 0u16..200) {
            check_wrap(&sanitize(&s), width)?;
            check_wrap(&s, width)?;
        }

        #[test]
        fn wrap_is_consistent_on_arbitrary_strings(s in any::<String>(), width in 0u16..200) {
            check_wrap(&s, width)?;
        }

        #[test]
        fn wrap_is_consistent_on_words(s in "[a-z ]{0,300}", width in 1u16..40) {
            check_wrap(&s, width)?;
            // Nothing but spaces is ever dropped.
            let kept: String = wrap(&s, width).iter().map(|l| l.as_str(&s)).collect();
            let a: String = s.chars().filter(|c| *c != ' ').collect();
            let b: String = kept.chars().filter(|c| *c != ' ').collect();
            prop_assert_eq!(a, b);
        }

        #[test]
        fn truncation_fits(s in hostile_text(), max in 0usize..50) {
            let clean = sanitize(&s).replace('\n', " ");
            let cut = truncate_to_width(&clean, max);
            prop_assert!(width(&cut) <= max);
            if width(&clean) <= max {
                prop_assert_eq!(cut, clean);
            } else if max > 0 {
                prop_assert!(cut.ends_with('…'));
                prop_assert!(clean.starts_with(cut.trim_end_matches('…')));
            }
        }

        #[test]
        fn width_never_exceeds_bytes(s in hostile_text()) {
            // `line_count`'s shortcut relies on this.
            for g in s.graphemes(true) {
                prop_assert!(grapheme_width(g) <= g.len(), "{:?}", g);
            }
            prop_assert_eq!(width(&s), width_of(&s));
        }

        #[test]
        fn widths_match_ratatui(s in hostile_text(), w in 1u16..120) {
            let clean = sanitize(&s);
            for g in clean.graphemes(true).filter(|g| *g != "\n") {
                prop_assert_eq!(grapheme_width(g), usize::from(g.cell_width()), "{:?}", g);
            }
            // Every wrapped line fits exactly where ratatui draws it.
            for line in wrap(&clean, w).iter().filter(|l| l.width <= w) {
                let mut buf = Buffer::empty(Rect::new(0, 0, w, 1));
                let (x, _) = buf.set_stringn(0, 0, line.as_str(&clean), usize::from(w), Style::default());
                prop_assert_eq!(x, line.width, "{:?}", line.as_str(&clean));
            }
        }
    }

    #[test]
    fn emoji_sequences_split_into_parts_for_terminals_that_draw_them_apart() {
        let split = |s: &str| sanitize_for(s, Mode::Message, MESSAGE_CAP, false).into_owned();
        assert_eq!(split("👩\u{200D}👩\u{200D}👧"), "👩👩👧");
        assert_eq!(split("👍🏽 ok"), "👍 ok");
        assert_eq!(split("👨🏽\u{200D}💻"), "👨💻");
        assert_eq!(split("❤\u{FE0F}\u{200D}🔥"), "❤🔥");
        assert_eq!(split("🙇\u{200D}♀\u{FE0F}"), "🙇♀");
        // A joiner between letters (Indic conjuncts, Persian) is not an emoji's: it stays.
        assert_eq!(split("क्\u{200D}ष"), "क्\u{200D}ष");
        // Measured as the parts the terminal draws, one cluster each.
        assert_eq!(width(&split("👩\u{200D}👩\u{200D}👧")), 6);
        // Terminals that draw sequences whole keep them whole.
        let whole = sanitize_for("👍🏽", Mode::Message, MESSAGE_CAP, true);
        assert_eq!(whole, "👍🏽");
        assert_eq!(width(&whole), 2);
    }
}
