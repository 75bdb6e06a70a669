//! What the command line prints on stdout: lines for people, or the
//! server's JSON as it came, for scripts.

use std::io::Write as _;

use super::http::{Answer, Outcome};

/// One line on stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn show(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// `--json`: the server's answer, byte for byte, ending in a line break.
pub fn print_json(answer: &Answer) -> Outcome<()> {
    let text = answer.text()?;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
    Ok(())
}
