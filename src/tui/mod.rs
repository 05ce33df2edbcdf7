//! The terminal UI. The state machine ([`app`]) is pure: events in, effects out, no I/O,
//! so it is tested without a terminal or a server. Drawing and the event loop build on it.

pub mod app;
pub mod display;
pub mod fetch;
pub mod history;
pub mod layout;
pub mod run;
pub mod search;
pub mod terminal;
pub mod text;
pub mod view;
