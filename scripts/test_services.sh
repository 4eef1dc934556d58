#!/usr/bin/env bash
# Starts (installing if missing) what the end-to-end tests need: PostgreSQL 15 on loopback and a headless
# Chromium. Idempotent; safe to run on a machine that already has them.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  pg_lsclusters -h | grep -q "^$ver main" || $SUDO pg_createcluster "$ver" main >/dev/null
  $SUDO pg_ctlcluster "$ver" main start
fi
echo "postgresql $ver: $(pg_lsclusters -h | awk '{print $4}' | head -1)"
