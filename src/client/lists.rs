//! The conversation lists (PROTOCOL.md §2, §3): the cursor list (all, or pinned only)
//! page by page or whole, and the two legacy lists. Every walk over the list's cursors
//! ends ([`PageWalk`]).

use super::Client;
use super::error::{ClientError, one_line};
use super::transport::Call;
use crate::protocol::json::{CursorList, Envelope, LegacyList};
use crate::protocol::{Conversation, ConversationPage, PageLimits, PageWalk};

/// The largest `limit` of the cursor conversation list (§2).
pub const MAX_CURSOR_LIST_LIMIT: u32 = 50;
/// The largest `pageSize` of the paged legacy conversation list (§2).
pub const MAX_LEGACY_PAGE_SIZE: u32 = 20;

impl Client {
    /// One page of the cursor conversation list (§2): `cursor` is `""` for the first page or a
    /// previous page's `next_cursor`; `limit` is 1..=50.
    pub async fn conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, ClientError> {
        self.cursor_list_page(cursor, limit, false).await
    }

    /// Like [`Client::conversation_page`], pinned conversations only (`is_top=true`).
    pub async fn pinned_conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, ClientError> {
        self.cursor_list_page(cursor, limit, true).await
    }

    /// The whole cursor conversation list, page after page until the cursor comes back empty.
    /// Pages are as large as the service allows: the list is rate-limited per user (§6).
    pub async fn conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        self.all_cursor_pages(false).await
    }

    /// The whole list of pinned conversations.
    pub async fn pinned_conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        self.all_cursor_pages(true).await
    }

    /// Follows the list's cursors within [`PageLimits::LIST`]: a server whose cursor repeats,
    /// whose pages stay empty or that never ends is an error, not an endless loop.
    async fn all_cursor_pages(&self, pinned: bool) -> Result<Vec<Conversation>, ClientError> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        let mut walk = PageWalk::new(PageLimits::LIST);
        loop {
            let page = self
                .cursor_list_page(&cursor, MAX_CURSOR_LIST_LIMIT, pinned)
                .await?;
            walk.step(page.conversations.len(), page.next_cursor.as_deref())
                .map_err(|stop| ClientError::Malformed {
                    endpoint: format!("GET {}", self.cursor_list_path()),
                    reason: format!("conversation list: {stop}"),
                })?;
            all.extend(page.conversations);
            match page.next_cursor {
                Some(next) => cursor = next,
                None => return Ok(all),
            }
        }
    }

    fn cursor_list_path(&self) -> String {
        format!("sdk/user/{}/user_channels/list", self.user)
    }

    async fn cursor_list_page(
        &self,
        cursor: &str,
        limit: u32,
        pinned: bool,
    ) -> Result<ConversationPage, ClientError> {
        if !(1..=MAX_CURSOR_LIST_LIMIT).contains(&limit) {
            return Err(ClientError::InvalidArgument(format!(
                "conversation list limit must be 1 to {MAX_CURSOR_LIST_LIMIT}, got {limit}"
            )));
        }
        let mut query = vec![
            ("limit", limit.to_string()),
            ("cursor", cursor.to_string()),
            ("need_mark", "true".to_string()),
            ("needEmptySession", "false".to_string()),
        ];
        if pinned {
            query.push(("is_top", "true".to_string()));
        }
        let call = Call {
            query,
            ..Call::get(self.cursor_list_path())
        };
        let list: Envelope<CursorList> = self.get_json(&call).await?;
        Ok(cursor_list_to_page(list.data))
    }

    /// One page of the conversations carrying mark `mark_{mark}` (`mark` 0..=19), newest
    /// activity first (`sdk/user/{user}/user_channels/mark/search`, §2); `cursor` and
    /// `limit` as for [`Client::conversation_page`].
    pub async fn marked_conversation_page(
        &self,
        mark: u8,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, ClientError> {
        if mark > 19 || !(1..=MAX_CURSOR_LIST_LIMIT).contains(&limit) {
            return Err(ClientError::InvalidArgument(format!(
                "mark must be 0 to 19 and limit 1 to {MAX_CURSOR_LIST_LIMIT}, got {mark} and {limit}"
            )));
        }
        let call = Call {
            query: vec![
                ("limit", limit.to_string()),
                ("cursor", cursor.to_string()),
                ("need_mark", "true".to_string()),
                ("mark", format!("mark_{mark}")),
            ],
            ..Call::get(format!("sdk/user/{}/user_channels/mark/search", self.user))
        };
        let list: Envelope<CursorList> = self.get_json(&call).await?;
        Ok(cursor_list_to_page(list.data))
    }

    /// The legacy conversation list (`users/{user}/user_channels`): by default the service
    /// gives only the 10 most recent of the last 7 days. Entries with an unreadable
    /// `channel_id` are skipped and logged.
    pub async fn legacy_conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        let call = Call::get(format!("users/{}/user_channels", self.user));
        let list: Envelope<LegacyList> = self.get_json(&call).await?;
        Ok(legacy_to_conversations(&list.data))
    }

    /// One page of the paged legacy list (`users/{user}/user_channels/page`): `page_num` from
    /// 1, `page_size` 1..=20.
    pub async fn legacy_conversation_page(
        &self,
        page_num: u32,
        page_size: u32,
    ) -> Result<Vec<Conversation>, ClientError> {
        if page_num == 0 {
            return Err(ClientError::InvalidArgument(
                "legacy list pages count from 1".into(),
            ));
        }
        if !(1..=MAX_LEGACY_PAGE_SIZE).contains(&page_size) {
            return Err(ClientError::InvalidArgument(format!(
                "legacy list page size must be 1 to {MAX_LEGACY_PAGE_SIZE}, got {page_size}"
            )));
        }
        let call = Call {
            query: vec![
                ("pageNum", page_num.to_string()),
                ("pageSize", page_size.to_string()),
            ],
            ..Call::get(format!("users/{}/user_channels/page", self.user))
        };
        let list: Envelope<LegacyList> = self.get_json(&call).await?;
        Ok(legacy_to_conversations(&list.data))
    }

    // -----------------------------------------------------------------------------------
}

/// A page of the cursor list or the mark search: an empty cursor means the last page.
fn cursor_list_to_page(list: CursorList) -> ConversationPage {
    ConversationPage {
        conversations: list
            .channel_infos
            .iter()
            .map(|entry| entry.to_conversation())
            .collect(),
        next_cursor: Some(list.cursor).filter(|c| !c.is_empty()),
    }
}

fn legacy_to_conversations(list: &LegacyList) -> Vec<Conversation> {
    list.channel_infos
        .iter()
        .filter_map(|entry| {
            let conversation = entry.to_conversation();
            if conversation.is_none() {
                tracing::warn!(channel_id = %one_line(&entry.channel_id, 80), "skipped a conversation with an unreadable channel_id");
            }
            conversation
        })
        .collect()
}
