//! `handoff push`, `get`, `status` and `delete`: a secret's life, from the
//! sender's pipe to the recipient's stdout.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Api, Failure, Outcome};
use super::input;
use super::link::{self, Kind, Link};
use super::output::{print_json, show};

#[derive(clap::Args)]
pub struct PushArgs {
    /// How long the link works: seconds, or `90m`, `24h`, `7d` [default:
    /// the server's `HANDOFF_DEFAULT_TTL`].
    #[arg(long)]
    ttl: Option<String>,
    /// How many reveals the link allows [default: 1].
    #[arg(long)]
    views: Option<u32>,
    /// Also require this passphrase (read from a file; one final line break
    /// is dropped) to reveal.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// A note the recipient sees before revealing (never secret).
    #[arg(long)]
    note: Option<String>,
    /// The server, such as `https://handoff.example`.
    #[arg(long, env = "HANDOFF_URL")]
    url: Option<String>,
    /// A staff token file, for a server that lets only staff push
    /// [default: `HANDOFF_TOKEN`, if set].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the server's JSON answer instead of the link.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct CreateBody<'a> {
    secret: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    views: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

#[derive(Deserialize)]
struct Created {
    url: String,
    manage_url: String,
    expires_at: String,
}

/// Reads the secret from stdin; prints the link on stdout and the manage
/// link on stderr.
pub fn push(args: &PushArgs) -> Outcome<()> {
    let server = link::server(args.url.as_deref())?;
    let token = input::optional_staff_token(args.token_file.as_ref())?;
    let passphrase = input::passphrase(args.passphrase_file.as_deref())?;
    let secret = input::secret_from_stdin("push")?;
    let api = Api::new(&server)?;
    let body = zeroize::Zeroizing::new(
        serde_json::to_vec(&CreateBody {
            secret: &secret,
            ttl: args.ttl.as_deref(),
            views: args.views,
            passphrase: passphrase.as_deref().map(String::as_str),
            note: args.note.as_deref(),
        })
        .map_err(|_| Failure::usage("the secret cannot be sent as JSON"))?,
    );
    let mut request = api
        .post(api.url("secrets", &[]))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(token) = &token {
        request = request.bearer_auth(token.as_str());
    }
    let answer = api.send(request)?;
    let created: Created = answer.json()?;
    if args.json {
        return print_json(&answer);
    }
    show(&created.url);
    eprintln!(
        "Expires {}. Manage link (status and delete; keep it to yourself):\n  {}",
        created.expires_at, created.manage_url
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct GetArgs {
    /// The secret's link (`…/s/<id>#<key>`), or a staff retrieve link
    /// (`…/staff/requests/<id>#<key>`, with the staff token); `-` reads it
    /// from standard input.
    link: String,
    /// The passphrase, if the secret has one (read from a file).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Print what the server tells about the link, and consume nothing.
    #[arg(long)]
    peek: bool,
    /// A staff token file, for a retrieve link [default: `HANDOFF_TOKEN`].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the server's JSON answer (with the secret in it).
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct RevealBody<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<&'a str>,
}

#[derive(Deserialize)]
struct Revealed {
    secret: SecretString,
}

/// Prints the secret byte for byte (a line break is added only on a
/// terminal), or with `--peek` what the link holds.
pub fn get(args: &GetArgs) -> Outcome<()> {
    let link = Link::parse(&input::link_argument(&args.link)?)?.expect(
        if args.peek {
            &[Kind::Secret, Kind::Submit, Kind::Retrieve]
        } else {
            &[Kind::Secret, Kind::Retrieve]
        },
        "get",
    )?;
    let token = match link.kind {
        Kind::Retrieve => Some(input::staff_token(args.token_file.as_ref())?),
        _ => None,
    };
    let passphrase = input::passphrase(args.passphrase_file.as_deref())?;
    let api = Api::new(&link.server)?;
    let id = &link.id;
    if args.peek {
        let request = match link.kind {
            Kind::Retrieve => api
                .get(api.url(&format!("requests/{id}/details"), &[]))
                .bearer_auth(token.as_deref().map_or("", String::as_str)),
            Kind::Submit => api
                .get(api.url(&format!("requests/{id}"), &[]))
                .header("X-Handoff-Key", link.key.as_str()),
            _ => api
                .get(api.url(&format!("secrets/{id}"), &[]))
                .header("X-Handoff-Key", link.key.as_str()),
        };
        let answer = api.send(request)?;
        let body: Value = answer.json()?;
        if args.json {
            return print_json(&answer);
        }
        describe(link.kind, &body);
        return Ok(());
    }
    let (url, body) = match link.kind {
        Kind::Retrieve => (
            api.url(&format!("requests/{id}/retrieve"), &[]),
            RevealBody {
                key: &link.key,
                passphrase: None,
            },
        ),
        _ => (
            api.url(&format!("secrets/{id}/reveal"), &[]),
            RevealBody {
                key: &link.key,
                passphrase: passphrase.as_deref().map(String::as_str),
            },
        ),
    };
    let body = zeroize::Zeroizing::new(
        serde_json::to_vec(&body).map_err(|_| Failure::usage("the key cannot be sent"))?,
    );
    let answer = api.send_idempotent(|| {
        let request = api
            .post(url.clone())
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        match &token {
            Some(token) => request.bearer_auth(token.as_str()),
            None => request,
        }
    })?;
    let revealed: Revealed = answer.json()?;
    if args.json {
        return print_json(&answer);
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(revealed.secret.expose_secret().as_bytes())
        .and_then(|()| {
            if stdout.is_terminal() {
                stdout.write_all(b"\n")?;
            }
            stdout.flush()
        });
    written.map_err(|error| Failure::usage(format!("cannot write to standard output: {error}")))
}

/// `--peek`: the metadata, a line a field.
fn describe(kind: Kind, body: &Value) {
    let text = |field: &str| body[field].as_str().unwrap_or("-").to_owned();
    match kind {
        Kind::Secret => {
            show(&format!("id:         {}", text("id")));
            show(&format!("note:       {}", text("note")));
            show(&format!("created:    {}", text("created_at")));
            show(&format!("expires:    {}", text("expires_at")));
            show(&format!(
                "views left: {} of {}",
                body["views_remaining"], body["views_allowed"]
            ));
            let passphrase = body["passphrase_required"].as_bool() == Some(true);
            show(&format!(
                "passphrase: {}",
                if passphrase { "required" } else { "none" }
            ));
        }
        Kind::Submit => {
            show(&format!("vendor:     {}", text("vendor_name")));
            show(&format!(
                "tenant:     {} ({})",
                body["tenant"]["name"].as_str().unwrap_or("-"),
                body["tenant"]["entra_tenant"].as_str().unwrap_or("-")
            ));
            show(&format!(
                "app:        {}",
                body["tenant"]["client_id"].as_str().unwrap_or("-")
            ));
            show(&format!("note:       {}", text("note")));
            show(&format!("state:      {}", text("state")));
            show(&format!("expires:    {}", text("expires_at")));
            show(&format!("tries left: {}", body["tries_remaining"]));
        }
        Kind::Retrieve | Kind::Manage => super::requests::describe_request(body),
    }
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The manage link (`…/m/<id>#<token>`) that `push` printed; `-` reads
    /// it from standard input.
    link: String,
    /// Print the server's JSON answer.
    #[arg(long)]
    json: bool,
}

/// The sender's view: state, views, failed passphrases.
pub fn status(args: &StatusArgs) -> Outcome<()> {
    let link =
        Link::parse(&input::link_argument(&args.link)?)?.expect(&[Kind::Manage], "status")?;
    let api = Api::new(&link.server)?;
    let answer = api.send(
        api.get(api.url(&format!("secrets/{}/status", link.id), &[]))
            .bearer_auth(link.key.as_str()),
    )?;
    let body: Value = answer.json()?;
    if args.json {
        return print_json(&answer);
    }
    let text = |field: &str| body[field].as_str().unwrap_or("-").to_owned();
    show(&format!("id:         {}", text("id")));
    show(&format!("state:      {}", text("state")));
    show(&format!("created:    {}", text("created_at")));
    show(&format!("expires:    {}", text("expires_at")));
    if let Some(ended) = body["ended_at"].as_str() {
        show(&format!("ended:      {ended}"));
    }
    show(&format!(
        "views left: {} of {}",
        body["views_remaining"], body["views_allowed"]
    ));
    show(&format!(
        "failed passphrases: {}",
        body["failed_passphrases"]
    ));
    for view in body["views"].as_array().into_iter().flatten() {
        show(&format!(
            "revealed:   {}  {}  {}",
            view["at"].as_str().unwrap_or("-"),
            view["ip"].as_str().unwrap_or("-"),
            view["user_agent"].as_str().unwrap_or("-")
        ));
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    /// The secret's link (`…/s/<id>#<key>`) or its manage link
    /// (`…/m/<id>#<token>`); `-` reads it from standard input.
    link: String,
    /// Print nothing (the server answers 204 without a body).
    #[arg(long)]
    json: bool,
}

/// Deletes a secret now, by its link or its manage link.
pub fn delete(args: &DeleteArgs) -> Outcome<()> {
    let link = Link::parse(&input::link_argument(&args.link)?)?
        .expect(&[Kind::Secret, Kind::Manage], "delete")?;
    let api = Api::new(&link.server)?;
    let request = api.delete(api.url(&format!("secrets/{}", link.id), &[]));
    let request = match link.kind {
        Kind::Manage => request.bearer_auth(link.key.as_str()),
        _ => request.header("X-Handoff-Key", link.key.as_str()),
    };
    api.send(request)?.ok()?;
    if !args.json {
        show(&format!("Deleted {}.", link.id));
    }
    Ok(())
}
