//! Closed-loop load generator for the handoff JSON API.
//!
//! ```text
//! cargo run --release --example loadgen -- --url http://127.0.0.1:18080 \
//!     --mode handoff --connections 32 --duration 10s
//! ```
//!
//! Opens exactly `--connections` keep-alive HTTP/1.1 connections, one task
//! each, and has every task send its next request as soon as the previous
//! answer is read. Throughput is therefore what the server sustains at that
//! concurrency, and latency is the time one request takes under it.
//!
//! * `create`: one `POST /api/v1/secrets` per iteration.
//! * `handoff`: create, then the metadata `GET`, then the reveal `POST`,
//!   checking that the revealed secret is the one that was sent.
//!
//! It only ever talks to the `--url` it is given, and refuses one that is not
//! a loopback address: it is a benchmark tool, not a way to load someone
//! else's server.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

/// A request that takes longer than this is counted as a timeout and its
/// connection replaced; it also bounds how long a run can overstay `--duration`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed connect, so a stopped server is not hammered in a spin.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

#[derive(Parser)]
#[command(about = "Closed-loop load generator for the handoff JSON API (loopback servers only)")]
struct Args {
    /// Base URL of the server under test; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// What one iteration does.
    #[arg(long, value_enum, default_value_t = Mode::Create)]
    mode: Mode,
    /// Keep-alive connections, each driven by its own task.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    connections: u16,
    /// How long to measure, e.g. `10s`, `500ms`, `1m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load applied before measuring starts, not counted.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Size of each secret in bytes.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    secret_bytes: u32,
    /// Stop after this many iterations in all (creates, or handoffs),
    /// within `--duration`; for filling a store with a known number of
    /// secrets (bench/redis-memory.sh).
    #[arg(long)]
    iterations: Option<u64>,
    /// Push every secret with this passphrase, and reveal with it: each
    /// create and each reveal then costs one Argon2id derivation.
    #[arg(long)]
    passphrase: Option<String>,
    /// Runtime threads for the load generator. One is usually enough and
    /// leaves the other cores to the server (and its store) on a small machine.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// `POST /api/v1/secrets` only.
    Create,
    /// Create, read metadata, reveal; the full life of a one-view secret.
    Handoff,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 10s, 500ms or 1m"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit '{unit}' in '{text}': use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("'{text}': {e}"))
}

/// Where to send requests, resolved and checked once.
struct Target {
    addr: SocketAddr,
    /// For the `Host` header.
    authority: String,
    /// `<base path>/api/v1/secrets`.
    secrets_path: String,
}

async fn resolve_target(url: &str) -> Result<Target, String> {
    let uri: Uri = url.parse().map_err(|e| format!("--url '{url}': {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "--url '{url}': only http:// is supported (the server under test listens on loopback without TLS)"
        ));
    }
    if uri.query().is_some() {
        return Err(format!(
            "--url '{url}': give the server's base URL, without a query"
        ));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--url '{url}': no host"))?;
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("--url '{url}': cannot resolve {host}: {e}"))?
            .collect(),
    };
    // Every address must be loopback, not just the first: a name that also
    // resolves elsewhere is not one we should be loading.
    if let Some(outside) = addrs.iter().find(|addr| !addr.ip().is_loopback()) {
        let what = if outside.ip().to_string() == host {
            format!("{host} is not a loopback address")
        } else {
            format!(
                "{host} resolves to {}, which is not a loopback address",
                outside.ip()
            )
        };
        return Err(format!(
            "refusing --url '{url}': {what}; loadgen only loads a server on this machine \
             (127.0.0.0/8, ::1 or localhost)"
        ));
    }
    let addr = *addrs
        .first()
        .ok_or_else(|| format!("--url '{url}': {host} resolves to no address"))?;
    Ok(Target {
        addr,
        authority: authority.as_str().to_owned(),
        secrets_path: format!("{}/api/v1/secrets", uri.path().trim_end_matches('/')),
    })
}

/// The requests one iteration can make; latencies are kept per step.
#[derive(Clone, Copy)]
enum Step {
    Create = 0,
    Metadata = 1,
    Reveal = 2,
}

