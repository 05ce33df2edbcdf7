//! What the browser reads besides the pages it fetches: the store its search of all
//! history reads, and the library it browses offline.

use crate::config::Config;
use crate::session::{self, Connection};

/// What the browser's search of all history reads: the library (offline, the one being
/// browsed), or in the demo the demo's whole store narrowed to the demo user's
/// conversations. `None` (logged) when there is none to open: the view then says so.
pub(super) fn searcher_for(
    connection: &Connection,
    config: &Config,
    offline: bool,
    demo: bool,
    client: &crate::client::Client,
    library: Option<&crate::library::Library>,
) -> Option<crate::library::search::SearchAll> {
    use crate::library::search::SearchAll;
    let opened = if offline {
        let place = offline_place(connection, config)?;
        SearchAll::open(&place.path, &place.user, false)
    } else if demo {
        match crate::embedded::demo_database(&crate::embedded::cache_dir()) {
            Ok(path) => SearchAll::open(&path, client.user(), true),
            Err(e) => {
                tracing::warn!("search of all history is off: {e:#}");
                return None;
            }
        }
    } else {
        SearchAll::open(library?.path(), client.user(), false)
    };
    opened
        .map_err(|e| tracing::warn!("search of all history is off: {e}"))
        .ok()
}

/// The library browsed offline: the deployment's the connection names, else the demo's.
pub(super) fn offline_place(
    connection: &Connection,
    config: &Config,
) -> Option<session::LibraryPlace> {
    match session::library_of(connection.clone(), config) {
        Ok(Some(place)) => Some(place),
        Ok(None) => Some(session::LibraryPlace::demo()),
        Err(e) => {
            tracing::warn!("the library is not read: {e:#}");
            None
        }
    }
}

/// The library browsed offline, opened to read which conversations it holds from their
/// beginning; `None` (logged) when it cannot be opened.
pub(super) fn served_library(
    connection: &Connection,
    config: &Config,
) -> Option<crate::library::Library> {
    let place = offline_place(connection, config)?;
    crate::library::Library::open(&place.path, &place.user)
        .map_err(|e| tracing::warn!("the library is not read: {e}"))
        .ok()
}
