#!/usr/bin/python3
"""The systemd unit, offline (issue 19 item 3): conf/dpdk-twamp.service.in rendered as meson
renders it, then
  - `systemd-analyze verify`: no unknown or invalid key, section or value (the binaries are the
    build's; a dpdk-twamp-ctl or a man page not built or installed here is the only complaint
    tolerated, and said);
  - Type=notify, NotifyAccess=main, After=/Wants= dpdk.service, EnvironmentFile=
    /etc/default/dpdk-twamp, ExecReload= dpdk-twamp-ctl -f PREFIX reload;
  - ExecStartPre= runs --check with $EAL_ARGS, and --check with EAL arguments returns before
    EAL starts;
  - every variable the unit uses is set in conf/dpdk-twamp.default;
  - `systemd-analyze security --offline=true`: the overall exposure is at most the figure
    README.md's systemd section records ("scores the unit at **N.N**"), so a regression fails.
Exit 77 (skipped) without systemd-analyze.

    check_unit.py --source-root . --bindir build/src/app
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--bindir", required=True, help="where the built dpdk-twamp is")
    ap.add_argument("--ctl", required=True, help="the built dpdk-twamp-ctl (ExecReload)")
    args = ap.parse_args()
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("systemd-analyze not found (Debian's systemd package): skipped")
        return 77
    root = os.path.abspath(args.source_root)
    # One directory holding both programs, as an installed bindir does.
    bindir_tmp = tempfile.TemporaryDirectory(prefix="dpdk-twamp-bin-")
    bindir = bindir_tmp.name
    os.symlink(os.path.join(os.path.abspath(args.bindir), "dpdk-twamp"),
               os.path.join(bindir, "dpdk-twamp"))
    os.symlink(os.path.abspath(args.ctl), os.path.join(bindir, "dpdk-twamp-ctl"))
    with open(os.path.join(root, "conf", "dpdk-twamp.service.in")) as f:
        text = f.read().replace("@BINDIR@", bindir)
    with open(os.path.join(root, "conf", "dpdk-twamp.default")) as f:
        defaults = f.read()
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    m = re.search(r"scores the unit at \*\*(\d+\.\d)\*\*", readme)
    if not m:
        fail("README.md records no exposure figure ('scores the unit at **N.N**')")
    limit = float(m[1])

    # The unit's promises.
    svc = {}
    for ln in text.splitlines():
        if "=" in ln and not ln.lstrip().startswith("#"):
            k, v = ln.split("=", 1)
            svc.setdefault(k.strip(), []).append(v.strip())
    want = {"Type": "notify", "NotifyAccess": "main",
            "EnvironmentFile": "-/etc/default/dpdk-twamp"}
    for k, v in want.items():
        if svc.get(k) != [v]:
            fail(f"{k}= is {svc.get(k)}, want {v}")
    for k in ("After", "Wants"):
        if not any("dpdk.service" in v.split() for v in svc.get(k, [])):
            fail(f"{k}= lacks dpdk.service: {svc.get(k)}")
        if not any("network-online.target" in v.split() for v in svc.get(k, [])):
            fail(f"{k}= lacks network-online.target: {svc.get(k)}")
    reload = svc.get("ExecReload", [""])[0]
    if not re.fullmatch(re.escape(bindir) + r"/dpdk-twamp-ctl -f \$\{FILE_PREFIX\} reload",
                        reload):
        fail(f"ExecReload= is {reload!r}, want {bindir}/dpdk-twamp-ctl -f ${{FILE_PREFIX}} reload")
    pre = svc.get("ExecStartPre", [""])[0]
    if not re.fullmatch(re.escape(bindir) + r"/dpdk-twamp \$EAL_ARGS -- -c \$\{CONFIG\} --check",
                        pre):
        fail(f"ExecStartPre= is {pre!r}, want {bindir}/dpdk-twamp $EAL_ARGS -- -c ${{CONFIG}} "
             "--check (the lcores the box will have count its workers)")
    # --check with EAL options returns before EAL starts (no hugepages, no devices, no EAL line)
    # and counts the workers of -l.
    box = os.path.join(bindir, "dpdk-twamp")
    if os.access(box, os.X_OK):
        conf = os.path.join(root, "conf", "twamp.conf")
        p = subprocess.run([box, "-l", "0-1", "--file-prefix", "check-unit-never", "--", "-c",
                            conf, "--check"], capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or "configuration OK" not in p.stdout or "EAL" in p.stderr:
            fail(f"--check with EAL arguments: exit {p.returncode}\n{p.stdout}{p.stderr}")
    start = svc.get("ExecStart", [""])[0]
    if "--file-prefix ${FILE_PREFIX}" not in start:
        fail(f"ExecStart= does not run the box with the prefix ExecReload uses: {start!r}")
    used = set(re.findall(r"\$\{?([A-Z_]+)\}?", " ".join(
        v for k in ("ExecStart", "ExecStartPre", "ExecReload") for v in svc.get(k, []))))
    for var in sorted(used - {"MAINPID"}):
        if not re.search(rf"^{var}=", defaults, re.M):
            fail(f"the unit uses ${var}, conf/dpdk-twamp.default does not set it")

    with tempfile.TemporaryDirectory(prefix="dpdk-twamp-unit-") as tmp:
        unit = os.path.join(tmp, "dpdk-twamp.service")
        with open(unit, "w") as f:
            f.write(text)
        p = subprocess.run([analyze, "verify", unit], capture_output=True, text=True,
                           timeout=120)
        tolerated = []
        for ln in (p.stdout + p.stderr).splitlines():
            if not ln.strip():
                continue
            if re.search(r"Command 'man dpdk-twamp\(8\)' failed", ln):
                tolerated.append(ln)  # the man page is installed by the package, not here
            else:
                fail(f"systemd-analyze verify: {ln}")
        for ln in tolerated:
            print(f"tolerated: {ln}")

        p = subprocess.run([analyze, "security", "--offline=true", unit], capture_output=True,
                           text=True, timeout=120)
        out = p.stdout + p.stderr
        m = re.search(r"Overall exposure level for dpdk-twamp\.service: (\d+\.\d)", out)
        if not m:
            fail(f"systemd-analyze security printed no exposure level:\n{out}")
        score = float(m[1])
        print(f"exposure {score} (README: {limit})")
        if score > limit:
            fail(f"exposure {score} is above README's {limit}: a directive was lost or weakened\n"
                 + "\n".join(ln for ln in out.splitlines() if "✗" in ln))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
