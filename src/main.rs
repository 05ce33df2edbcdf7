//! The `roam` command: parses arguments and hands each subcommand to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use roam::commands::{
    self, Connection, ExportOptions, HistoryOptions, ImportOptions, SearchOptions, ServeOptions,
    SyncArgs,
};
use roam::export::Format;
use roam::protocol::{ChatType, Direction};
use roam::server::ConnectionLimits;

/// A terminal browser for the server-side chat history of Easemob IM / Agora Chat.
///
/// With no arguments roam opens a bundled demo history served by an embedded server on
/// 127.0.0.1 (or the config file's default profile). With --profile NAME, or --api-url,
/// --appkey and --user, it opens a real deployment.
///
/// Each subcommand takes only its own flags (`roam import --help`); the connection flags
/// may also come before `conversations` and `history`, as before the browser's.
#[derive(Parser)]
#[command(name = "roam", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Write the log here (default: roam.log in the cache directory).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Browse the local library without the server, read-only (also what happens when
    /// the server cannot be reached).
    #[arg(long)]
    offline: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where to read history from: a real deployment, or (all absent) the embedded demo. Used
/// by the browser, `conversations` and `history`, and by nothing else.
/// Not `Debug`: it holds the token.
#[derive(Args)]
struct ConnectionArgs {
    /// A profile of the config file (`roam config` shows them); flags override its values.
    #[arg(long, short = 'p', value_name = "NAME")]
    profile: Option<String>,
    /// Base URL of the deployment's REST API, e.g. https://a1.easemob.com.
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,
    /// The app key, `org#app`.
    #[arg(long, value_name = "ORG#APP")]
    appkey: Option<String>,
    /// The user whose history to read.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// A user token instead of a password (the password otherwise comes from
    /// ROAM_PASSWORD or a prompt). Set ROAM_TOKEN rather than giving --token: a command
    /// line can be read by every user of the machine (ps).
    #[arg(long, value_name = "TOKEN", env = TOKEN_ENV, hide_env_values = true)]
    token: Option<String>,
    /// Admin access: the app's client id. Its secret comes from ROAM_CLIENT_SECRET or a
    /// prompt (never a flag), or `roam login` saved the app token; read a user with --as.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Admin access: whose history to read, read-only, with the app's credentials.
    #[arg(long = "as", value_name = "USER")]
    as_user: Option<String>,
}

impl ConnectionArgs {
    /// These flags, each taken from `before` (the flags given before the subcommand) where
    /// it is absent here.
    fn or(self, before: ConnectionArgs) -> ConnectionArgs {
        ConnectionArgs {
            profile: self.profile.or(before.profile),
            api_url: self.api_url.or(before.api_url),
            appkey: self.appkey.or(before.appkey),
            user: self.user.or(before.user),
            token: self.token.or(before.token),
            client_id: self.client_id.or(before.client_id),
            as_user: self.as_user.or(before.as_user),
        }
    }

    fn into_connection(self) -> Connection {
        Connection {
            profile: self.profile,
            api_url: self.api_url,
            appkey: self.appkey,
            user: self.user,
            token: self.token,
            client_id: self.client_id,
            as_user: self.as_user,
        }
    }
}

/// The flags before a subcommand, and the subcommands they apply to besides the browser.
const LEADING_FLAGS: &[(&str, &[&str])] = &[
    ("profile", CONNECTING),
    ("api_url", CONNECTING),
    ("appkey", CONNECTING),
    ("user", CONNECTING),
    ("token", CONNECTING),
    ("client_id", CONNECTING),
    ("as_user", CONNECTING),
    ("log", &[]),
    ("offline", &["export"]),
];

/// The subcommands that take the connection flags.
const CONNECTING: &[&str] = &[
    "conversations",
    "history",
    "sync",
    "search",
    "export",
    "download",
    "login",
    "logout",
    "config",
];

