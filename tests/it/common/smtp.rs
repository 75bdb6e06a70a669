//! A real SMTP server for the mail tests: `aiosmtpd` (from the Python
//! package index) as a child process on a free port (plain, or with STARTTLS and a test certificate),
//! with a small handler that writes each message it takes, parsed by
//! Python's `email` package, as a JSON file into a folder the test reads.
//! A file in that folder makes it refuse messages with the answer it holds,
//! as a server that rejects mail does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{TestCertificates, free_port};

const HANDLER: &str = r#"
import email, json, os, time, uuid
from email import policy

class Saver:
    def __init__(self, folder):
        self.folder = folder

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refuse = os.path.join(self.folder, "refuse")
        if os.path.exists(refuse):
            with open(refuse) as answer:
                return answer.read().strip()
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {name.lower(): str(value) for name, value in message.items()},
            "text": plain.get_content() if plain is not None else None,
            "html": html.get_content() if html is not None else None,
            "raw": envelope.content.decode("utf-8", "replace"),
            "tls": bool(getattr(session, "ssl", None)),
        }
        inbox = os.path.join(self.folder, "inbox")
        name = os.path.join(inbox, "%d-%s.json" % (time.time_ns(), uuid.uuid4().hex))
        with open(name + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 stored as %s" % os.path.basename(name)
"#;

/// `aiosmtpd` on a free port, killed on drop.
pub struct SmtpServer {
    pub port: u16,
    folder: tempfile::TempDir,
    tls: Option<(String, String)>,
    child: Option<Child>,
}

impl SmtpServer {
    /// Plain SMTP on 127.0.0.1 (handoff allows no TLS only there).
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// STARTTLS, required before any mail, with `certificates`' server
    /// certificate (for localhost and 127.0.0.1).
    pub fn start_starttls(certificates: &TestCertificates) -> Self {
        Self::launch(Some((
            certificates.path("server.pem"),
            certificates.path("server.key"),
        )))
    }

    fn launch(tls: Option<(String, String)>) -> Self {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("handoff_smtp_sink.py"), HANDLER).unwrap();
        std::fs::create_dir(folder.path().join("inbox")).unwrap();
        let mut server = Self {
            port: free_port(),
            folder,
            tls,
            child: None,
        };
        server.start_again();
        server
    }

    /// Starts the server again on the same port (after [`SmtpServer::stop`]).
    pub fn start_again(&mut self) {
        let mut command = Command::new("aiosmtpd");
        command
            .env("PYTHONPATH", self.folder.path())
            .args(["-n", "-l", &format!("127.0.0.1:{}", self.port)])
            .args(["-c", "handoff_smtp_sink.Saver"]);
        if let Some((cert, key)) = &self.tls {
            command.args(["--tlscert", cert, "--tlskey", key]);
        }
        let child = command
            .arg(self.folder.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start aiosmtpd ({e}): install it with `pip install aiosmtpd==1.4.6` (./test.sh does)")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Answers every message with `answer` (e.g. `550 5.7.1 no`) until
    /// [`SmtpServer::accept`].
    pub fn refuse(&self, answer: &str) {
        std::fs::write(self.folder.path().join("refuse"), answer).unwrap();
    }

    pub fn accept(&self) {
        let _ = std::fs::remove_file(self.folder.path().join("refuse"));
    }

    fn inbox(&self) -> PathBuf {
        self.folder.path().join("inbox")
    }

    /// The messages taken so far, oldest first.
    pub fn received(&self) -> Vec<Value> {
        read_inbox(&self.inbox())
    }

    /// Waits up to `within` for at least `count` messages.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn read_inbox(inbox: &Path) -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(inbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
