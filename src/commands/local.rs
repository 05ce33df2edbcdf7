//! What the commands that read a store file directly (`search`, `export`) share: which
//! file (`--db`; else the library of the deployment the connection flags or profile name;
//! else the demo's database), the time bounds as typed, and the conversations named on the
//! command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::config::Config;
use crate::session::{self, Connection};
use crate::store::Store;
use crate::tui::{text, when};

/// The store at `db`; else the person's library of the deployment `connection` names (no
/// request is made); else, with no flags or profile, the embedded demo's whole database
/// (imported on first use). A file that does not exist is an error, never a new empty one.
pub(super) fn open_store(
    db: Option<&Path>,
    connection: Connection,
    config: &Config,
) -> Result<(Store, PathBuf)> {
    let path = match db {
        Some(path) => {
            if !path.exists() {
                bail!("the database {} does not exist", path.display());
            }
            path.to_path_buf()
        }
        // No deployment named (a --user alone names whose view of the demo to take).
        None if connection.api_url.is_none()
            && connection.profile.is_none()
            && config.default_profile.is_none() =>
        {
            crate::embedded::demo_database(&crate::embedded::cache_dir())?
        }
        None => match session::library_of(connection, config)? {
            Some(place) => {
                if !place.path.exists() {
                    bail!(
                        "there is no library of {} on {} yet ({}): run `roam sync` first",
                        place.user,
                        place.deployment,
                        place.path.display()
                    );
                }
                place.path
            }
            None => crate::embedded::demo_database(&crate::embedded::cache_dir())?,
        },
    };
    let store = Store::open(&path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    Ok((store, path))
}

/// `--since` and `--until` as milliseconds: the start of the one's span and the end of the
/// other's (a date includes that whole day).
pub(super) fn time_bounds(
    since: Option<&str>,
    until: Option<&str>,
    now: &jiff::Zoned,
) -> Result<(Option<i64>, Option<i64>)> {
    let read = |flag: &str, value: Option<&str>| -> Result<Option<when::When>> {
        value
            .map(|v| when::parse(v, now).with_context(|| format!("--{flag}")))
            .transpose()
    };
    let since = read("since", since)?.map(|w| w.start);
    let until = read("until", until)?.map(|w| w.end);
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        bail!("--since is after --until: nothing can match");
    }
    Ok((since, until))
}

/// The conversations the ids on the command line name (see
/// [`Store::find_conversations`]); an id that names none is an error.
pub(super) fn conversations(
    store: &Store,
    user: Option<&str>,
    ids: &[String],
) -> Result<Vec<String>> {
    conversations_by(user, ids, |id| Ok(store.find_conversations(user, id)?))
}

/// [`conversations`], each id looked up by `find` (for a store of either back end).
pub(super) fn conversations_by(
    user: Option<&str>,
    ids: &[String],
    mut find: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for id in ids {
        let found = find(id)?;
        if found.is_empty() {
            match user {
                Some(user) => bail!(
                    "{} is not a conversation of {}",
                    text::one_line(id, 64),
                    text::one_line(user, 64)
                ),
                None => bail!(
                    "{} is not a conversation in this store (a group or room id, a user id, \
                     or alice|bob for a single chat)",
                    text::one_line(id, 64)
                ),
            }
        }
        for name in found {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    Ok(out)
}