const STEPS: [(Step, &str); 3] = [
    (Step::Create, "create"),
    (Step::Metadata, "metadata"),
    (Step::Reveal, "reveal"),
];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ErrorKind {
    /// An HTTP status other than the one the API promises for success.
    Status(u16),
    /// The TCP connect or HTTP handshake failed.
    Connect,
    /// The connection broke mid-request.
    Connection,
    Timeout,
    /// The answer had the right status but not the expected JSON.
    BadBody,
    /// The revealed secret differs from the one created.
    Mismatch,
}

impl ErrorKind {
    /// Whether the connection can still be used after this error.
    fn keeps_connection(self) -> bool {
        matches!(self, Self::Status(_) | Self::BadBody | Self::Mismatch)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(code) => write!(f, "status {code}"),
            Self::Connect => f.write_str("connect"),
            Self::Connection => f.write_str("connection"),
            Self::Timeout => f.write_str("timeout"),
            Self::BadBody => f.write_str("bad body"),
            Self::Mismatch => f.write_str("mismatch"),
        }
    }
}

/// What one connection task measured. Latencies are microseconds per
/// successful request: a plain vector, merged and sorted at the end, is
/// exact and small enough (4 bytes a sample) for runs of a few million.
struct Stats {
    latencies_us: [Vec<u32>; 3],
    errors: BTreeMap<ErrorKind, u64>,
    handoffs: u64,
}

impl Stats {
    fn new() -> Self {
        Self {
            latencies_us: std::array::from_fn(|_| Vec::with_capacity(16 * 1024)),
            errors: BTreeMap::new(),
            handoffs: 0,
        }
    }

    /// Records one request's outcome; nothing is recorded during warm-up.
    fn record<T>(
        &mut self,
        recording: bool,
        step: Step,
        started: Instant,
        outcome: Result<T, ErrorKind>,
    ) -> Option<T> {
        if recording {
            match &outcome {
                Ok(_) => {
                    let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                    self.latencies_us[step as usize].push(micros);
                }
                Err(kind) => *self.errors.entry(*kind).or_default() += 1,
            }
        }
        outcome.ok()
    }

    fn merge(&mut self, other: Self) {
        for (mine, theirs) in self.latencies_us.iter_mut().zip(other.latencies_us) {
            mine.extend(theirs);
        }
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
        self.handoffs += other.handoffs;
    }
}

/// Settings every connection task shares.
struct Run {
    target: Target,
    mode: Mode,
    secret_bytes: usize,
    passphrase: Option<String>,
    /// Requests that start before this are warm-up.
    measure_from: Instant,
    /// No iteration starts at or after this.
    end: Instant,
    /// Iterations left, when their number is bounded.
    budget: Option<std::sync::atomic::AtomicU64>,
}

/// One keep-alive connection, (re)opened lazily.
struct Connection {
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    async fn open(target: &Target) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // Requests are small and latency-bound: do not let Nagle hold them.
        stream.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // The connection future does the actual I/O; it ends when `sender`
        // is dropped or the server closes. Its error also reaches `sender`.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends one request and reads the whole answer.
    async fn send(
        &mut self,
        target: &Target,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), ErrorKind> {
        let attempt = async {
            let sender = match &mut self.sender {
                Some(sender) => sender,
                None => self.sender.insert(Self::open(target).await?),
            };
            sender.ready().await.map_err(|_| ErrorKind::Connection)?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|_| ErrorKind::Connection)?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|_| ErrorKind::Connection)?
                .to_bytes();
            Ok((status, body))
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, attempt)
            .await
            .unwrap_or(Err(ErrorKind::Timeout));
        if let Err(kind) = outcome
            && !kind.keeps_connection()
        {
            // Broken, or left mid-request by a timeout: start afresh.
            self.sender = None;
        }
        outcome
    }
}

/// A request to `path`; fails (as a bad answer) if the path is not valid,
/// which can only happen with an id the server made up.
fn request(
    target: &Target,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<Request<Full<Bytes>>, ErrorKind> {
    // hyper's connection-level client sends the URI as given, so it must be
    // the origin form (the path), and it adds no `Host` header of its own.
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, &target.authority);
    let built = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body))),
        None => builder.body(Full::new(Bytes::new())),
    };
    built.map_err(|_| ErrorKind::BadBody)
}

fn expect_status(got: StatusCode, want: StatusCode) -> Result<(), ErrorKind> {
    if got == want {
        Ok(())
    } else {
        Err(ErrorKind::Status(got.as_u16()))
    }
}

#[derive(Deserialize)]
struct CreatedBody {
    id: String,
    url: String,
}

