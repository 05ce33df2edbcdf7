//! One self-contained HTML page: a table of contents, each conversation with day
//! headings, and a find box that hides the messages not containing what is typed.
//!
//! Safe to open whatever the messages say: every piece of text from the store is escaped
//! (`&`, `<`, `>`, `"`, `'`), control characters are left out, and each body is its own
//! `dir="auto"` block so right-to-left text cannot reorder its neighbours. The page loads
//! nothing from anywhere (no images, fonts or links to fetch), and its only script is the
//! fixed one below, allowed by its hash in the page's Content-Security-Policy: even markup
//! that got through could not run a script.

use std::io::Write;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{ExportError, Labels, Plan, Summary, day_and_clock, kind_word, readable, zone_of};
use crate::store::Store;

/// The find box: hides messages (and then conversations and days) without the text typed.
const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById("find");
  var count = document.getElementById("count");
  var messages = document.querySelectorAll(".m");
  var timer = null;
  function apply() {
    var q = box.value.toLowerCase();
    var shown = 0;
    for (var i = 0; i < messages.length; i++) {
      var hit = q === "" || messages[i].textContent.toLowerCase().indexOf(q) !== -1;
      messages[i].hidden = !hit;
      if (hit) { shown++; }
    }
    document.querySelectorAll(".day, section").forEach(function (block) {
      block.hidden = q !== "" && block.querySelector(".m:not([hidden])") === null;
    });
    count.textContent = q === "" ? "" : shown + " found";
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 150);
  });
})();
"#;

const STYLE: &str = r#"
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60em; padding: 0 1em 4em; color: #222; background: #fff; }
header { position: sticky; top: 0; background: #fff; padding: .6em 0; border-bottom: 1px solid #ddd; }
#find { font: inherit; padding: .3em .5em; width: 20em; max-width: 60%; }
#count { color: #666; margin-left: .6em; }
nav ul { padding-left: 1.2em; }
h2 { margin-top: 2em; border-bottom: 2px solid #ccc; }
h3 { font-size: 1em; color: #555; margin: 1.4em 0 .4em; }
.m { margin: .25em 0; display: grid; grid-template-columns: 3.5em 14em 1fr; gap: .6em; }
.t { color: #888; font-variant-numeric: tabular-nums; }
.f { font-weight: 600; overflow-wrap: anywhere; }
.b { white-space: pre-wrap; overflow-wrap: anywhere; }
.k { color: #666; font-style: italic; }
@media (max-width: 40em) { .m { grid-template-columns: 3.5em 1fr; } .b { grid-column: 1 / -1; } }
"#;

/// Writes the plan as one HTML page.
pub fn write(store: &Store, plan: &Plan, out: &mut impl Write) -> Result<Summary, ExportError> {
    let labels = Labels::new(store, plan)?;
    let zone = zone_of(plan);
    let script_hash =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    write!(
        out,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"roam {}\">\n<title>roam export</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<header><input id=\"find\" type=\"search\" \
         placeholder=\"Find in this export…\" aria-label=\"Find\"><span id=\"count\"></span>\
         </header>\n<h1>roam export</h1>\n<nav><h2>Conversations</h2>\n<ul>\n",
        env!("CARGO_PKG_VERSION")
    )?;
    let mut counts = Vec::with_capacity(plan.parts.len());
    for (i, part) in plan.parts.iter().enumerate() {
        let n = store.count_messages(&part.conversation.name, part.range)?;
        counts.push(n);
        if n > 0 {
            writeln!(
                out,
                "<li><a href=\"#c{i}\">{}</a> <span class=\"k\">{} · {n} messages</span></li>",
                escape(&labels.title(&part.conversation)),
                kind_word(part.conversation.kind)
            )?;
        }
    }
    writeln!(out, "</ul>\n</nav>\n<main>")?;
    let mut summary = Summary::default();
    for (i, part) in plan.parts.iter().enumerate() {
        if counts[i] == 0 {
            continue;
        }
        writeln!(
            out,
            "<section id=\"c{i}\">\n<h2>{} <span class=\"k\">{}</span></h2>",
            escape(&labels.title(&part.conversation)),
            kind_word(part.conversation.kind)
        )?;
        let mut day = String::new();
        store.for_each_message(&part.conversation.name, part.range, |m| {
            let (this_day, clock) = day_and_clock(m.time, &zone);
            if this_day != day {
                if !day.is_empty() {
                    writeln!(out, "</div>")?;
                }
                writeln!(out, "<div class=\"day\"><h3>{}</h3>", escape(&this_day))?;
                day = this_day;
            }
            writeln!(
                out,
                "<div class=\"m\" id=\"m{}\"><span class=\"t\">{}</span><span class=\"f\">{}</span>\
                 <div class=\"b\" dir=\"auto\">{}</div></div>",
                m.id,
                escape(&clock),
                escape(&labels.user(m.from)),
                escape(&readable(m))
            )?;
            summary.count(&part.conversation.name, m);
            Ok::<(), ExportError>(())
        })?;
        if !day.is_empty() {
            writeln!(out, "</div>")?;
        }
        writeln!(out, "</section>")?;
    }
    write!(
        out,
        "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )?;
    out.flush()?;
    Ok(summary)
}

/// Text for HTML: the five characters with a meaning escaped, controls (but line breaks
/// and tabs) left out.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\"\u{0}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
