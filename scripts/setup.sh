#!/usr/bin/env bash
# Installs every Debian 12 package dpdk-twamp needs to build, test, benchmark and run its demo.
# Non-interactive and idempotent: it only calls apt-get when something is missing.
set -euo pipefail

PACKAGES=(
    # build
    g++ meson ninja-build pkg-config git
    # libraries (DPDK 22.11 in Debian 12)
    dpdk dpdk-dev libdpdk-dev libconfig++-dev prometheus-cpp-dev libpcap-dev nlohmann-json3-dev
    # OpenSSL libcrypto: the security modes (key derivation, HMAC, AES)
    libssl-dev
    # the metrics endpoint: civetweb directly (prometheus-cpp's serializer, no Exposer)
    libcivetweb-dev
    # events to journald and the systemd notification protocol (sd_journal_sendv, sd_notify)
    libsystemd-dev
    # tests
    libgtest-dev libgmock-dev googletest clang clang-format libclang-rt-14-dev
    tshark python3 python3-scapy ethtool iproute2 iputils-ping procps curl
    # the systemd unit checked offline (systemd-analyze verify, security --offline=true)
    systemd
    # the box under the unit's syscall filter in tests/integration/systemd_tests.py (libseccomp)
    python3-seccomp
    # the security modes' independent reference (tests/integration/auth_ref.py): AES
    python3-cryptography
    # promtool: conf/twamp-alerts.yml and the dashboard's expressions (tests/unit/conf)
    prometheus python3-yaml
    # benchmarks (perf/worker_instructions.sh counts instructions with callgrind)
    valgrind
    # the Debian package (scripts/package.sh: dpkg-deb, dpkg-shlibdeps), its checks (lintian)
    # and its man pages' (groff, man)
    dpkg-dev lintian groff-base man-db
)

if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup.sh: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "setup.sh: done"
