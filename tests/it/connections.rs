//! Abuse the server as an attacker would, within bounds it must keep: idle,
//! slowloris and slow-body connections at a systemd unit's 1024 open files, and a
//! burst of passphrase pushes (Argon2id, 19 MiB each). The real binary runs
//! as its own process, so its descriptors and memory are its own.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::{self, ServerProcess};

/// Connections that connect and send nothing.
const IDLE: usize = 1100;
/// Connections that send a request header a byte at a time.
const SLOWLORIS: usize = 60;
/// Connections that send their headers, then the body a byte at a time.
const SLOW_BODY: usize = 20;
/// Far beyond the short timeouts below: only a server that never closes
/// the connections reaches it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// Waits until the server closes `stream` (end of file, or a reset), and
/// says when; sends `at_once`, then `trickle` a byte at a time meanwhile.
async fn closed_by_server(
    mut stream: TcpStream,
    at_once: &[u8],
    trickle: &[u8],
) -> Option<Instant> {
    let _ = stream.write_all(at_once).await;
    let mut next = trickle.iter();
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + GIVE_UP_AFTER;
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some(Instant::now()),
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(300)), if next.len() > 0 => {
                if let Some(byte) = next.next() {
                    // A write into a closed connection fails; the read says so.
                    let _ = stream.write_all(std::slice::from_ref(byte)).await;
                }
            }
            () = tokio::time::sleep_until(deadline) => return None,
        }
    }
}

/// Opens `count` connections one after another, as a client's handshakes
/// complete (a burst of SYNs all at once would test the kernel's SYN
/// queue, not the server), each watched by [`closed_by_server`].
async fn open(
    address: &str,
    count: usize,
    at_once: &'static [u8],
    trickle: &'static [u8],
) -> Vec<tokio::task::JoinHandle<Option<Instant>>> {
    let mut watching = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = TcpStream::connect(address).await.unwrap();
        watching.push(tokio::spawn(closed_by_server(stream, at_once, trickle)));
    }
    watching
}

async fn when_closed(
    watching: Vec<tokio::task::JoinHandle<Option<Instant>>>,
) -> Vec<Option<Instant>> {
    futures::future::join_all(watching)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn open_files_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Figures: how many were closed, and how long after the start.
fn summary(name: &str, started: Instant, closed: &[Option<Instant>]) -> usize {
    let mut secs: Vec<f64> = closed
        .iter()
        .flatten()
        .map(|at| at.duration_since(started).as_secs_f64())
        .collect();
    secs.sort_by(f64::total_cmp);
    let at = |part: usize| secs.get(secs.len().saturating_sub(1) * part / 2).copied();
    println!(
        "{name}: {} of {} closed by the server; first {:.1?} s, median {:.1?} s, last {:.1?} s",
        secs.len(),
        closed.len(),
        at(0).unwrap_or_default(),
        at(1).unwrap_or_default(),
        at(2).unwrap_or_default(),
    );
    secs.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_and_everyone_else_is_served() {
    // This process holds all the connections: it needs more than 1024 files.
    let _ = rlimit::increase_nofile_limit(4096);
    let server = ServerProcess::start_with_open_file_limit(
        &[
            ("HANDOFF_HEADER_TIMEOUT", "3s"),
            ("HANDOFF_IDLE_TIMEOUT", "4s"),
            ("HANDOFF_BODY_TIMEOUT", "3s"),
        ],
        1024,
    );
    let address = server.base.trim_start_matches("http://").to_owned();
    let pid = server.pid();
    let most_files = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..100 {
            most = most.max(open_files_of(pid));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        most
    });
    let started = Instant::now();

    let idle = open(&address, IDLE, b"", b"").await;
    let header = b"GET / HTTP/1.1\r\nHost: handoff\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let slow = open(&address, SLOWLORIS, b"", header).await;
    let headers = b"POST /api/v1/secrets HTTP/1.1\r\nHost: handoff\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    let slow_body = open(&address, SLOW_BODY, headers, &[b' '; 100]).await;
    let opened_in = started.elapsed();
    println!(
        "opened {IDLE} idle, {SLOWLORIS} slowloris and {SLOW_BODY} slow-body connections in {opened_in:.1?}"
    );

    // Meanwhile a sender and a recipient are served.
    let app = common::TestApp::at(&server.base);
    let asked = Instant::now();
    let answer = tokio::time::timeout(GIVE_UP_AFTER, async {
        let created = app.create(json!({ "secret": "still served" })).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let pushed = common::pushed(created.json().await.unwrap());
        let revealed = app.reveal_with_key(&pushed).await;
        assert_eq!(revealed.status(), StatusCode::OK);
        revealed.json::<serde_json::Value>().await.unwrap()
    })
    .await
    .expect("a sender and a recipient are served during the flood");
    assert_eq!(answer["secret"], "still served");
    println!(
        "a create and a reveal during the flood took {:.1?}",
        asked.elapsed()
    );

    let idle = when_closed(idle).await;
    assert_eq!(summary("idle", started, &idle), IDLE);
    let slow = when_closed(slow).await;
    assert_eq!(summary("slowloris", started, &slow), SLOWLORIS);
    let slow_body = when_closed(slow_body).await;
    assert_eq!(summary("slow body", started, &slow_body), SLOW_BODY);

    // The end of the episode is logged once it has been quiet a moment.
    let mut logs = server.logs();
    for _ in 0..50 {
        if logs.contains("below HANDOFF_MAX_CONNECTIONS again") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        logs = server.logs();
    }
    let reached = logs.matches("HANDOFF_MAX_CONNECTIONS reached").count();
    println!(
        "the server held at most {} open files (limit 1024); the cap was logged as reached {reached} time(s); {} open files afterwards",
        most_files.await.unwrap(),
        open_files_of(pid)
    );
    assert!(
        reached <= 1,
        "once per episode, not per connection:\n{logs}"
    );
    // Opened well within the header timeout, the connections reached the
    // cap before any timed out (a slower machine may never reach it).
    if opened_in < Duration::from_secs(2) {
        assert_eq!(reached, 1, "{logs}");
    }
    if reached == 1 {
        assert!(
            logs.contains("below HANDOFF_MAX_CONNECTIONS again"),
            "{logs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_passphrase_pushes_stays_small_and_plain_pushes_still_work() {
    const PUSHES: usize = 48;
    let server = ServerProcess::start(&[]);
    let app = std::sync::Arc::new(common::TestApp::at(&server.base));

    let burst: Vec<_> = (0..PUSHES)
        .map(|n| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(async move {
                let response = app
                    .create(
                        json!({ "secret": format!("s{n}"), "passphrase": "correct horse battery" }),
                    )
                    .await;
                let retry_after = response.headers().get("retry-after").is_some();
                (response.status(), retry_after)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let asked = Instant::now();
    let plain = app.create(json!({ "secret": "plain" })).await;
    let plain_took = asked.elapsed();
    assert_eq!(plain.status(), StatusCode::CREATED);

    let answers: Vec<_> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let busy = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    println!(
        "{PUSHES} passphrase pushes at once: {created} created, {busy} answered 503; peak RSS {} MiB; a plain push meanwhile took {plain_took:.1?}",
        peak_kib / 1024
    );
    for (status, retry_after) in &answers {
        assert!(
            *status == StatusCode::CREATED
                || (*status == StatusCode::SERVICE_UNAVAILABLE && *retry_after),
            "{status} (Retry-After: {retry_after})"
        );
    }
    assert!(created >= 1);
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");
}
