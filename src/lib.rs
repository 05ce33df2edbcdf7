//! roam: a terminal browser for the server-side chat history of Easemob IM / Agora Chat
//! deployments. The binary is a thin layer over this library.

pub mod client;
pub mod commands;
pub mod config;
pub mod demo;
pub mod downloads;
pub mod embedded;
pub mod export;
pub mod library;
pub mod links;
pub mod logging;
pub mod names_cache;
pub mod protocol;
pub mod server;
pub mod session;
pub mod store;
pub mod tui;
