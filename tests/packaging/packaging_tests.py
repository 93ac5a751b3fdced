#!/usr/bin/python3
"""Packaging tests: the man pages against the programs, `meson install` keeping an edited
config, and the Debian package (built by scripts/package.sh, inspected with dpkg-deb, extracted
into a temporary root and run from there). Nothing on the host is installed or changed.

    tests/packaging/packaging_tests.py --case man_pages --build BUILD --source-root SRC
    tests/packaging/packaging_tests.py --case install_keeps_config --build BUILD --source-root SRC
    tests/packaging/packaging_tests.py --case package --build BUILD --source-root SRC

Exit status 0 when the case passed, 1 with what failed on stderr.
"""
import argparse
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1200, **kw)
    if p.returncode != 0:
        raise Failure(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout.decode(errors='replace')}"
                      f"{p.stderr.decode(errors='replace')}")
    return p.stdout.decode(errors="replace")


def long_options(help_text):
    """Every long option --help names (an option's name, or a prefix the text calls out)."""
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*[a-z0-9])", help_text)))


def rendered(page):
    """The page as man shows it, in plain ASCII (hyphens as '-'), no warnings allowed."""
    p = subprocess.run(["groff", "-man", "-ww", "-Tascii", "-P", "-cbou", page],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(p.returncode == 0 and not p.stderr,
          f"groff -man -ww {page}: exit {p.returncode}\n{p.stderr.decode(errors='replace')}")
    p = subprocess.run(["man", "--warnings", "-l", page], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60, env=dict(os.environ, MANWIDTH="80"))
    check(p.returncode == 0 and not p.stderr,
          f"man --warnings -l {page}: exit {p.returncode}\n{p.stderr.decode(errors='replace')}")
    # Joined lines: an option may be broken at a hyphen at the end of a line.
    return re.sub(r"-\n\s*", "-", subprocess.run(
        ["groff", "-man", "-Tascii", "-P", "-cbou", "-rLL=200n", page],
        stdout=subprocess.PIPE, timeout=60).stdout.decode())


def case_man_pages(a):
    """dpdk-twamp(8), twamp-ping(1) and dpdk-twamp-ctl(8) name every long option their --help
    prints; twamp.conf(5) names every key of the config's key table; each renders without a warning."""
    pages = {
        "dpdk-twamp": (os.path.join(a.source_root, "man", "dpdk-twamp.8"),
                       [os.path.join(a.build, "src", "app", "dpdk-twamp"), "--", "--help"]),
        "twamp-ping": (os.path.join(a.source_root, "man", "twamp-ping.1"),
                       [os.path.join(a.build, "src", "sender", "twamp-ping"), "--help"]),
        "dpdk-twamp-ctl": (os.path.join(a.source_root, "man", "dpdk-twamp-ctl.8"),
                           [os.path.join(a.build, "src", "ctl", "dpdk-twamp-ctl"), "--help"]),
    }
    for name, (page, cmd) in pages.items():
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        check(p.returncode == 0, f"{' '.join(cmd)}: exit {p.returncode}")
        opts = long_options(p.stdout.decode())
        check(len(opts) >= 4, f"{name} --help: only {opts} found")
        text = rendered(page)
        missing = [o for o in opts if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]
        check(not missing, f"{page}: options {name} --help prints are missing: {missing}")
        print(f"{name}: {len(opts)} long options, all in {os.path.basename(page)}")
    conf_page = os.path.join(a.build, "twamp.conf.5")
    text = rendered(conf_page)
    with open(os.path.join(a.source_root, "include", "twamp", "config", "keys.hpp")) as f:
        keys = re.findall(r'^\s*\{"([a-z][a-z0-9\[\].-]*)", key_type::', f.read(), re.M)
    check(len(keys) > 50, f"keys.hpp: only {len(keys)} keys parsed")
    missing = [k for k in keys if k not in text]
    check(not missing, f"{conf_page}: keys missing: {missing}")
    print(f"twamp.conf(5): {len(keys)} keys")


def case_install_keeps_config(a):
    """`meson install` into a DESTDIR installs /etc/dpdk-twamp/twamp.conf and
    /etc/default/dpdk-twamp when absent; a second install after the operator edited both keeps
    the edits; the reference is always in share/doc/dpdk-twamp/twamp.conf.example."""
    with tempfile.TemporaryDirectory(prefix="dpdk-twamp-install-") as d:
        def install():
            run(["meson", "install", "-C", a.build, "--no-rebuild", "--destdir", d])
        install()
        conf = os.path.join(d, "etc", "dpdk-twamp", "twamp.conf")
        default = os.path.join(d, "etc", "default", "dpdk-twamp")
        ref = os.path.join(a.source_root, "conf", "twamp.conf")
        with open(ref) as f:
            reference = f.read()
        for path in (conf, default):
            check(os.path.isfile(path), f"{path} not installed")
        with open(conf) as f:
            check(f.read() == reference, f"{conf} is not the reference config")
        examples = glob.glob(os.path.join(d, "**", "doc", "dpdk-twamp", "twamp.conf.example"),
                             recursive=True)
        check(len(examples) == 1, f"twamp.conf.example: {examples}")
        edited = "# edited by the operator\n" + reference.replace("rate-limit-pps = 20000;",
                                                                 "rate-limit-pps = 5000;")
        with open(conf, "w") as f:
            f.write(edited)
        with open(default, "w") as f:
            f.write('EAL_ARGS="-l 2-5 -a 0000:3b:00.0"\n')
        install()
        with open(conf) as f:
            check(f.read() == edited, f"the second meson install overwrote the edited {conf}")
        with open(default) as f:
            check(f.read() == 'EAL_ARGS="-l 2-5 -a 0000:3b:00.0"\n',
                  f"the second meson install overwrote the edited {default}")
        with open(examples[0]) as f:
            check(f.read() == reference, "twamp.conf.example is not the reference")
        print("meson install twice: the edited twamp.conf and /etc/default/dpdk-twamp kept")


def case_package(a):
    """scripts/package.sh builds the .deb; dpkg-deb -I shows its fields and a Depends computed
    by dpkg-shlibdeps (DPDK's libraries among them), -c the files, the conffiles are listed;
    lintian finds no error or warning;
    extracted into a temporary root, its dpdk-twamp checks its own twamp.conf and its
    twamp-ping prints its version."""
    with tempfile.TemporaryDirectory(prefix="dpdk-twamp-deb-") as d:
        out = run([os.path.join(a.source_root, "scripts", "package.sh"), "--out", d]
                  + (["--build-dir", a.pkg_build] if a.pkg_build else []))
        deb = out.strip().splitlines()[-1]
        check(os.path.isfile(deb) and deb.endswith(".deb"), f"package.sh printed {deb!r}")
        info = run(["dpkg-deb", "-I", deb])
        fields = dict(re.findall(r"^ ([A-Z][A-Za-z-]+): (.*)$", info, re.M))
        for k in ("Package", "Version", "Architecture", "Maintainer", "Installed-Size",
                  "Depends", "Section", "Priority", "Description"):
            check(k in fields, f"control field {k} missing:\n{info}")
        check(fields["Package"] == "dpdk-twamp", f"Package {fields['Package']}")
        depends = [x.strip().split()[0] for x in fields["Depends"].split(",")]
        for want in ("libc6", "libstdc++6", "librte-eal23", "librte-ethdev23", "libconfig++9v5",
                     "libssl3", "dpdk", "iproute2", "librte-mempool-ring23", "librte-net-tap23"):
            check(want in depends, f"Depends lacks {want}: {fields['Depends']}")
        check("Recommends" in fields and "librte-meta-net" in
              [x.strip().split()[0] for x in fields["Recommends"].split(",")],
              f"Recommends lacks librte-meta-net:\n{info}")
        check("init-system-helpers" in depends, f"Depends lacks init-system-helpers: {depends}")
        # The maintainer scripts do what dh_installsystemd --no-enable --no-start generates.
        scripts = {s: run(["dpkg-deb", "-I", deb, s]) for s in ("postinst", "prerm", "postrm")}
        for script, text in scripts.items():
            check(re.search(r"^set -e$", text, re.M), f"{script} without set -e:\n{text}")
        post = scripts["postinst"]
        check(re.search(r'if \[ -n "\$2" \]; then\s+deb-systemd-invoke try-restart '
                        r"'dpdk-twamp.service'", post) and '"$1" = configure' in post and
              "daemon-reload" in post and "deb-systemd-helper unmask" in post,
              f"postinst does not try-restart on upgrade after configure:\n{post}")
        pre = scripts["prerm"]
        check(re.search(r'\[ "\$1" = remove \]; then\s+deb-systemd-invoke stop', pre) and
              "upgrade" not in pre.split("set -e", 1)[1],
              f"prerm stops other than on remove:\n{pre}")
        rm = scripts["postrm"]
        check(re.search(r'"\$1" = remove \]; then\s+if command -v deb-systemd-helper '
                        r">/dev/null 2>&1; then\s+deb-systemd-helper mask 'dpdk-twamp.service'", rm) and
              re.search(r'"\$1" = purge \]; then\s+if command -v deb-systemd-helper '
                        r">/dev/null 2>&1; then\s+deb-systemd-helper purge 'dpdk-twamp.service'", rm),
              f"postrm does not mask on remove and purge on purge:\n{rm}")
        for script, text in scripts.items():
            check(not re.search(r"systemctl (enable|start)|deb-systemd-helper enable", text),
                  f"{script} enables or starts the service:\n{text}")
        conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).split()
        check(conffiles == ["/etc/default/dpdk-twamp", "/etc/dpdk-twamp/twamp.conf"],
              f"conffiles: {conffiles}")
        files = {line.split()[-1].lstrip(".") for line in run(["dpkg-deb", "-c", deb]).splitlines()}
        for want in ("/usr/bin/dpdk-twamp", "/usr/bin/twamp-ping",
                     "/lib/systemd/system/dpdk-twamp.service", "/etc/default/dpdk-twamp",
                     "/etc/dpdk-twamp/twamp.conf", "/usr/share/man/man8/dpdk-twamp.8.gz",
                     "/usr/share/man/man1/twamp-ping.1.gz", "/usr/share/man/man5/twamp.conf.5.gz",
                     "/usr/share/doc/dpdk-twamp/README.md", "/usr/share/doc/dpdk-twamp/copyright",
                     "/usr/share/doc/dpdk-twamp/twamp.conf.example"):
            check(want in files, f"{want} not in the package")
        # conf/'s dashboards and alert rules, docs/: found by glob, none forgotten.
        # conf/grafana/x.json -> /usr/share/dpdk-twamp/grafana/x.json (the folder under conf/ kept).
        for pattern, base, where in (("conf/**/*.json", "conf", "/usr/share/dpdk-twamp/"),
                                     ("conf/**/*.yml", "conf", "/usr/share/dpdk-twamp/"),
                                     ("conf/**/*.yaml", "conf", "/usr/share/dpdk-twamp/"),
                                     ("docs/*.md", "docs", "/usr/share/doc/dpdk-twamp/")):
            found = glob.glob(os.path.join(a.source_root, pattern), recursive=True)
            check(found or not pattern.startswith("conf/**/*.json"),
                  "no dashboard found under conf/ (the glob is wrong)")
            for f in found:
                rel = os.path.relpath(f, os.path.join(a.source_root, base))
                check(where + rel in files, f"{where}{rel} ({pattern}) not in the package")
        # Everything meson installs in bindir arrives (dpdk-twamp-ctl once it exists).
        built = {os.path.basename(t["filename"][0]) for t in __import__("json").loads(
            run(["meson", "introspect", "--targets", a.build]))
            if t.get("installed") and any("/bin/" in p or p.endswith("/bin")
                                          for p in t.get("install_filename", []))}
        for b in built:
            check(f"/usr/bin/{b}" in files, f"/usr/bin/{b} (installed by meson) not in the package")
        # Debian's own checks: no error or warning (informational tags are allowed).
        p = subprocess.run(["lintian", "--tag-display-limit", "0", deb], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
        tags = [line for line in p.stdout.decode(errors="replace").splitlines()
                if re.match(r"^[EW]: ", line)]
        check(not tags, "lintian:\n" + "\n".join(tags))
        root = os.path.join(d, "root")
        run(["dpkg-deb", "-x", deb, root])
        unit = open(os.path.join(root, "lib", "systemd", "system", "dpdk-twamp.service")).read()
        check("ExecStart=/usr/bin/dpdk-twamp" in unit, f"unit's ExecStart:\n{unit}")
        conf = os.path.join(root, "etc", "dpdk-twamp", "twamp.conf")
        out = run([os.path.join(root, "usr", "bin", "dpdk-twamp"), "--", "-c", conf, "--check"])
        check("configuration OK" in out, f"--check: {out}")
        out = run([os.path.join(root, "usr", "bin", "twamp-ping"), "--version"])
        check(out.strip(), "twamp-ping --version printed nothing")
        with gzip.open(os.path.join(root, "usr", "share", "man", "man5", "twamp.conf.5.gz")) as f:
            check(b".TH TWAMP.CONF 5" in f.read(), "twamp.conf.5.gz is not the page")
        print(f"{os.path.basename(deb)}: {len(files)} entries, Depends {fields['Depends']}")
        print(out.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", required=True,
                    choices=["man_pages", "install_keeps_config", "package"])
    ap.add_argument("--build", required=True, help="the meson build directory")
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--pkg-build", default=None,
                    help="package: scripts/package.sh's build directory (default its own)")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    a.source_root = os.path.abspath(a.source_root)
    try:
        globals()["case_" + a.case](a)
    except Failure as e:
        print(f"FAILED {a.case}: {e}", file=sys.stderr)
        return 1
    print(f"PASSED {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
