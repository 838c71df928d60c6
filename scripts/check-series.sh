#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks that patches/ is what scripts/gen-series.py makes of rust_casio/:
# the series is generated, so any drift between the two is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/gen-series.py --check
