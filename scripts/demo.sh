#!/usr/bin/env bash
# The README's main job (grows with the runtime): install, build, check and plan the examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx vtopo check examples/*.vtopo
