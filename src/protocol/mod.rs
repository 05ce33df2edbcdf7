//! The wire format roam speaks (PROTOCOL.md), with no I/O: protobuf messages, JSON bodies,
//! and conversions to and from the domain types.

pub mod body_meta;
pub mod domain;
pub mod files;
pub mod history;
pub mod ids;
pub mod json;
pub mod names;
pub mod paging;
pub mod pb;

pub use domain::{
    Attachment, ChatType, Content, Conversation, ConversationPage, Direction, HistoryFilters,
    HistoryPage, HistoryQuery, Message, Size, parse_queue, queue_for,
};
pub use history::{EntryHead, decode_entry, encode_body_tail, encode_entry, write_meta};
pub use paging::{PageLimits, PageWalk, PagingStop};

/// Why a piece of wire data could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ProtocolError {
    /// A history entry was not valid base64.
    #[error("history entry is not valid base64: {0}")]
    Base64(String),
    /// A history entry was not a valid protobuf message.
    #[error("history entry is not a valid protobuf message: {0}")]
    Protobuf(String),
    /// A JSON message had no body.
    #[error("message has no body")]
    NoBody,
    /// A body type roam does not know.
    #[error("unknown message body type {0:?}")]
    UnknownBodyType(String),
    /// A chat type roam does not know.
    #[error("unknown chat type {0:?}")]
    UnknownChatType(String),
    /// `MessageBody.meta` that is not a JSON object.
    #[error("message meta is not a JSON object: {0}")]
    BodyMeta(String),
    /// A message id that is not a decimal u64.
    #[error("message id {0:?} is not a decimal unsigned 64-bit number")]
    BadMessageId(String),
}
