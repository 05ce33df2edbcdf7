//! The local history database (SQLite) behind the embedded server, and import of the
//! service's export files.

pub mod state;
