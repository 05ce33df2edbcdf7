//! Links a person may open from a message (issue 9, point 4), with no I/O: the `http` and
//! `https` URLs in a message's text and its attachment's URL, each checked, with the host
//! a confirmation line names before anything is opened.
//!
//! A message is untrusted, so a link is refused unless:
//! - its scheme is `http` or `https` (never `file:`, `javascript:`, `data:`, ...);
//! - it holds no control, whitespace, bidi or zero-width character anywhere (a newline or
//!   an escape sequence in a URL is an attack on whatever reads it next);
//! - the `url` crate parses it and it has a host. The host is shown as the `url` crate
//!   writes it: an internationalized name in its ASCII (punycode) form, so a look-alike
//!   cannot pass for another, and a `user@` part never takes the host's place.
//!
//! In text, a link starts at `http://` or `https://` (any case) and runs to the next
//! whitespace, control or `<>"` character; sentence punctuation at its end (`.,;:!?'`,
//! CJK full stops and commas, and a closing bracket without its opening one) is not part
//! of it.

use url::Url;

use crate::protocol::Message;

/// A link checked for opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The URL as parsed (normalized by the `url` crate).
    pub url: String,
    /// Its host, for the confirmation line.
    pub host: String,
}

/// Why a URL may not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// Not `http` or `https`.
    #[error("only http and https links are opened, not {0}:")]
    Scheme(String),
    /// A control, whitespace, bidi or zero-width character inside.
    #[error("the link contains control or invisible characters")]
    Controls,
    /// Not a URL.
    #[error("not a URL")]
    Unparsable,
    /// No host to name.
    #[error("the link names no host")]
    NoHost,
}

/// Characters no link may contain.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'..='\u{200F}'
                | '\u{061C}'
                | '\u{FEFF}'
        )
}

/// Checks one URL for opening.
pub fn check_link(text: &str) -> Result<Link, LinkRefusal> {
    if text.chars().any(is_forbidden) {
        return Err(LinkRefusal::Controls);
    }
    let url = Url::parse(text).map_err(|_| {
        // A scheme that is there but unparsable after it still says what it was.
        match text.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    && !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") =>
            {
                LinkRefusal::Scheme(scheme.to_ascii_lowercase())
            }
            _ => LinkRefusal::Unparsable,
        }
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LinkRefusal::Scheme(url.scheme().to_string()));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(LinkRefusal::NoHost)?
        .to_string();
    Ok(Link {
        url: url.to_string(),
        host,
    })
}

/// Where a link in text ends: the first character that cannot be in one.
fn ends_link(c: char) -> bool {
    is_forbidden(c) || matches!(c, '<' | '>' | '"')
}

/// Punctuation that ends a sentence rather than a link.
fn is_trailing_punctuation(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '。' | '、' | '，' | '！' | '？' | '；' | '：'
    )
}

/// The candidate link starting at the front of `rest`, trimmed of trailing punctuation.
fn candidate(rest: &str) -> &str {
    let end = rest.find(ends_link).unwrap_or(rest.len());
    let mut link = &rest[..end];
    loop {
        let Some(last) = link.chars().next_back() else {
            return link;
        };
        let unbalanced = |open: char, close: char| {
            last == close && link.matches(close).count() > link.matches(open).count()
        };
        if is_trailing_punctuation(last)
            || unbalanced('(', ')')
            || unbalanced('[', ']')
            || unbalanced('{', '}')
            || matches!(last, '）' | '】' | '」' | '』')
        {
            link = &link[..link.len() - last.len_utf8()];
        } else {
            return link;
        }
    }
}

/// The links in a text that may be opened, in order, each once.
pub fn links_in_text(text: &str) -> Vec<Link> {
    let lower = text.to_ascii_lowercase();
    let mut out: Vec<Link> = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("http") {
        let start = from + found;
        let rest = &lower[start..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            from = start + 4;
            continue;
        }
        let link = candidate(&text[start..]);
        from = start + link.len().max(4);
        if let Ok(checked) = check_link(link)
            && !out.contains(&checked)
        {
            out.push(checked);
        }
    }
    out
}

/// The links of a message that may be opened: those in its text, then its attachment's
/// download URL. What is refused is left out; [`check_link`] says why for one URL.
pub fn message_links(message: &Message) -> Vec<Link> {
    use crate::protocol::Content;
    let mut links = match &message.content {
        Content::Text { text } => links_in_text(text),
        Content::Combined { text, summary, .. } => {
            let mut links = links_in_text(summary);
            links.extend(links_in_text(text));
            links
        }
        _ => Vec::new(),
    };
    if let Some(file) = message.content.attachment()
        && let Ok(link) = check_link(&file.download_url())
        && !links.contains(&link)
    {
        links.push(link);
    }
    links
}

/// The line that asks before a link is opened: `open a link to HOST? (y/n)`. The host is
/// ASCII by construction ([`check_link`]).
pub fn confirmation_line(link: &Link) -> String {
    format!("open a link to {}? (y/n)", link.host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_punctuation_is_not_part_of_a_link() {
        let found = links_in_text(
            "see https://example.com/a_(b). and (http://x.org/y), 见https://cn.example/路径。",
        );
        let urls: Vec<&str> = found.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://example.com/a_(b)",
                "http://x.org/y",
                "https://cn.example/%E8%B7%AF%E5%BE%84"
            ]
        );
    }
}
