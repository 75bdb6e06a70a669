use clap::{CommandFactory as _, Parser, Subcommand};

/// Requests allocate many small, short-lived buffers; mimalloc serves them
/// with far less CPU than glibc's malloc (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use handoff::config::{ServeArgs, Settings};
use handoff::crypto::ServerKey;
use handoff::startup::Application;

/// One-time secret handoff server, and its command-line client.
///
/// Exit codes of the client commands: 0 done; 1 refused or gone; 2 usage;
/// 3 unreachable, no answer in time, or a server error. The server comes
/// from the link, or from `HANDOFF_URL`; the staff token from `HANDOFF_TOKEN`.
#[derive(Parser)]
#[command(name = "handoff", version, about)]
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
    /// Mail, through the SMTP server in the settings.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Exit 0 if the server answers 200 on /healthz, 1 if not: for a
    /// container HEALTHCHECK in an image with no shell or curl.
    Healthcheck {
        /// The http:// URL to GET [default: /healthz on the listen address,
        /// `127.0.0.1` or `::1` for an unspecified one].
        #[arg(long)]
        url: Option<String>,
        /// The server's listen address.
        #[arg(long, env = "HANDOFF_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    #[command(flatten)]
    Client(handoff::cli::ClientCommand),
    /// Print a shell completion script: `handoff completions bash >
    /// /etc/bash_completion.d/handoff`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into --dir.
    Man {
        /// Write handoff.1, handoff-push.1, … into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
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
enum MailCommand {
    /// Send one test message with the mail settings the server would use,
    /// and say what went wrong if it does not go (exit 1).
    Test {
        /// Where the test message goes.
        address: String,
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
        Some(Command::Mail(MailCommand::Test { address, settings })) => {
            return mail_test(&address, &settings);
        }
        Some(Command::Healthcheck { url, listen }) => {
            return healthcheck(url.as_deref(), &listen);
        }
        Some(Command::Client(command)) => return handoff::cli::run(&command),
        Some(Command::Completions { shell }) => {
            // Into a buffer first: clap_complete panics on a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "handoff", &mut script);
            return print(&script);
        }
        Some(Command::Man { dir }) => return man(dir.as_deref()),
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

/// `handoff man`: the page of the whole CLI on stdout, or every command's
/// page in a folder.
fn man(dir: Option<&std::path::Path>) -> std::process::ExitCode {
    let mut page = Vec::new();
    let written = match dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir)),
        None => clap_mangen::Man::new(Cli::command()).render(&mut page),
    };
    match written {
        Ok(()) => print(&page),
        Err(error) => {
            eprintln!("handoff: cannot write the man page: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Generated text on stdout; a closed pipe (`| head`) is no failure.
fn print(text: &[u8]) -> std::process::ExitCode {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(text);
    std::process::ExitCode::SUCCESS
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

/// `handoff mail test`: one message, and the server's answer or what
/// failed (connect, TLS, sign-in, a refused recipient) in one line.
fn mail_test(address: &str, args: &ServeArgs) -> std::process::ExitCode {
    use handoff::mail::{MailAddress, Mailer, test_mail};
    let settings = match Settings::load(args) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("handoff: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let Some(mail) = settings.mail else {
        eprintln!(
            "handoff: mail is off: set HANDOFF_MAIL_HOST and HANDOFF_MAIL_FROM (or [mail] host and from in handoff.toml)"
        );
        return std::process::ExitCode::from(2);
    };
    let to = match MailAddress::parse(address) {
        Ok(to) => to,
        Err(reason) => {
            eprintln!("handoff: {reason}");
            return std::process::ExitCode::from(2);
        }
    };
    let mailer = match Mailer::new(&mail) {
        Ok(mailer) => mailer,
        Err(error) => {
            eprintln!("handoff: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("the Tokio runtime starts");
    let vendor = settings.directory.vendor_name.clone();
    let message = test_mail(&format!("{}:{}", mail.host, mail.port));
    match runtime.block_on(mailer.send(std::slice::from_ref(&to), Some(&vendor), &message)) {
        Ok(answer) => {
            println!(
                "sent a test message to {to} through {}:{}: {answer}",
                mail.host, mail.port
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("handoff: the test message to {to} was not sent: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `handoff healthcheck`: one plain HTTP/1.1 GET with a timeout on every
/// step; only a 200 is healthy.
fn healthcheck(url: Option<&str>, listen: &str) -> std::process::ExitCode {
    use std::io::{BufRead as _, Read as _, Write as _};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs as _};
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
    let url = if let Some(url) = url {
        url.to_owned()
    } else {
        let Ok(mut address) = listen.trim().parse::<SocketAddr>() else {
            eprintln!("handoff: HANDOFF_LISTEN: '{listen}' is not an address such as 0.0.0.0:8080");
            return std::process::ExitCode::from(2);
        };
        if address.ip().is_unspecified() {
            address.set_ip(match address.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        format!("http://{address}/healthz")
    };
    let parsed = match reqwest::Url::parse(&url) {
        Ok(parsed) if parsed.scheme() == "http" && parsed.host_str().is_some() => parsed,
        _ => {
            eprintln!("handoff: --url: '{url}' is not an http:// URL");
            return std::process::ExitCode::from(2);
        }
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let answer = (host, port)
        .to_socket_addrs()
        .and_then(|mut addresses| {
            addresses
                .next()
                .ok_or_else(|| std::io::Error::other("the host has no address"))
        })
        .and_then(|address| TcpStream::connect_timeout(&address, TIMEOUT))
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(TIMEOUT))?;
            stream.set_write_timeout(Some(TIMEOUT))?;
            let path = match parsed.query() {
                Some(query) => format!("{}?{query}", parsed.path()),
                None => parsed.path().to_owned(),
            };
            write!(
                stream,
                "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
            )?;
            let mut status_line = String::new();
            std::io::BufReader::new(stream.take(512)).read_line(&mut status_line)?;
            Ok(status_line)
        });
    match answer {
        Ok(line) if line.split(' ').nth(1) == Some("200") => std::process::ExitCode::SUCCESS,
        Ok(line) => {
            eprintln!("handoff: {url} answered {}", line.trim());
            std::process::ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("handoff: {url}: {error}");
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