#[derive(Deserialize)]
struct RevealedBody {
    secret: String,
}

/// The link's id and key (the key is the URL fragment).
async fn create(
    conn: &mut Connection,
    run: &Run,
    secret: &str,
) -> Result<(String, String), ErrorKind> {
    let mut body = serde_json::json!({ "secret": secret, "ttl": "1h", "views": 1 });
    if let Some(passphrase) = &run.passphrase {
        body["passphrase"] = passphrase.as_str().into();
    }
    let body = serde_json::to_vec(&body).expect("a JSON value serializes");
    let request = request(
        &run.target,
        Method::POST,
        &run.target.secrets_path,
        Some(body),
    )?;
    let (status, body) = conn.send(&run.target, request).await?;
    expect_status(status, StatusCode::CREATED)?;
    let created: CreatedBody = serde_json::from_slice(&body).map_err(|_| ErrorKind::BadBody)?;
    let (_, key) = created.url.split_once('#').ok_or(ErrorKind::BadBody)?;
    Ok((created.id, key.to_owned()))
}

async fn metadata(conn: &mut Connection, run: &Run, id: &str, key: &str) -> Result<(), ErrorKind> {
    let mut request = request(
        &run.target,
        Method::GET,
        &format!("{}/{id}", run.target.secrets_path),
        None,
    )?;
    request.headers_mut().insert(
        "x-handoff-key",
        key.parse().map_err(|_| ErrorKind::BadBody)?,
    );
    let (status, _) = conn.send(&run.target, request).await?;
    expect_status(status, StatusCode::OK)
}

async fn reveal(
    conn: &mut Connection,
    run: &Run,
    id: &str,
    key: &str,
    expected: &str,
) -> Result<(), ErrorKind> {
    let mut body = serde_json::json!({ "key": key });
    if let Some(passphrase) = &run.passphrase {
        body["passphrase"] = passphrase.as_str().into();
    }
    let body = serde_json::to_vec(&body).expect("a JSON value serializes");
    let path = format!("{}/{id}/reveal", run.target.secrets_path);
    let request = request(&run.target, Method::POST, &path, Some(body))?;
    let (status, body) = conn.send(&run.target, request).await?;
    expect_status(status, StatusCode::OK)?;
    let revealed: RevealedBody = serde_json::from_slice(&body).map_err(|_| ErrorKind::BadBody)?;
    if revealed.secret == expected {
        Ok(())
    } else {
        Err(ErrorKind::Mismatch)
    }
}

/// A secret of exactly `len` bytes, unique per task and iteration so that a
/// reveal answering with someone else's secret is caught.
fn make_secret(task: u16, iteration: u64, len: usize) -> String {
    let mut secret = format!("t{task}-i{iteration}-");
    let filler = b"abcdefghijklmnopqrstuvwxyz0123456789";
    while secret.len() < len {
        secret.push(char::from(filler[secret.len() % filler.len()]));
    }
    secret.truncate(len);
    secret
}

/// One connection's closed loop, until the run ends.
async fn drive(run: Arc<Run>, task: u16) -> Stats {
    let mut stats = Stats::new();
    let mut conn = Connection { sender: None };
    let mut iteration: u64 = 0;
    loop {
        let started = Instant::now();
        if started >= run.end {
            break;
        }
        if let Some(budget) = &run.budget
            && budget
                .fetch_update(
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                    |left| left.checked_sub(1),
                )
                .is_err()
        {
            break;
        }
        // An iteration counts as a whole, by when it starts, so a handoff is
        // never split between warm-up and measurement.
        let recording = started >= run.measure_from;
        iteration += 1;
        let secret = make_secret(task, iteration, run.secret_bytes);

        let outcome = create(&mut conn, &run, &secret).await;
        let failed_to_connect = outcome == Err(ErrorKind::Connect);
        let created = stats.record(recording, Step::Create, started, outcome);
        if run.mode == Mode::Handoff
            && let Some((id, key)) = created
        {
            let step_start = Instant::now();
            let outcome = metadata(&mut conn, &run, &id, &key).await;
            let ok = stats
                .record(recording, Step::Metadata, step_start, outcome)
                .is_some();
            let step_start = Instant::now();
            // Reveal even if the metadata read failed: it is independent, and
            // it keeps the store from filling with unrevealed secrets.
            let outcome = reveal(&mut conn, &run, &id, &key, &secret).await;
            let revealed = stats
                .record(recording, Step::Reveal, step_start, outcome)
                .is_some();
            if recording && ok && revealed {
                stats.handoffs += 1;
            }
        }
        if failed_to_connect {
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    }
    stats
}

/// Nearest-rank percentile of sorted samples, `per_100k` parts in 100,000.
fn percentile(sorted: &[u32], per_100k: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * per_100k).div_ceil(100_000).max(1);
    sorted[rank - 1]
}

