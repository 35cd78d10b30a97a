#!/usr/bin/env bash
# Creates the two Python environments used by the A2A fixtures:
#   .venv        a2a-sdk 1.x (protocol v1.0) + the e2e requirements
#   .venv-a2a03  a2a-sdk 0.3.x (protocol v0.3)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt -r tests/a2a/requirements-v1.txt
[ -x .venv-a2a03/bin/python ] || python3 -m venv .venv-a2a03
.venv-a2a03/bin/pip install --quiet --disable-pip-version-check -r tests/a2a/requirements-v03.txt
