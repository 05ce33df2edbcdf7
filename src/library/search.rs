//! Search across every conversation a person can read, for the browser's search-all view:
//! the store search ([`crate::store::search`]) over their library, or over a whole store
//! (the demo's, a file opened with `roam open`) narrowed to their conversations.
//!
//! A hit names its conversation as the person's conversation list does: the peer of a
//! single chat (the other party of `alice|bob`), the id of a group or room.

use std::path::Path;

use crate::protocol::ChatType;
use crate::store::{SearchCursor, SearchHit, SearchQuery, Store};

use super::LibraryError;

/// The most hits one page holds.
pub const PAGE_HITS: usize = 50;

/// One message found, seen from the person's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The conversation's id in the person's list: the peer of a single chat, else the
    /// group or room.
    pub conversation: String,
    /// Single, group or room.
    pub kind: ChatType,
    /// The message id.
    pub id: u64,
    /// The sender.
    pub from: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// The searched text around the match, as stored (not yet safe for a terminal).
    pub snippet: String,
    /// Where the match is in `snippet`, in bytes.
    pub matched: std::ops::Range<usize>,
}

/// A page of hits, newest first, and where the next page starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FoundPage {
    /// The hits.
    pub hits: Vec<Found>,
    /// The cursor of the next page; `None` when nothing is left.
    pub next: Option<i64>,
}

/// A store searched on one person's behalf.
pub struct SearchAll {
    store: Store,
    user: String,
    /// Narrow every search to the person's conversations (a store that holds others').
    narrow: bool,
}

impl std::fmt::Debug for SearchAll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchAll")
            .field("user", &self.user)
            .field("narrow", &self.narrow)
            .finish()
    }
}

impl SearchAll {
    /// Searches the store at `path` (which must exist) for `user`. `narrow`: the store
    /// holds other people's conversations too (the demo's, a service export), so only
    /// `user`'s are searched; a library holds only its owner's and needs no narrowing.
    pub fn open(path: &Path, user: &str, narrow: bool) -> Result<SearchAll, LibraryError> {
        if !path.exists() {
            return Err(LibraryError::Store(crate::store::StoreError::State(
                format!("{} does not exist", path.display()),
            )));
        }
        Ok(SearchAll {
            store: Store::open(path)?,
            user: user.to_lowercase(),
            narrow,
        })
    }

    /// One page of hits for `text` (a substring, or with `regex` a regular expression),
    /// newest first, from `cursor` (the top without one).
    pub fn page(
        &self,
        text: &str,
        regex: bool,
        cursor: Option<i64>,
    ) -> Result<FoundPage, LibraryError> {
        let conversations = if self.narrow {
            let mine = self.mine()?;
            if mine.is_empty() {
                return Ok(FoundPage::default());
            }
            mine
        } else {
            Vec::new()
        };
        let query = SearchQuery {
            text: text.to_string(),
            regex,
            conversations,
            ..SearchQuery::default()
        };
        let page = self
            .store
            .search(&query, cursor.map(SearchCursor), PAGE_HITS)?;
        Ok(FoundPage {
            hits: page.hits.into_iter().map(|h| self.found(h)).collect(),
            next: page.next.map(|c| c.0),
        })
    }

    /// The person's conversations, as the store search names them.
    fn mine(&self) -> Result<Vec<String>, LibraryError> {
        Ok(self
            .store
            .conversations(&self.user)?
            .into_iter()
            .map(|c| match c.kind {
                ChatType::Single => format!("{}|{}", self.user, c.id),
                _ => c.id,
            })
            .collect())
    }

    fn found(&self, hit: SearchHit) -> Found {
        let conversation = match hit.kind {
            ChatType::Single => {
                let (a, b) = hit
                    .conversation
                    .split_once('|')
                    .unwrap_or((&hit.from, &hit.to));
                if a == self.user { b } else { a }.to_string()
            }
            _ => hit.to.clone(),
        };
        Found {
            conversation,
            kind: hit.kind,
            id: hit.id,
            from: hit.from,
            time: hit.time,
            snippet: hit.snippet,
            matched: hit.matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Content, Message};

    fn message(id: u64, from: &str, to: &str, kind: ChatType, text: &str) -> Message {
        Message {
            id,
            from: from.into(),
            to: to.into(),
            chat_type: kind,
            time: 1_700_000_000_000 + id as i64,
            content: Content::Text { text: text.into() },
            ext: Default::default(),
            meta: None,
        }
    }

    #[test]
    fn hits_name_the_peer_and_a_narrowed_store_searches_only_the_persons_conversations() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.sqlite");
        let mut store = Store::open(&path).expect("store");
        store
            .insert_messages(&[
                message(1, "bob", "alice", ChatType::Single, "退避 to bob"),
                message(2, "alice", "carol", ChatType::Single, "退避 to carol"),
                message(3, "bob", "dave", ChatType::Single, "退避 not alice's"),
                message(4, "erin", "team", ChatType::Group, "退避 in the team"),
            ])
            .expect("insert");
        drop(store);
        let all = SearchAll::open(&path, "Alice", false).expect("open");
        assert_eq!(all.page("退避", false, None).expect("page").hits.len(), 4);
        let mine = SearchAll::open(&path, "alice", true).expect("open");
        let page = mine.page("退避", false, None).expect("page");
        let seen: Vec<(String, u64)> = page
            .hits
            .iter()
            .map(|h| (h.conversation.clone(), h.id))
            .collect();
        // Alice is in the single chats with bob and carol; the group is hers only when she
        // is a member or wrote to it, which she did not.
        assert_eq!(seen, vec![("carol".into(), 2), ("bob".into(), 1)]);
        assert!(SearchAll::open(&dir.path().join("none.sqlite"), "alice", false).is_err());
    }
}
