#!/usr/bin/env bash
# The README's main command, on a fresh machine: install what is missing
# (apt packages when root, npm packages), build, deploy the two-VM example
# on the embedded datapath, check that the guests reach each other, print
# the status, and say how to tear it down (or do it with --destroy).
set -euo pipefail
cd "$(dirname "$0")/.."

destroy_at_end=0
FILE=examples/two-vms.vtopo
for arg in "$@"; do
  case "$arg" in
    --destroy) destroy_at_end=1 ;;
    -h|--help) echo "usage: bash scripts/demo.sh [--destroy] [FILE]   (FILE: examples/two-vms.vtopo unless given, e.g. examples/multi-host.vtopo; --destroy tears it down at the end)"; exit 0 ;;
    *.vtopo) FILE=$arg ;;
    *) echo "demo: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup: packages and build"
bash scripts/setup.sh

step "check $FILE"
npx vtopo check "$FILE"

step "plan: what the deploy will do"
npx vtopo plan "$FILE"

step "deploy (guests boot under TCG when KVM is unusable: allow a minute)"
npx vtopo deploy "$FILE"

step "verify: every guest pings its neighbours"
verified=0
npx vtopo verify "$FILE" && verified=1

step "status"
npx vtopo status "$FILE"

if ((destroy_at_end)); then
  step "destroy"
  npx vtopo destroy "$FILE"
else
  echo
  echo "The topology keeps running. Inspect it with:  npx vtopo status $FILE"
  echo "Tear it down with:                            npx vtopo destroy $FILE"
fi
((verified)) || { echo "demo: verify failed (see above)" >&2; exit 1; }
