//! The terminal browser.

pub mod text;
