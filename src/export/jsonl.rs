//! The service's export format (PROTOCOL.md §3.3): one JSON object per line,
//! `{"msg_id", "timestamp", "direction", "from", "to", "chat_type", "payload"}`, the payload
//! being the message's JSON form exactly as the store holds it. `roam import` reads it back
//! to the same messages. `direction` is `outgoing`, as the sender's side of the export.

use std::io::Write;

use super::{ExportError, Plan, Summary};
use crate::store::Store;

/// Writes the plan as JSON lines.
pub fn write(store: &Store, plan: &Plan, out: &mut impl Write) -> Result<Summary, ExportError> {
    let mut summary = Summary::default();
    let mut line = String::new();
    for part in &plan.parts {
        store.for_each_message(&part.conversation.name, part.range, |m| {
            line.clear();
            line.push_str("{\"msg_id\":\"");
            line.push_str(&m.id.to_string());
            line.push_str("\",\"timestamp\":");
            line.push_str(&m.time.to_string());
            line.push_str(",\"direction\":\"outgoing\",\"from\":");
            push_json_string(&mut line, m.from);
            line.push_str(",\"to\":");
            push_json_string(&mut line, m.to);
            line.push_str(",\"chat_type\":\"");
            line.push_str(m.kind.wire_name());
            line.push_str("\",\"payload\":");
            line.push_str(m.json);
            line.push_str("}\n");
            out.write_all(line.as_bytes())?;
            summary.count(&part.conversation.name, m);
            Ok::<(), ExportError>(())
        })?;
    }
    out.flush()?;
    Ok(summary)
}

/// A JSON string literal.
fn push_json_string(line: &mut String, s: &str) {
    // Ids are [a-z0-9_.-]: nothing to escape, but a store written by hand may differ.
    match serde_json::to_string(s) {
        Ok(json) => line.push_str(&json),
        Err(_) => line.push_str("\"\""),
    }
}