#[derive(Subcommand)]
enum Command {
    /// List the user's conversations with unread counts.
    Conversations {
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Print JSON Lines instead of text: one conversation per line.
        #[arg(long)]
        json: bool,
    },
    /// Print a page of one conversation's history.
    History(HistoryArgs),
    /// Browse any roam database (a library, an imported export, a served store) as one of
    /// its users, without a password: the file is yours.
    Open {
        /// The database file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Whose conversations to browse.
        #[arg(long, value_name = "USER")]
        user: String,
    },
    /// Mirror conversations into the local library: only what is missing, resumable after
    /// a kill, safe to run again.
    Sync {
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Conversations to sync (ids as in the list); every listed one when none.
        #[arg(value_name = "ID")]
        ids: Vec<String>,
        /// Only history from this time on (2024-03-01, -30d, ...).
        #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
        since: Option<String>,
        /// History requests per second; 0 = as fast as the server answers.
        #[arg(long, default_value_t = roam::library::sync::DEFAULT_RATE)]
        rate: f64,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Download a message's attachment (into the downloads directory, or -o PATH).
    Download(DownloadArgs),
    /// Log in once and save the token (OS keyring, or a 0600 file), so later runs need no
    /// password until it expires.
    Login {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Delete the saved token.
    Logout {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Print the configuration in use and where it comes from, secrets redacted.
    Config {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Load history export files (JSON lines, plain or .gz) into a database.
    Import {
        /// The database to create or extend: a SQLite file, or a PostgreSQL URL
        /// (postgres://user@host:port/dbname; the password from PGPASSWORD or ~/.pgpass).
        #[arg(long, value_name = "FILE|URL")]
        db: PathBuf,
        /// A state file with users, group members, unread counts, pins and marks.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// A folder of attachment files named by their uuid, besides the `files` folder
        /// beside each export file (which is always read).
        #[arg(long, value_name = "DIR")]
        files: Vec<PathBuf>,
        /// Export files.
        #[arg(value_name = "EXPORT")]
        exports: Vec<PathBuf>,
    },
    /// Serve a database over the Easemob history protocol.
    Serve {
        /// The database to serve: a SQLite file, or a PostgreSQL URL
        /// (postgres://user@host:port/dbname) that several servers may share.
        #[arg(long, value_name = "FILE|URL")]
        db: PathBuf,
        /// Address to listen on; only an explicit non-loopback address listens beyond this
        /// machine.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5280")]
        listen: SocketAddr,
        /// Apply the service's documented list rate limit (5 calls per minute per user).
        #[arg(long)]
        rate_limit: bool,
        /// The app key to answer to, `org#app` (default: the demo's).
        #[arg(long, value_name = "ORG#APP")]
        appkey: Option<String>,
        /// Token lifetime in seconds (at most ten years).
        #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 3600,
              value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 24 * 3600))]
        token_ttl: u64,
        /// Create the database if it does not exist (otherwise that is an error).
        #[arg(long)]
        create: bool,
        /// App credentials for admin access (client_credentials, then inherit): a JSON file
        /// {"apps": [{"client_id": ..., "client_secret": ...}]} only you can read (0600).
        #[arg(long, value_name = "FILE")]
        app_credentials: Option<PathBuf>,
        #[command(flatten)]
        limits: ServeLimits,
    },
    /// Search every conversation of a database, newest first: --db, else your library of the
    /// deployment the flags or profile name, else the demo's.
    Search(SearchArgs),
    /// Export conversations of a database (--db, else your library of the deployment the
    /// flags or profile name, else the demo's) as JSON lines (the
    /// service's export format, which `roam import` reads back), Markdown or HTML.
    Export(ExportArgs),
    /// Manage the users of a database.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// How much a connection may cost `roam serve`.
#[derive(Args, Debug)]
struct ServeLimits {
    /// Connections open at once; more wait to be accepted [default: 512, fewer when the
    /// descriptor limit is low].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_connections: Option<u64>,
    /// Seconds a connection may take to send a request head, or stay idle between requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Seconds a request body may pause before the request is answered 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// Seconds a whole request may take before it is answered 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
}

impl ServeLimits {
    fn connection_limits(&self) -> ConnectionLimits {
        let defaults = ConnectionLimits::default();
        ConnectionLimits {
            max_connections: self
                .max_connections
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(defaults.max_connections),
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            request_timeout: Duration::from_secs(self.request_timeout),
            ..defaults
        }
    }
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a user or set their password.
    Add {
        /// The database: a SQLite file, or a PostgreSQL URL.
        #[arg(long, value_name = "FILE|URL")]
        db: PathBuf,
        /// The user id.
        name: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Args)]
struct HistoryArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The conversation: the peer's user id, or a group or room id. Without --single,
    /// --group or --room its kind is looked up in the user's conversation list.
    id: String,
    /// The conversation is a one-to-one chat.
    #[arg(long, conflicts_with_all = ["group", "room"])]
    single: bool,
    /// The conversation is a group.
    #[arg(long, conflicts_with = "room")]
    group: bool,
    /// The conversation is a chat room (rooms are never in the list: give this for them).
    #[arg(long)]
    room: bool,
    /// How many messages to print (fetched in pages of up to 50).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    limit: u32,
    /// up: newest first, going back; down: oldest first, going forward.
    #[arg(long, value_enum, default_value_t = DirectionArg::Up)]
    direction: DirectionArg,
    /// Continue from the cursor a previous run printed.
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Only messages at or after this time, in the local zone: 2023-05-01,
    /// "2023-05-01 14:30", 14:30, yesterday, -3d, -2w.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    since: Option<String>,
    /// Only messages up to this time (a date includes that whole day); same forms as
    /// --since.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    until: Option<String>,
    /// Only these content kinds: txt, img, file, audio, video, loc, custom, cmd, combine
    /// (comma-separated).
    #[arg(long = "type", value_name = "KINDS", value_delimiter = ',')]
    types: Vec<String>,
    /// Only messages from this sender (groups and rooms).
    #[arg(long, value_name = "USER")]
    from: Option<String>,
    /// Print JSON Lines instead of text: one message per line, then one line with the
    /// paging state, {"next_cursor": ..., "is_last": ...}.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DownloadArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The conversation: the peer's user id, or a group or room id.
    id: String,
    /// The message's id.
    message: String,
    /// Where to save: a file that must not exist yet, or a directory [default: the
    /// downloads directory, `downloads_dir` in the config file].
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
    /// The conversation is a one-to-one chat.
    #[arg(long, conflicts_with_all = ["group", "room"])]
    single: bool,
    /// The conversation is a group.
    #[arg(long, conflicts_with = "room")]
    group: bool,
    /// The conversation is a chat room.
    #[arg(long)]
    room: bool,
    /// The thumbnail (images, videos) instead of the file.
    #[arg(long)]
    thumbnail: bool,
}

#[derive(Args)]
struct SearchArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// What to find: any part of a message's text or file name, upper and lower case alike
    /// (Chinese, Japanese and Korean inside sentences too).
    query: String,
    /// The query is a regular expression (case-insensitive).
    #[arg(long)]
    regex: bool,
    /// Only this conversation: a group or room id, a user id (their single chats), or
    /// alice|bob. May be given more than once.
    #[arg(long = "in", value_name = "ID")]
    conversations: Vec<String>,
    /// Only messages from this sender.
    #[arg(long, value_name = "USER")]
    from: Option<String>,
    /// Only these content kinds: txt, img, file, audio, video, loc, custom, cmd, combine
    /// (comma-separated).
    #[arg(long = "type", value_name = "KINDS", value_delimiter = ',')]
    types: Vec<String>,
    /// Only messages at or after this time, in the local zone: 2023-05-01,
    /// "2023-05-01 14:30", 14:30, yesterday, -3d, -2w.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    since: Option<String>,
    /// Only messages up to this time (a date includes that whole day).
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    until: Option<String>,
    /// How many hits to print.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    limit: u64,
    /// Continue from the cursor a previous run printed.
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Print JSON Lines: one hit per line, then the paging state.
    #[arg(long)]
    json: bool,
    /// The database to search: a file, or a postgres:// URL (default: your library, or
    /// the demo's).
    #[arg(long, value_name = "FILE|URL")]
    db: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The conversations: group or room ids, user ids (their single chats) or alice|bob;
    /// with --user, as that user names them (a peer, a group).
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    ids: Vec<String>,
    /// Every conversation (the user's, with --user).
    #[arg(long)]
    all: bool,
    /// jsonl: the service's export format; markdown: for reading; html: one page with a
    /// table of contents and a find box.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Only messages at or after this time, in the local zone: 2023-05-01, -3d, ...
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    since: Option<String>,
    /// Only messages up to this time (a date includes that whole day).
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    until: Option<String>,
    /// Only what is new since the previous --since-last export to the same -o file,
    /// appended to it (state in FILE.roam-export.json; jsonl and markdown).
    #[arg(long)]
    since_last: bool,
    /// The file to write (created readable by you only); standard output without it.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The database to export from (default: your library, or the demo's).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Export what your library holds without syncing it first.
    #[arg(long)]
    offline: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Jsonl,
    Markdown,
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum DirectionArg {
    Up,
    Down,
}

/// The environment variable a token may come from, out of sight of `ps`.
const TOKEN_ENV: &str = "ROAM_TOKEN";

/// Clap's usage errors span several lines (the error, usage, a hint); a person gets the
/// error itself on one line, with where to look for more. A token given on the command line
/// is warned about here, before anything else runs.
fn parse_arguments() -> Result<Cli, ExitCode> {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    match parsed {
        Ok((cli, matches)) => {
            if let Some(line) = misplaced_flag(&matches) {
                eprintln!("roam: {line}");
                return Err(ExitCode::from(2));
            }
            if token_on_command_line(&matches) {
                eprintln!(
                    "roam: warning: --token on the command line can be read by other users \
                     (ps); set {TOKEN_ENV} instead"
                );
            }
            Ok(cli)
        }
        Err(error) if !error.use_stderr() => {
            // --help and --version print to stdout and succeed.
            let _ = error.print();
            Err(ExitCode::SUCCESS)
        }
        Err(error) => {
            let text = error.render().to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("roam: {message} (roam --help lists the options)");
            Err(ExitCode::from(2))
        }
    }
}

/// A flag given before a subcommand it does not apply to (`roam --user bob import`), said
/// in one line. Flags from the environment (ROAM_TOKEN) do not count.
fn misplaced_flag(matches: &ArgMatches) -> Option<String> {
    let (name, _) = matches.subcommand()?;
    LEADING_FLAGS
        .iter()
        .find(|(id, applies)| given_on_command_line(matches, id) && !applies.contains(&name))
        .map(|(id, _)| {
            format!(
                "--{} does not apply to `roam {name}` (roam {name} --help lists its options)",
                if *id == "as_user" {
                    "as".to_string()
                } else {
                    id.replace('_', "-")
                }
            )
        })
}

/// Whether `--token` came from the command line rather than ROAM_TOKEN, before the
/// subcommand or after it.
fn token_on_command_line(matches: &ArgMatches) -> bool {
    let mut level = Some(matches);
    while let Some(m) = level {
        if given_on_command_line(m, "token") {
            return true;
        }
        level = m.subcommand().map(|(_, sub)| sub);
    }
    false
}

/// Whether the flag `id` was typed on this level of the command line (not taken from the
/// environment). Levels that do not know the flag have not been given it.
fn given_on_command_line(matches: &ArgMatches, id: &str) -> bool {
    matches.ids().any(|known| known.as_str() == id)
        && matches.value_source(id) == Some(ValueSource::CommandLine)
}

fn main() -> ExitCode {
    let cli = match parse_arguments() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match cli.command {
        None => commands::browse(cli.connection.into_connection(), cli.offline, cli.log),
        Some(Command::Conversations { connection, json }) => {
            commands::conversations(connection.or(cli.connection).into_connection(), json)
        }
        Some(Command::Open { file, user }) => commands::open(&file, &user, cli.log),
        Some(Command::Sync {
            connection,
            ids,
            since,
            rate,
            quiet,
        }) => commands::sync(
            connection.or(cli.connection).into_connection(),
            SyncArgs {
                ids,
                since,
                rate,
                quiet,
            },
        ),
        Some(Command::Login { connection }) => {
            commands::login(connection.or(cli.connection).into_connection())
        }
        Some(Command::Logout { connection }) => {
            commands::logout(connection.or(cli.connection).into_connection())
        }
        Some(Command::Config { connection }) => {
            commands::config(connection.or(cli.connection).into_connection())
        }
        Some(Command::History(args)) => commands::history(
            args.connection.or(cli.connection).into_connection(),
            HistoryOptions {
                id: args.id,
                kind: kind_flag(args.single, args.group, args.room),
                limit: args.limit,
                direction: match args.direction {
                    DirectionArg::Up => Direction::Up,
                    DirectionArg::Down => Direction::Down,
                },
                cursor: args.cursor,
                since: args.since,
                until: args.until,
                types: args.types,
                from: args.from,
                json: args.json,
            },
        ),
        Some(Command::Download(args)) => commands::download(
            args.connection.into_connection(),
            commands::DownloadCommand {
                id: args.id,
                kind: kind_flag(args.single, args.group, args.room),
                message: args.message,
                output: args.output,
                thumbnail: args.thumbnail,
            },
        ),
        Some(Command::Import {
            db,
            state,
            quiet,
            files,
            exports,
        }) => commands::import(ImportOptions {
            db,
            state,
            quiet,
            files,
            exports,
        }),
        Some(Command::Serve {
            db,
            listen,
            rate_limit,
            appkey,
            token_ttl,
            create,
            app_credentials,
            limits,
        }) => commands::serve(ServeOptions {
            app_credentials,
            db,
            listen,
            appkey,
            rate_limit,
            token_ttl_secs: token_ttl,
            create,
            connections: limits.connection_limits(),
        }),
        Some(Command::Search(args)) => commands::search(SearchOptions {
            connection: args.connection.or(cli.connection).into_connection(),
            query: args.query,
            regex: args.regex,
            conversations: args.conversations,
            from: args.from,
            types: args.types,
            since: args.since,
            until: args.until,
            limit: usize::try_from(args.limit).unwrap_or(usize::MAX),
            cursor: args.cursor,
            json: args.json,
            db: args.db,
        }),
        Some(Command::Export(args)) => {
            let connection = args.connection.or(cli.connection);
            // --user: whose library (with --api-url or a profile), and whose view of a
            // --db file: their conversations, single chats titled by the peer.
            let user = connection.user.clone();
            commands::export(ExportOptions {
                user,
                connection: connection.into_connection(),
                ids: args.ids,
                all: args.all,
                format: match args.format {
                    FormatArg::Jsonl => Format::Jsonl,
                    FormatArg::Markdown => Format::Markdown,
                    FormatArg::Html => Format::Html,
                },
                since: args.since,
                until: args.until,
                since_last: args.since_last,
                output: args.output,
                db: args.db,
                offline: args.offline || cli.offline,
            })
        }
        Some(Command::User {
            command:
                UserCommand::Add {
                    db,
                    name,
                    password_stdin,
                },
        }) => commands::user_add(&db, &name, password_stdin),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roam: {}", commands::describe_error(&error));
            ExitCode::FAILURE
        }
    }
}

/// The kind `--single`, `--group` or `--room` says (clap lets at most one through); `None`
/// when none is given.
fn kind_flag(single: bool, group: bool, room: bool) -> Option<ChatType> {
    match (single, group, room) {
        (true, _, _) => Some(ChatType::Single),
        (_, true, _) => Some(ChatType::Group),
        (_, _, true) => Some(ChatType::Room),
        _ => None,
    }
}
