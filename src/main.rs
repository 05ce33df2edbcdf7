//! The `roam` command: parses arguments and hands each subcommand to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use roam::commands::{self, Connection, HistoryOptions, ImportOptions, ServeOptions};
use roam::protocol::{ChatType, Direction};
use roam::server::ConnectionLimits;

/// A terminal browser for the server-side chat history of Easemob IM / Agora Chat.
///
/// With no arguments roam opens a bundled demo history served by an embedded server on
/// 127.0.0.1. With --api-url, --appkey and --user it opens a real deployment.
#[derive(Parser)]
#[command(name = "roam", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Write the log here (default: roam.log in the cache directory).
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where to read history from: a real deployment, or (all absent) the embedded demo.
/// Not `Debug`: it holds the token.
#[derive(Args)]
struct ConnectionArgs {
    /// Base URL of the deployment's REST API, e.g. https://a1.easemob.com.
    #[arg(long, global = true, value_name = "URL", requires_all = ["appkey", "user"])]
    api_url: Option<String>,
    /// The app key, `org#app` (for `serve`: the app key it answers to; default the demo's).
    #[arg(long, global = true, value_name = "ORG#APP")]
    appkey: Option<String>,
    /// The user whose history to read.
    #[arg(long, global = true, value_name = "NAME")]
    user: Option<String>,
    /// A user token instead of a password (the password otherwise comes from
    /// ROAM_PASSWORD or a prompt).
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "ROAM_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the user's conversations with unread counts.
    Conversations {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a page of one conversation's history.
    History(HistoryArgs),
    /// Load history export files (JSON lines, plain or .gz) into a database.
    Import {
        /// The database to create or extend.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// A state file with users, group members, unread counts, pins and marks.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Export files.
        #[arg(value_name = "EXPORT")]
        exports: Vec<PathBuf>,
    },
    /// Serve a database over the Easemob history protocol.
    Serve {
        /// The database to serve.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Address to listen on; only an explicit non-loopback address listens beyond this
        /// machine.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5280")]
        listen: SocketAddr,
        /// Apply the service's documented list rate limit (5 calls per minute per user).
        #[arg(long)]
        rate_limit: bool,
        /// Token lifetime in seconds (at most ten years).
        #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 3600,
              value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 24 * 3600))]
        token_ttl: u64,
        /// Create the database if it does not exist (otherwise that is an error).
        #[arg(long)]
        create: bool,
        #[command(flatten)]
        limits: ServeLimits,
    },
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
        /// The database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The user id.
        name: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Args, Debug)]
struct HistoryArgs {
    /// The conversation: the peer's user id, or a group or room id.
    id: String,
    /// The conversation is a group.
    #[arg(long, conflicts_with = "room")]
    group: bool,
    /// The conversation is a chat room.
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
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum DirectionArg {
    Up,
    Down,
}

/// Clap's usage errors span several lines (the error, usage, a hint); a person gets the
/// error itself on one line, with where to look for more.
fn parse_arguments() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
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

fn main() -> ExitCode {
    let cli = match parse_arguments() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let connection = Connection {
        api_url: cli.connection.api_url,
        appkey: cli.connection.appkey,
        user: cli.connection.user,
        token: cli.connection.token,
    };
    let result = match cli.command {
        None => commands::browse(connection, cli.log),
        Some(Command::Conversations { json }) => commands::conversations(connection, json),
        Some(Command::History(args)) => commands::history(
            connection,
            HistoryOptions {
                id: args.id,
                kind: if args.group {
                    ChatType::Group
                } else if args.room {
                    ChatType::Room
                } else {
                    ChatType::Single
                },
                limit: args.limit,
                direction: match args.direction {
                    DirectionArg::Up => Direction::Up,
                    DirectionArg::Down => Direction::Down,
                },
                cursor: args.cursor,
                json: args.json,
            },
        ),
        Some(Command::Import {
            db,
            state,
            quiet,
            exports,
        }) => commands::import(ImportOptions {
            db,
            state,
            quiet,
            exports,
        }),
        Some(Command::Serve {
            db,
            listen,
            rate_limit,
            token_ttl,
            create,
            limits,
        }) => commands::serve(ServeOptions {
            db,
            listen,
            appkey: connection.appkey,
            rate_limit,
            token_ttl_secs: token_ttl,
            create,
            connections: limits.connection_limits(),
        }),
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
