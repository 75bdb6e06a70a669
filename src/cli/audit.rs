//! `handoff audit`: the audit trail, for staff.

use serde_json::Value;

use super::http::{Api, Outcome};
use super::input;
use super::link;
use super::output::{print_json, show};
use super::requests::Staff;

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Only this tenant's events.
    #[arg(long)]
    tenant: Option<String>,
    /// From (a date, an RFC 3339 time or Unix seconds) [default: 7 days ago].
    #[arg(long)]
    since: Option<String>,
    /// Until [default: now].
    #[arg(long)]
    until: Option<String>,
    /// At most this many events, newest first (up to 1000) [default: 200].
    #[arg(long)]
    limit: Option<u32>,
    #[command(flatten)]
    staff: Staff,
}

pub fn audit(args: &AuditArgs) -> Outcome<()> {
    let token = input::staff_token(args.staff.token_file.as_ref())?;
    let api = Api::new(&link::server(args.staff.url.as_deref())?)?;
    let limit = args.limit.map(|limit| limit.to_string());
    let url = api.url(
        "audit",
        &[
            ("tenant", args.tenant.as_deref()),
            ("since", args.since.as_deref()),
            ("until", args.until.as_deref()),
            ("limit", limit.as_deref()),
        ],
    );
    let answer = api.send(api.get(url).bearer_auth(token.as_str()))?;
    let body: Value = answer.json()?;
    if args.staff.json {
        return print_json(&answer);
    }
    for event in body["events"].as_array().into_iter().flatten() {
        let field = |name: &str| event[name].as_str().unwrap_or("-").to_owned();
        show(&format!(
            "{}  {:<26} {:<16} {:<24} {:<12} {}",
            field("at"),
            field("kind"),
            field("actor"),
            field("subject"),
            field("tenant"),
            field("detail"),
        ));
    }
    Ok(())
}
