#!/usr/bin/env bash
# Installs the Debian packages named on the command line when they are missing, for the tests that
# drive real tools (Chromium, QEMU, the RISC-V cross compiler, Slurm). Safe to call from several test
# processes at once: one flock serialises apt, and `apt-get update` runs at most once per boot.
# Prints what it did on stderr; exits non-zero (with apt's message) when a package cannot be had.
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: apt-ensure.sh PACKAGE..." >&2; exit 2; }
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "apt-ensure: missing ${missing[*]} and not root: install them with apt-get" >&2
  exit 1
fi
exec 9>/var/lock/tlblab-apt.lock
flock 9
# Re-check under the lock: another test may have installed them meanwhile.
still=()
for p in "${missing[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || still+=("$p")
done
[ "${#still[@]}" -eq 0 ] && exit 0
marker=/run/tlblab-apt-updated
if [ ! -f "$marker" ]; then
  echo "apt-ensure: apt-get update" >&2
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  touch "$marker"
fi
echo "apt-ensure: installing ${still[*]}" >&2
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${still[@]}" >&2
