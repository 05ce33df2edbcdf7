//! `roam import` and `roam serve` over PostgreSQL (`--db postgres://...`).
//!
//! The URL may hold a password; it is never printed: what the person sees names the
//! database as user, host, port and name only. (A password on the command line is still
//! visible to `ps`: `PGPASSWORD` or `~/.pgpass` keep it out of there.)

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{ImportOptions, ServeOptions, report_import, runtime, stop_signal};
use crate::server::ServerConfig;
use crate::store::pg::{PgImport, PgStore, PgTarget, default_pool_size, is_postgres_url};
use crate::store::state::StateFile;
use crate::store::{self, Db};
use crate::tui::text;

/// The PostgreSQL URL `--db` names, if it names one.
pub(super) fn url(db: &Path) -> Option<&str> {
    db.to_str().filter(|s| is_postgres_url(s))
}

/// Connects (and migrates), naming the database without its password on failure.
pub(super) async fn connect(url: &str, size: usize) -> Result<PgStore> {
    let target = PgTarget::from_url(url)?;
    let shown = target.to_string();
    PgStore::open(target, size)
        .await
        .with_context(|| format!("cannot open the database {shown}"))
}

/// `roam import --db postgres://...`: messages (binary `COPY` per batch), then the state
/// file.
pub(super) fn import(url: &str, options: &ImportOptions, state: Option<StateFile>) -> Result<()> {
    let runtime = runtime()?;
    let pg = runtime.block_on(connect(url, 2))?;
    let shown = pg.target().to_string();
    let mut incomplete = 0;
    if !options.exports.is_empty() {
        let import_options = store::import::ImportOptions {
            progress: !options.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            ..store::import::ImportOptions::default()
        };
        let mut writer = PgImport::new(pg.clone(), runtime.handle().clone());
        let summary = writer
            .import_files(&options.exports, &import_options)
            .with_context(|| format!("import into {shown} failed"))?;
        incomplete = report_import(&summary);
    }
    if let Some(state) = state {
        let summary = runtime
            .block_on(pg.apply_state(&state))
            .context("cannot apply the state file")?;
        eprintln!("{summary}");
    }
    let mut folders = store::import::files::folders_beside(&options.exports);
    for dir in &options.files {
        if !folders.contains(dir) {
            folders.push(dir.clone());
        }
    }
    let mut writer = PgImport::new(pg.clone(), runtime.handle().clone());
    for dir in folders {
        let summary = writer
            .import_attachments(&dir)
            .with_context(|| format!("cannot load the attachments in {}", dir.display()))?;
        for skipped in &summary.skipped {
            eprintln!("roam: skipped {}", text::one_line(skipped, 400));
        }
        eprintln!(
            "{} ({})",
            summary,
            text::one_line(&dir.display().to_string(), 200)
        );
    }
    if incomplete > 0 {
        bail!("{incomplete} export files could not be read to the end (see above)");
    }
    Ok(())
}

/// `roam serve --db postgres://...`: like serving a file, with the tokens in the database,
/// so several servers over it accept each other's.
pub(super) fn serve(url: &str, options: &ServeOptions) -> Result<()> {
    let apps = match &options.app_credentials {
        Some(path) => crate::server::app_credentials::load(path)?,
        None => Vec::new(),
    };
    crate::logging::to_stderr();
    let runtime = runtime()?;
    runtime.block_on(async {
        let appkey = options
            .appkey
            .clone()
            .unwrap_or_else(|| crate::demo::DEMO_APPKEY.to_string());
        let config = ServerConfig {
            token_ttl: Duration::from_secs(options.token_ttl_secs),
            rate_limit: options.rate_limit,
            connections: options.connections.clone(),
            apps,
            ..ServerConfig::new(appkey)
        };
        let stop = stop_signal()?;
        let pg = connect(url, default_pool_size()).await?;
        let shown = pg.target().to_string();
        let server =
            crate::server::spawn_over(Db::Postgres(Box::new(pg)), config, Some(options.listen))
                .await
                .with_context(|| format!("cannot serve {shown}"))?;
        eprintln!("roam: serving {shown} at {}", server.base_url());
        let signal = stop.await;
        eprintln!("roam: {signal}: finishing requests in flight");
        server.shutdown().await.context("shutdown failed")?;
        eprintln!("roam: stopped");
        Ok(())
    })
}

/// `roam user add --db postgres://...`.
pub(super) fn user_add(url: &str, name: &str, password: &str) -> Result<()> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let pg = connect(url, 1).await?;
        pg.set_password(name, password)
            .await
            .with_context(|| format!("cannot set the password of {name}"))
    })?;
    eprintln!("roam: {name} can now log in");
    Ok(())
}
