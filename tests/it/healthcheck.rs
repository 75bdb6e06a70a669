//! `handoff healthcheck`, the container image's `HEALTHCHECK` (the image has
//! no shell or curl): exit 0 only when the server answers 200.

use std::process::{Command, Output};

use crate::common::{ServerProcess, free_port};

fn healthcheck(args: &[&str], listen: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handoff"));
    command.arg("healthcheck").args(args).env_clear();
    if let Some(listen) = listen {
        command.env("HANDOFF_LISTEN", listen);
    }
    command.output().expect("the handoff binary runs")
}

#[test]
fn healthcheck_succeeds_against_a_running_server() {
    let server = ServerProcess::start(&[]);

    let output = healthcheck(&["--url", &format!("{}/healthz", server.base)], None);

    assert!(output.status.success(), "{output:?}");
}

#[test]
fn healthcheck_finds_the_server_from_an_unspecified_listen_address() {
    let server = ServerProcess::start(&[]);
    let port = server.base.rsplit(':').next().unwrap();

    // As in the image: HANDOFF_LISTEN=0.0.0.0:8080, probed on loopback.
    let output = healthcheck(&[], Some(&format!("0.0.0.0:{port}")));

    assert!(output.status.success(), "{output:?}");
}

#[test]
fn healthcheck_fails_on_a_closed_port() {
    let url = format!("http://127.0.0.1:{}/healthz", free_port());

    let output = healthcheck(&["--url", &url], None);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&url));
}

#[test]
fn healthcheck_fails_when_the_answer_is_not_200() {
    let server = ServerProcess::start(&[]);

    let output = healthcheck(&["--url", &format!("{}/no-such-page", server.base)], None);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("404"));
}
