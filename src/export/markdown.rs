//! Markdown for reading: a heading per conversation, one per day, and each message as
//! `**16:41 李伟 (li.wei):** text`. Everything that came from the store is escaped, so a
//! message's `*`, `#`, `<script>` or link syntax reads as the characters it is and a
//! renderer never turns it into markup or HTML.

use std::io::Write;

use super::{ExportError, Labels, Plan, Summary, day_and_clock, kind_word, readable, zone_of};
use crate::store::Store;

/// Writes the plan as Markdown.
pub fn write(store: &Store, plan: &Plan, out: &mut impl Write) -> Result<Summary, ExportError> {
    let labels = Labels::new(store, plan)?;
    let zone = zone_of(plan);
    let mut summary = Summary::default();
    for part in &plan.parts {
        let mut day = String::new();
        let mut heading = false;
        store.for_each_message(&part.conversation.name, part.range, |m| {
            if !heading {
                writeln!(
                    out,
                    "# {}\n\n_{}_\n",
                    escape(&labels.title(&part.conversation)),
                    kind_word(part.conversation.kind)
                )?;
                heading = true;
            }
            let (this_day, clock) = day_and_clock(m.time, &zone);
            if this_day != day {
                writeln!(out, "## {this_day}\n")?;
                day = this_day;
            }
            let body = readable(m);
            let mut lines = body.lines();
            write!(
                out,
                "**{clock} {}:** {}",
                escape(&labels.user(m.from)),
                escape(lines.next().unwrap_or(""))
            )?;
            // Further lines stay in the message's paragraph: a hard break each.
            for line in lines {
                write!(out, "\\\n{}", escape(line))?;
            }
            writeln!(out, "\n")?;
            summary.count(&part.conversation.name, m);
            Ok::<(), ExportError>(())
        })?;
    }
    out.flush()?;
    Ok(summary)
}

/// Text with what Markdown (CommonMark, and GitHub's tables and strikethrough) would read
/// as markup backslash-escaped, so it reads as written: `<` cannot open HTML, `[` a link,
/// `*` and `_` emphasis; and at the start of a line `#`, `>`, `-`, `+`, `=` cannot make a
/// heading, quote or list. Other punctuation is left alone, for reading.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    for c in text.chars() {
        let special = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~'
        ) || (line_start && matches!(c, '#' | '-' | '+' | '='));
        if special {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_messages_is_escaped() {
        assert_eq!(escape("<b>*x*</b>"), "\\<b\\>\\*x\\*\\</b\\>");
        assert_eq!(escape("# [a](javascript:x)"), "\\# \\[a\\](javascript:x)");
        assert_eq!(escape("---"), "\\---");
        assert_eq!(escape("v0.4 (li.wei) 退避 ok"), "v0.4 (li.wei) 退避 ok");
    }
}
