use clap::{Parser, Subcommand};

/// Requests allocate many small, short-lived buffers; mimalloc serves them
/// with far less CPU than glibc's malloc (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use handoff::config::{ServeArgs, Settings};
use handoff::crypto::ServerKey;
use handoff::startup::Application;

/// One-time secret handoff server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve(Box<ServeArgs>),
    /// Print a new random server key for `HANDOFF_SERVER_KEY`.
    ServerKey,
    /// Staff tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sinks, where tenants' configuration lives.
    #[command(subcommand)]
    Sink(SinkCommand),
}

#[derive(Subcommand)]
enum SinkCommand {
    /// Prove that a sink is reachable and writable, without writing a secret.
    Check {
        /// The sink's name, as in `[sinks.<name>]`.
        name: String,
        /// Check this tenant's `sink_path` in the sink.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for a staff member and print the lines for handoff.toml.
    New {
        /// The staff member's name, as it appears in the audit trail.
        #[arg(long)]
        name: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::ServerKey) => {
            println!("{}", ServerKey::generate().encode().as_str());
            return std::process::ExitCode::SUCCESS;
        }
        Some(Command::Token(TokenCommand::New { name })) => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
            {
                eprintln!("handoff: --name must be letters, digits, '-' or '_'");
                return std::process::ExitCode::from(2);
            }
            let (token, lines) = handoff::directory::new_staff_token(&name);
            println!(
                "Token for {name} (shown once; hand it over privately):\n\n  {}\n",
                token.as_str()
            );
            println!("Add to handoff.toml, then reload with SIGHUP:\n\n{lines}");
            return std::process::ExitCode::SUCCESS;
        }
        Some(Command::Sink(SinkCommand::Check {
            name,
            tenant,
            settings,
        })) => {
            return check_sink(&name, tenant.as_deref(), &settings);
        }
        Some(Command::Serve(args)) => *args,
        None => cli.serve,
    };
    let settings = match Settings::load(&args) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("handoff: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    handoff::telemetry::init();
    let runtime = tokio::runtime::Runtime::new().expect("the Tokio runtime starts");
    let served = runtime.block_on(serve(settings));
    // The shutdown timeout has passed by now; a store call still stuck on
    // the blocking pool must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("handoff: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `handoff sink check`: one line saying what was proven, or why not.
fn check_sink(name: &str, tenant: Option<&str>, args: &ServeArgs) -> std::process::ExitCode {
    let settings = match Settings::load(args) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("handoff: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let Some(sink) = settings.directory.sink(name).cloned() else {
        eprintln!("handoff: there is no [sinks.{name}] in the settings");
        return std::process::ExitCode::from(2);
    };
    let path = match tenant {
        None => None,
        Some(slug) => match settings.directory.tenant(slug).and_then(|t| t.sink.clone()) {
            Some((sink_name, path)) if sink_name == name => Some(path),
            _ => {
                eprintln!("handoff: tenant {slug} does not use sink {name}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    let runtime = tokio::runtime::Runtime::new().expect("the Tokio runtime starts");
    match runtime.block_on(sink.check(path.as_deref())) {
        Ok(proof) => {
            println!("{name} ({}): {proof}", sink.kind());
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{name} ({}): {} — {error}", sink.kind(), error.code());
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = settings.store.to_string();
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.address(), public_url = app.public_url().as_str(), store, "handoff is listening");
    app.run_until_stopped().await?;
    Ok(())
}