fn latency_line(sorted: &[u32]) -> String {
    let ms = |micros: u32| f64::from(micros) / 1000.0;
    format!(
        "p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
        ms(percentile(sorted, 50_000)),
        ms(percentile(sorted, 99_000)),
        ms(percentile(sorted, 99_900)),
        ms(sorted.last().copied().unwrap_or(0)),
    )
}

#[allow(clippy::cast_precision_loss)] // counts stay far below 2^52
fn per_second(count: u64, seconds: f64) -> f64 {
    count as f64 / seconds
}

/// This process's user + system CPU time, from `/proc/self/stat` (Linux).
fn own_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, so the 12th and 13th here.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // Clock ticks: USER_HZ, which Linux fixes at 100 for user space.
    Some(Duration::from_millis((utime + stime) * 10))
}

async fn run(args: Args) -> Result<bool, String> {
    let target = resolve_target(&args.url).await?;
    let secret_bytes = usize::try_from(args.secret_bytes).expect("u32 fits in usize");
    let began = Instant::now();
    let measure_from = began + args.warmup;
    let run = Arc::new(Run {
        target,
        mode: args.mode,
        secret_bytes,
        passphrase: args.passphrase.clone(),
        measure_from,
        end: measure_from + args.duration,
        budget: args.iterations.map(std::sync::atomic::AtomicU64::new),
    });

    let tasks: Vec<_> = (0..args.connections)
        .map(|task| tokio::spawn(drive(Arc::clone(&run), task)))
        .collect();
    let mut total = Stats::new();
    for task in tasks {
        total.merge(
            task.await
                .map_err(|e| format!("a connection task failed: {e}"))?,
        );
    }
    let wall = began.elapsed();
    for samples in &mut total.latencies_us {
        samples.sort_unstable();
    }

    let seconds = args.duration.as_secs_f64();
    let ok: u64 = total
        .latencies_us
        .iter()
        .map(|samples| samples.len() as u64)
        .sum();
    let failed: u64 = total.errors.values().sum();
    let mut all: Vec<u32> = total.latencies_us.concat();
    all.sort_unstable();

    let mode = match args.mode {
        Mode::Create => "create",
        Mode::Handoff => "handoff (create, metadata, reveal)",
    };
    println!("mode         {mode}");
    println!("target       {} ({})", args.url, run.target.addr);
    println!("connections  {}", args.connections);
    println!(
        "duration     {:.2} s measured, after {:.2} s warm-up",
        seconds,
        args.warmup.as_secs_f64()
    );
    println!(
        "secret       {secret_bytes} bytes{}",
        if args.passphrase.is_some() {
            ", with a passphrase"
        } else {
            ""
        }
    );
    println!(
        "requests     {ok} ok, {failed} failed, {:.1} ok/s",
        per_second(ok, seconds)
    );
    if args.mode == Mode::Handoff {
        println!(
            "handoffs     {} complete, {:.1}/s",
            total.handoffs,
            per_second(total.handoffs, seconds)
        );
    }
    println!("latency      {}", latency_line(&all));
    if args.mode == Mode::Handoff {
        for (step, name) in STEPS {
            println!(
                "  {name:<10} {}",
                latency_line(&total.latencies_us[step as usize])
            );
        }
    }
    if total.errors.is_empty() {
        println!("errors       none");
    } else {
        let errors: Vec<String> = total
            .errors
            .iter()
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        println!("errors       {}", errors.join(", "));
    }
    if let Some(cpu) = own_cpu_time() {
        println!(
            "loadgen cpu  {:.2} s, {:.0}% of one core",
            cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
        );
    }
    Ok(ok > 0)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = if args.threads == 1 {
        // All tasks on this thread: no cross-thread wake-ups, and the
        // generator costs at most one core.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.threads))
            .enable_all()
            .build()
    }
    .expect("the Tokio runtime starts");
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("loadgen: every request failed");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::from(2)
        }
    }
}
