#!/usr/bin/env bash
# Installs everything vtopo needs on a fresh Debian 12 machine, then builds.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  qemu-system-x86 qemu-utils          # guests
  busybox-static cpio kmod            # default guest image (kernel is apt-get download'ed, not installed)
  iperf3 ethtool iproute2             # guest tools, taps, namespaces
  tcpdump                             # vtopo capture on OvS (reads the mirror port); tests read pcaps back
  dpdk dpdk-dev                       # dpdk-testpmd: a real vhost-user peer for tests and bench
  openvswitch-switch-dpdk             # the ovs datapath
  ovn-central ovn-host                # many hosts (issue 20): NB/SB ovsdb-servers, ovn-northd, ovn-controller
  openssh-server                      # ssh hosts of a fabric (tests run sshd inside a simulated host)
  libvirt-clients libxml2-utils       # virt-xml-validate (needs xmllint) for the libvirt export
  chromium libkrb5-dev ripgrep        # editor end-to-end tests (code-server + chromium)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "vtopo setup: missing Debian packages: ${missing[*]}" >&2
    echo "  fix: sudo apt-get install -y ${missing[*]}   (or run this script as root)" >&2
    exit 1
  fi
  echo "vtopo setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
