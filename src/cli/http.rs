//! How the command line talks to a server: one client (rustls, no
//! redirects, timeouts), answers read into wiped buffers, the server's own
//! sentence for every refusal, and the exit codes scripts rely on.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use rand::rngs::SysRng;
use reqwest::{RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::outbound;

/// The exit codes, as the README documents them.
pub const REFUSED: u8 = 1;
pub const USAGE: u8 = 2;
pub const UNREACHABLE: u8 = 3;

/// One request's time limit. An answer waits at most for Microsoft's
/// 10-second verification; a reveal for one Argon2id.
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A reveal or retrieval is tried at most this often, within this time.
const ATTEMPTS: u32 = 5;
const RETRY_WINDOW: Duration = Duration::from_secs(60);
/// The server's `Retry-After` is honoured up to this long per wait.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// Why a command stopped: the exit code and a sentence for stderr, which
/// never holds a secret, a key or a token.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self {
            code: UNREACHABLE,
            message: message.into(),
        }
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// A server's answer: status, `Retry-After`, and the body in a buffer that
/// is wiped on drop (it may hold a secret).
pub struct Answer {
    pub status: StatusCode,
    retry_after: Option<Duration>,
    pub body: Zeroizing<Vec<u8>>,
}

impl Answer {
    /// The body as `T`, for a 2xx; the server's refusal otherwise.
    pub fn json<T: DeserializeOwned>(&self) -> Outcome<T> {
        self.ok()?;
        serde_json::from_slice(&self.body).map_err(|_| {
            Failure::unreachable(format!(
                "the server answered {} with a body this client does not understand; is the URL a handoff server?",
                self.status
            ))
        })
    }

    /// `Ok` for a 2xx; otherwise the server's sentence, exiting 3 for a
    /// 5xx (try again later) and 1 for anything else (refused or gone).
    pub fn ok(&self) -> Outcome<()> {
        if self.status.is_success() {
            return Ok(());
        }
        let code = if self.status.is_server_error() {
            UNREACHABLE
        } else {
            REFUSED
        };
        Err(Failure {
            code,
            message: self.refusal(),
        })
    }

    /// The server's `message`, with the tries left where it counts them.
    fn refusal(&self) -> String {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&self.body) else {
            return format!("the server answered {}", self.status);
        };
        let Some(message) = body["message"].as_str() else {
            return format!("the server answered {}", self.status);
        };
        let left = ["tries_remaining", "attempts_remaining"]
            .iter()
            .find_map(|field| body[*field].as_u64());
        match left {
            Some(left) => format!("{message} ({left} tries left)"),
            None => message.to_owned(),
        }
    }

    /// The server's error code (`outcome_unknown`, `not_found`…), if any.
    fn error_code(&self) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| body["error"].as_str().map(str::to_owned))
    }

    /// The body as text, for `--json`.
    pub fn text(&self) -> Outcome<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|_| Failure::unreachable("the server's answer is not UTF-8 text"))
    }
}

/// No answer: `unclear` when the request may have reached the server (a
/// timeout, a connection dropped mid-way), so its outcome is unknown.
struct NoAnswer {
    unclear: bool,
    message: String,
}

/// The API of one server.
pub struct Api {
    base: Url,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    /// The API under `server`, a base URL such as `https://handoff.example`.
    pub fn new(server: &Url) -> Outcome<Self> {
        let mut base = server.clone();
        base.set_query(None);
        base.set_fragment(None);
        let path = format!("{}/api/v1/", base.path().trim_end_matches('/'));
        base.set_path(&path);
        outbound::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("handoff-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                Failure::unreachable(format!(
                    "cannot set up HTTPS: {}",
                    outbound::error_chain(&error)
                ))
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| Failure::unreachable(format!("cannot start: {error}")))?;
        Ok(Self {
            base,
            http,
            runtime,
        })
    }

    /// The API URL of `path` (`secrets/<id>`), with `query` pairs.
    pub fn url(&self, path: &str, query: &[(&str, Option<&str>)]) -> Url {
        // `path` is built from parsed ids and fixed words: it always joins.
        let mut url = self.base.join(path).unwrap_or_else(|_| self.base.clone());
        let pairs: Vec<_> = query
            .iter()
            .filter_map(|(name, value)| value.map(|value| (*name, value)))
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url
    }

    pub fn get(&self, url: Url) -> RequestBuilder {
        self.http.get(url)
    }

    pub fn post(&self, url: Url) -> RequestBuilder {
        self.http.post(url)
    }

    pub fn delete(&self, url: Url) -> RequestBuilder {
        self.http.delete(url)
    }

    /// Sends once; no answer is exit 3.
    pub fn send(&self, request: RequestBuilder) -> Outcome<Answer> {
        self.runtime
            .block_on(send(request))
            .map_err(|no| Failure::unreachable(no.message))
    }

    /// Sends a reveal or a retrieval with an `Idempotency-Key`, and sends it
    /// again with the same key while the outcome is unclear (a timeout, a
    /// dropped connection, a 502/503/504 such as `outcome_unknown`): at most
    /// [`ATTEMPTS`] times within [`RETRY_WINDOW`]. A connection refused at
    /// the first try reached nothing and is not retried.
    pub fn send_idempotent(&self, request: impl Fn() -> RequestBuilder) -> Outcome<Answer> {
        let key = idempotency_key();
        let deadline = Instant::now() + RETRY_WINDOW;
        let mut backoff = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let sent = self
                .runtime
                .block_on(send(request().header("Idempotency-Key", &key)));
            let (why, wait) = match sent {
                Ok(answer) if retryable(answer.status) => {
                    let why = answer
                        .error_code()
                        .unwrap_or_else(|| answer.status.to_string());
                    let wait = answer.retry_after.map_or(backoff, |w| w.min(LONGEST_WAIT));
                    if attempt >= ATTEMPTS || Instant::now() + wait >= deadline {
                        return Ok(answer);
                    }
                    (why, wait)
                }
                Ok(answer) => return Ok(answer),
                // Refused at the first try, nothing was sent; a server that
                // goes away after an unclear try may be restarting.
                Err(no) if (!no.unclear && attempt == 1) || attempt >= ATTEMPTS => {
                    return Err(Failure::unreachable(no.message));
                }
                Err(no) => {
                    if Instant::now() + backoff >= deadline {
                        return Err(Failure::unreachable(no.message));
                    }
                    (no.message, backoff)
                }
            };
            eprintln!(
                "handoff: no clear answer ({why}); trying again with the same idempotency key in {} ms",
                wait.as_millis()
            );
            std::thread::sleep(wait);
            backoff = (backoff * 2).min(LONGEST_WAIT);
            attempt += 1;
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

async fn send(request: RequestBuilder) -> Result<Answer, NoAnswer> {
    let no_answer = |error: &reqwest::Error| NoAnswer {
        unclear: !error.is_connect(),
        message: outbound::describe_failure(error, TIMEOUT),
    };
    let response = request.send().await.map_err(|e| no_answer(&e))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .map(Duration::from_secs);
    let body = Zeroizing::new(response.bytes().await.map_err(|e| no_answer(&e))?.to_vec());
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// 16 random bytes, base64url: a fresh key for each command.
fn idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}
