//! `handoff answer` (a customer's rotation script) and `handoff request
//! new|list` (staff).

use std::path::PathBuf;

use serde_json::Value;

use super::http::{Api, Outcome};
use super::input;
use super::link::{self, Kind, Link};
use super::output::{print_json, show};

#[derive(clap::Args)]
pub struct AnswerArgs {
    /// The request link (`…/r/<id>#<key>`) the vendor sent.
    link: String,
    /// When the secret expires, as the Entra admin centre shows it
    /// (`2027-11-22`), or the duration picked there.
    #[arg(long, value_name = "DATE")]
    expires_on: Option<String>,
    /// The secret's Secret ID (a GUID; never the value), for the vendor's records.
    #[arg(long, value_name = "GUID")]
    secret_id: Option<String>,
    /// Print the server's JSON answer.
    #[arg(long)]
    json: bool,
}

/// The server's window is at most ten minutes; this only bounds the loop.
const MAX_ACTIVATION_CHECKS: usize = 120;

/// Sends the secret on stdin as the answer, in the API's `text/plain`
/// mode; prints what the server said about it.
pub fn answer(args: &AnswerArgs) -> Outcome<()> {
    let link = Link::parse(&args.link)?.expect(&[Kind::Submit], "answer")?;
    let secret = input::secret_from_stdin("answer")?;
    let api = Api::new(&link.server)?;
    let url = api.url(
        &format!("requests/{}/answer", link.id),
        &[
            ("expires_on", args.expires_on.as_deref()),
            ("secret_id", args.secret_id.as_deref()),
        ],
    );
    let send = || {
        api.send(
            api.post(url.clone())
                .header("Content-Type", "text/plain; charset=utf-8")
                .header("X-Handoff-Key", link.key.as_str())
                .body(secret.as_bytes().to_vec()),
        )
    };
    let mut answer = send()?;
    // 202: Microsoft has not yet taken a brand-new secret; the server says
    // when to send it again, and stops saying so when its window is over.
    for _ in 0..MAX_ACTIVATION_CHECKS {
        if answer.status != reqwest::StatusCode::ACCEPTED {
            break;
        }
        let activating: Value = answer.json()?;
        let wait = activating["retry_after_secs"]
            .as_u64()
            .unwrap_or(5)
            .clamp(1, 30);
        eprintln!(
            "handoff: Microsoft is still activating this new secret; checking again in {wait}s \
             (until {})",
            activating["until"].as_str().unwrap_or("the window ends")
        );
        std::thread::sleep(std::time::Duration::from_secs(wait));
        answer = send()?;
    }
    let body: Value = answer.json()?;
    if args.json {
        return print_json(&answer);
    }
    let message = body["verification"]["message"].as_str().unwrap_or_default();
    if body["verified"].as_bool() == Some(true) {
        show(&format!("Accepted and verified: {message}"));
    } else {
        show(&format!("Accepted, not verified: {message}"));
    }
    for notice in body["notices"].as_array().into_iter().flatten() {
        show(&format!("notice: {}", notice.as_str().unwrap_or_default()));
    }
    for warning in body["warnings"].as_array().into_iter().flatten() {
        show(&format!(
            "warning: {}",
            warning.as_str().unwrap_or_default()
        ));
    }
    match body["delivered"].as_bool() {
        Some(true) => show("Delivered to the vendor's configuration."),
        Some(false) => show("Kept for the vendor's staff, who will apply it."),
        None => {}
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum RequestCommand {
    /// Ask a tenant for a secret: prints the customer's link and yours.
    New(NewArgs),
    /// List every unexpired request with its state.
    List(ListArgs),
}

#[derive(clap::Args)]
pub struct Staff {
    /// The server, such as `https://handoff.example`.
    #[arg(long, env = "HANDOFF_URL")]
    pub url: Option<String>,
    /// A file holding the staff token [default: `HANDOFF_TOKEN`].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// The tenant, as in `[tenants.<tenant>]`.
    #[arg(long)]
    tenant: String,
    /// A note the customer sees.
    #[arg(long)]
    note: Option<String>,
    /// How long the request link works (`7d`, `48h`, seconds).
    #[arg(long)]
    ttl: Option<String>,
    /// Also mail the customer's link to the tenant's contacts.
    #[arg(long)]
    notify: bool,
    #[command(flatten)]
    staff: Staff,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    staff: Staff,
}

pub fn request(command: &RequestCommand) -> Outcome<()> {
    match command {
        RequestCommand::New(args) => new(args),
        RequestCommand::List(args) => list(args),
    }
}

fn new(args: &NewArgs) -> Outcome<()> {
    let token = input::staff_token(args.staff.token_file.as_ref())?;
    let api = Api::new(&link::server(args.staff.url.as_deref())?)?;
    let mut body = serde_json::json!({ "tenant": args.tenant });
    if let Some(note) = &args.note {
        body["note"] = note.as_str().into();
    }
    if let Some(ttl) = &args.ttl {
        body["ttl"] = ttl.as_str().into();
    }
    if args.notify {
        body["notify"] = true.into();
    }
    let answer = api.send(
        api.post(api.url("requests", &[]))
            .bearer_auth(token.as_str())
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )?;
    let created: Value = answer.json()?;
    if args.staff.json {
        return print_json(&answer);
    }
    let text = |field: &str| created[field].as_str().unwrap_or("-").to_owned();
    show(&format!(
        "Request {} for {}, until {}.",
        text("id"),
        text("tenant"),
        text("expires_at")
    ));
    show(&format!(
        "Submit link (send it to the customer):\n  {}",
        text("submit_url")
    ));
    show(&format!(
        "Retrieve link (yours alone; handoff get it once answered):\n  {}",
        text("retrieve_url")
    ));
    Ok(())
}

fn list(args: &ListArgs) -> Outcome<()> {
    let token = input::staff_token(args.staff.token_file.as_ref())?;
    let api = Api::new(&link::server(args.staff.url.as_deref())?)?;
    let answer = api.send(
        api.get(api.url("requests", &[]))
            .bearer_auth(token.as_str()),
    )?;
    let body: Value = answer.json()?;
    if args.staff.json {
        return print_json(&answer);
    }
    let requests = body["requests"].as_array().cloned().unwrap_or_default();
    if requests.is_empty() {
        show("No unexpired requests.");
        return Ok(());
    }
    show(&format!(
        "{:<24} {:<16} {:<10} {:>5}  {:<22} {}",
        "ID", "TENANT", "STATE", "TRIES", "VERIFICATION", "EXPIRES"
    ));
    for request in &requests {
        show(&format!(
            "{:<24} {:<16} {:<10} {:>5}  {:<22} {}",
            request["id"].as_str().unwrap_or("-"),
            request["tenant"]["slug"].as_str().unwrap_or("-"),
            request["state"].as_str().unwrap_or("-"),
            request["tries"],
            request["verification"]["code"].as_str().unwrap_or("-"),
            request["expires_at"].as_str().unwrap_or("-"),
        ));
    }
    Ok(())
}

/// A request as staff see it (`get --peek` on a retrieve link).
pub fn describe_request(body: &Value) {
    let text = |field: &str| body[field].as_str().unwrap_or("-").to_owned();
    show(&format!("id:           {}", text("id")));
    show(&format!(
        "tenant:       {}",
        body["tenant"]["slug"].as_str().unwrap_or("-")
    ));
    show(&format!("state:        {}", text("state")));
    show(&format!("note:         {}", text("note")));
    show(&format!("expires:      {}", text("expires_at")));
    show(&format!("answered:     {}", text("answered_at")));
    show(&format!(
        "verification: {}",
        body["verification"]["code"].as_str().unwrap_or("-")
    ));
    show(&format!("secret ends:  {}", text("expires_on")));
}
