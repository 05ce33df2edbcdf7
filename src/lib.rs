//! roam: a terminal browser for the server-side chat history of Easemob IM / Agora Chat
//! deployments. The binary is a thin layer over this library.

pub mod protocol;
pub mod store;
pub mod tui;
