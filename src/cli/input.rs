//! What the command line reads: a secret from standard input (never from
//! an argument, which `ps` shows), a passphrase from a file, the staff
//! token from `HANDOFF_TOKEN` or a file. All held in wiped buffers.

use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};

use zeroize::{Zeroize as _, Zeroizing};

use super::http::{Failure, Outcome};

/// More than any server takes (its limit is `HANDOFF_MAX_SECRET_BYTES`).
const MAX_INPUT: u64 = 1 << 20;

/// The secret on standard input, less one final line break (the one a
/// command such as `az … -o tsv` prints), as the API's raw-body mode does.
pub fn secret_from_stdin(command: &str) -> Outcome<Zeroizing<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::usage(format!(
            "handoff {command} reads the secret from standard input, never from an argument: \
             pipe it in (… | handoff {command}) or redirect a file (handoff {command} < file)"
        )));
    }
    let text = read_limited(stdin.lock(), "standard input")?;
    if text.is_empty() {
        return Err(Failure::usage(
            "standard input was empty: there is no secret to send",
        ));
    }
    Ok(text)
}

/// A link argument; `-` reads it from standard input instead, out of
/// sight of `ps` on a shared machine.
pub fn link_argument(argument: &str) -> Outcome<Zeroizing<String>> {
    if argument != "-" {
        return Ok(Zeroizing::new(argument.to_owned()));
    }
    if std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "'-' reads the link from standard input: pipe it in (handoff get - <<< \"$LINK\")",
        ));
    }
    let text = read_limited(std::io::stdin().lock(), "standard input")?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// A passphrase from `path`, less one final line break.
pub fn passphrase(path: Option<&Path>) -> Outcome<Option<Zeroizing<String>>> {
    let Some(path) = path else { return Ok(None) };
    let file = std::fs::File::open(path).map_err(|error| {
        Failure::usage(format!("--passphrase-file {}: {error}", path.display()))
    })?;
    let text = read_limited(file, "the passphrase file")?;
    if text.is_empty() {
        return Err(Failure::usage(format!(
            "--passphrase-file {} is empty",
            path.display()
        )));
    }
    Ok(Some(text))
}

/// The staff token: `--token-file`, else `HANDOFF_TOKEN`.
pub fn staff_token(file: Option<&PathBuf>) -> Outcome<Zeroizing<String>> {
    let token = match file {
        Some(path) => Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|error| {
                    Failure::usage(format!("--token-file {}: {error}", path.display()))
                })?
                .trim()
                .to_owned(),
        ),
        None => Zeroizing::new(
            std::env::var("HANDOFF_TOKEN")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
    };
    if token.is_empty() {
        return Err(Failure::usage(
            "staff commands need a staff token: set HANDOFF_TOKEN or pass --token-file (see handoff token new)",
        ));
    }
    Ok(token)
}

/// An optional staff token, for pushes to a server that requires one.
pub fn optional_staff_token(file: Option<&PathBuf>) -> Outcome<Option<Zeroizing<String>>> {
    if file.is_none() && std::env::var_os("HANDOFF_TOKEN").is_none_or(|t| t.is_empty()) {
        return Ok(None);
    }
    staff_token(file).map(Some)
}

fn read_limited(source: impl std::io::Read, what: &str) -> Outcome<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::new());
    source
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| Failure::usage(format!("cannot read {what}: {error}")))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Failure::usage(format!(
            "{what} holds more than {MAX_INPUT} bytes"
        )));
    }
    let mut text = match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Zeroizing::new(text),
        Err(error) => {
            error.into_bytes().zeroize();
            return Err(Failure::usage(format!("{what} is not UTF-8 text")));
        }
    };
    drop_final_line_break(&mut text);
    Ok(text)
}

/// Drops one final `\n` or `\r\n`, exactly as the server's raw-body mode.
pub fn drop_final_line_break(text: &mut String) {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_final_line_break_is_dropped() {
        for (given, kept) in [
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            ("s3cret\n\n", "s3cret\n"),
            (" s3cret ", " s3cret "),
        ] {
            let mut text = given.to_owned();
            drop_final_line_break(&mut text);
            assert_eq!(text, kept);
        }
    }
}
