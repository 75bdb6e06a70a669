//! The `handoff` command line's client side: subcommands that talk to a
//! server over its JSON API, for rotation scripts and staff. The server
//! comes from the link itself, or `HANDOFF_URL`; a secret comes only from
//! standard input and goes only to standard output.
//!
//! Exit codes: 0 done; 1 refused or gone (the server's sentence on
//! stderr); 2 usage; 3 unreachable, no answer in time, or a server error.

mod audit;
mod http;
mod input;
mod link;
mod output;
mod requests;
mod secrets;

use std::process::ExitCode;

/// The client subcommands, flattened into the binary's own.
#[derive(clap::Subcommand)]
pub enum ClientCommand {
    /// Push a secret read from standard input; print its link.
    Push(secrets::PushArgs),
    /// Reveal a secret (or retrieve a request's answer) and print it, byte
    /// for byte; `--peek` only looks.
    Get(secrets::GetArgs),
    /// Answer a request link with the secret on standard input.
    Answer(requests::AnswerArgs),
    /// A pushed secret's status, from its manage link.
    Status(secrets::StatusArgs),
    /// Delete a secret now, by its link or its manage link.
    Delete(secrets::DeleteArgs),
    /// Staff: request links.
    #[command(subcommand)]
    Request(requests::RequestCommand),
    /// Staff: the audit trail.
    Audit(audit::AuditArgs),
}

/// Runs one client command; its failure is one line on stderr.
#[must_use]
pub fn run(command: &ClientCommand) -> ExitCode {
    let outcome = match command {
        ClientCommand::Push(args) => secrets::push(args),
        ClientCommand::Get(args) => secrets::get(args),
        ClientCommand::Answer(args) => requests::answer(args),
        ClientCommand::Status(args) => secrets::status(args),
        ClientCommand::Delete(args) => secrets::delete(args),
        ClientCommand::Request(command) => requests::request(command),
        ClientCommand::Audit(args) => audit::audit(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("handoff: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
