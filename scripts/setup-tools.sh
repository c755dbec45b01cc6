#!/usr/bin/env bash
# Installs the real tools the tests compare Strongbox with (bsdtar, Go for archive/tar, Python for
# tarfile, pigz, git for ignore rules), `script` (a pseudo-terminal for the CLI's progress tests) and the
# benchmark peers (restic, borg), from Debian's packages, quietly. Called by the README's test command and
# by .ci/run, so a fresh machine passes the same way. Does nothing when everything is already there.
set -euo pipefail

need=()
command -v bsdtar >/dev/null 2>&1 || need+=(libarchive-tools)
command -v pigz >/dev/null 2>&1 || need+=(pigz)
command -v git >/dev/null 2>&1 || need+=(git)
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
command -v restic >/dev/null 2>&1 || need+=(restic)
command -v borg >/dev/null 2>&1 || need+=(borgbackup)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-tools: missing ${need[*]}; install them (Debian: apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "setup-tools: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
