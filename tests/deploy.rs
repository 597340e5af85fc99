//! What deploy/ ships: the systemd units (`systemd-analyze verify` passes, the sandboxing
//! rates "OK", exposure 2.0 or lower), the example Prometheus rules (`promtool check
//! rules`). scripts/test-deps.sh installs systemd-analyze and promtool.

use std::path::Path;
use std::process::Command;

fn analyze(args: &[&str]) -> (bool, String) {
    let out = Command::new("systemd-analyze").args(args).output().expect(
        "systemd-analyze is needed (apt-get install systemd; scripts/test-deps.sh does it)",
    );
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The units: Type=notify-reload (systemd 253 and later) and the fallback for older ones.
const UNITS: [&str; 2] = ["veille.service", "veille-systemd252.service"];

fn read_unit(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(name),
    )
    .unwrap()
}

/// The unit with /usr/bin/veille pointing at the binary under test (verify checks that
/// the executables exist).
fn unit_under_test(dir: &Path, name: &str) -> String {
    let unit = read_unit(name).replace("/usr/bin/veille", env!("CARGO_BIN_EXE_veille"));
    let path = dir.join("veille.service");
    std::fs::write(&path, unit).unwrap();
    path.display().to_string()
}

/// The version of the systemd whose systemd-analyze runs here.
fn systemd_version() -> u32 {
    let (_, text) = analyze(&["--version"]);
    text.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no version in {text}"))
}

#[test]
fn units_verify() {
    let version = systemd_version();
    for name in UNITS {
        let dir = tempfile::tempdir().unwrap();
        let unit = unit_under_test(dir.path(), name);
        let (ok, text) = analyze(&["verify", &unit]);
        // Before 253 systemd does not know Type=notify-reload: that line, and only it.
        let text = text
            .lines()
            .filter(|l| {
                let old = version < 253 && l.contains("Failed to parse service type, ignoring: notify-reload");
                if old {
                    println!("{name}: systemd {version} < 253 does not know Type=notify-reload (expected)");
                }
                !old
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            ok && text.trim().is_empty(),
            "systemd-analyze verify {name}:\n{text}"
        );
    }
}

#[test]
fn units_are_sandboxed() {
    for name in UNITS {
        let dir = tempfile::tempdir().unwrap();
        let unit = unit_under_test(dir.path(), name);
        sandboxed(&unit);
    }
}

fn sandboxed(unit: &str) {
    let (_, text) = analyze(&["security", "--offline=true", "--no-pager", unit]);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no rating in:\n{text}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(score <= 2.0, "{line}\n{text}");
}

/// Type=notify-reload: systemd sends SIGHUP and waits for veille's READY=1, no
/// ExecReload. The fallback checks the configuration, then signals. Otherwise the two
/// units are the same, line for line, so the fallback is as sandboxed; and neither
/// declares what veille does not use (LogsDirectory: it logs to the journal).
#[test]
fn units_check_the_config_before_start_and_reload() {
    let new = read_unit("veille.service");
    let old = read_unit("veille-systemd252.service");
    for (unit, needles) in [
        (&new, &["Type=notify-reload\n"][..]),
        (
            &old,
            &[
                "Type=notify\n",
                "ExecReload=/usr/bin/veille check --config ${VEILLE_CONFIG}\n",
                "ExecReload=/bin/kill -HUP $MAINPID\n",
            ][..],
        ),
    ] {
        for needle in needles.iter().chain(&[
            "WatchdogSec=",
            "ExecStartPre=/usr/bin/veille check",
            "StateDirectory=veille",
            "User=veille",
        ]) {
            assert!(unit.contains(needle), "missing {needle}");
        }
        assert!(!unit.contains("LogsDirectory"), "unused LogsDirectory");
    }
    assert!(
        !new.contains("ExecReload"),
        "notify-reload signals by itself"
    );
    let directives = |u: &str| -> Vec<String> {
        u.lines()
            .filter(|l| {
                !l.starts_with('#') && !l.starts_with("Type=") && !l.starts_with("ExecReload=")
            })
            .map(String::from)
            .collect()
    };
    assert_eq!(directives(&new), directives(&old));
}

/// `promtool check rules` on the example alerting rules (scripts/test-deps.sh installs
/// it with the Debian prometheus package when it can).
#[test]
fn prometheus_rules_pass_promtool() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/veille-alerts.yml");
    let out = match Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !running_as_root() => {
            println!(
                "SKIPPED: promtool is not installed and scripts/test-deps.sh can only install it as root (apt-get install prometheus)"
            );
            return;
        }
        Err(e) => panic!("promtool: {e} (scripts/test-deps.sh installs it)"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check rules:\n{text}");
    assert!(text.contains("SUCCESS: 9 rules found"), "{text}");
}

pub fn running_as_root() -> bool {
    // SAFETY: no arguments, no side effects.
    unsafe { libc::geteuid() == 0 }
}

/// The package, built by the one build path (scripts/build-deb.sh) from the debug binary
/// the suite already built (a release build takes minutes; what is checked here — files,
/// permissions, maintainer scripts, copyright, changelog, manual pages, dependencies,
/// stripping — is the same for both), then checked by lintian: no error, no warning
/// (those justified are in deploy/debian/lintian-overrides).
#[test]
fn debian_package_holds_everything_an_admin_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_veille");
    let out = Command::new(root.join("scripts/build-deb.sh"))
        .env("VEILLE_BIN", bin)
        // Compressed (lintian refuses an uncompressed one), quickly.
        .env("VEILLE_DEB_COMPRESSION", "gzip")
        .env("VEILLE_DEB_LEVEL", "1")
        .output()
        .expect("scripts/build-deb.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = root.join(String::from_utf8_lossy(&out.stdout).trim());
    let run = |cmd: &str, args: &[&std::ffi::OsStr]| -> String {
        let out = Command::new(cmd).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = run("dpkg-deb", &["-c".as_ref(), deb.as_os_str()]);
    for path in [
        "./usr/bin/veille",
        "./lib/systemd/system/veille.service",
        "./usr/lib/sysusers.d/veille.conf",
        "./usr/lib/tmpfiles.d/veille.conf",
        "./etc/veille/veille.toml",
        "./etc/veille/rules/acme.toml",
        "./usr/share/doc/veille/copyright",
        "./usr/share/doc/veille/changelog.gz",
        "./usr/share/doc/veille/examples/veille-systemd252.service",
        "./usr/share/doc/veille/examples/prometheus/veille-alerts.yml",
        "./usr/share/doc/veille/examples/grafana/veille-dashboard.json",
        "./usr/share/man/man1/veille.1.gz",
    ] {
        assert!(
            list.contains(path),
            "{path} missing from the package:\n{list}"
        );
    }
    // A manual page for each command `veille --help` lists.
    let help = run(bin, &["--help".as_ref()]);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 8, "{help}");
    for c in commands {
        let page = format!("./usr/share/man/man1/veille-{c}.1.gz");
        assert!(
            list.contains(&page),
            "no manual page for `veille {c}`:\n{list}"
        );
    }

    let info = run("dpkg-deb", &["-I".as_ref(), deb.as_os_str()]);
    assert!(
        info.contains("Package: veille") && info.contains("postinst"),
        "{info}"
    );
    let conffiles = run(
        "dpkg-deb",
        &["--info".as_ref(), deb.as_os_str(), "conffiles".as_ref()],
    );
    assert!(
        conffiles.contains("/etc/veille/veille.toml"),
        "the config is a conffile"
    );
    // Depends: libc6 at least the highest GLIBC symbol version the binary asks for.
    let control = run(
        "dpkg-deb",
        &["-f".as_ref(), deb.as_os_str(), "Depends".as_ref()],
    );
    let symbols = run("objdump", &["-T".as_ref(), bin.as_ref()]);
    let glibc = symbols
        .split("GLIBC_")
        .skip(1)
        .filter_map(|v| {
            let v: String = v
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut n = v.split('.').map(|x| x.parse::<u32>().ok());
            Some((n.next()??, n.next().flatten().unwrap_or(0)))
        })
        .max()
        .unwrap();
    let libc = format!("libc6 (>= {}.{})", glibc.0, glibc.1);
    for dep in [libc.as_str(), "libgcc-s1", "ca-certificates", "adduser"] {
        assert!(control.contains(dep), "Depends lacks {dep}: {control}");
    }
    // The binary is stripped and names its debug file.
    let dir = tempfile::tempdir().unwrap();
    run(
        "dpkg-deb",
        &["-x".as_ref(), deb.as_os_str(), dir.path().as_os_str()],
    );
    let sections = run(
        "readelf",
        &["-S".as_ref(), dir.path().join("usr/bin/veille").as_os_str()],
    );
    // (.debug_gdb_scripts, loaded with the program, is not debug information.)
    for debug in [".debug_info", ".debug_line", ".symtab"] {
        assert!(
            !sections.contains(debug),
            "not stripped ({debug}):\n{sections}"
        );
    }
    assert!(sections.contains(".gnu_debuglink"), "{sections}");
    let copyright =
        std::fs::read_to_string(dir.path().join("usr/share/doc/veille/copyright")).unwrap();
    assert!(copyright.starts_with(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    ));
    for embedded in [
        "data/lexicons/vader_en.tsv",
        "data/lexicons/vader_fr.tsv",
        "data/lexicons/domain.tsv",
        "data/sentiment/model.bin",
    ] {
        assert!(
            copyright.contains(&format!("Files: {embedded}")),
            "{embedded} is embedded in the binary and missing from copyright"
        );
    }

    // lintian: no error, no warning.
    let lintian = match Command::new("lintian")
        .args(["--fail-on", "error,warning", "--no-tag-display-limit"])
        .arg(&deb)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !running_as_root() => {
            println!(
                "SKIPPED lintian: not installed, and scripts/test-deps.sh can only install it as root (apt-get install lintian)"
            );
            return;
        }
        Err(e) => panic!("lintian: {e} (scripts/test-deps.sh installs it)"),
    };
    let text = String::from_utf8_lossy(&lintian.stdout);
    assert!(
        lintian.status.success()
            && !text
                .lines()
                .any(|l| l.starts_with("E:") || l.starts_with("W:")),
        "lintian:\n{text}{}",
        String::from_utf8_lossy(&lintian.stderr)
    );
}

/// The README's install steps create every secret file the example configuration names,
/// each with a command (the issue: the config needed three, the README created one).
#[test]
fn readme_install_creates_every_secret_of_the_example_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(root.join("deploy/veille.toml")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let install = readme
        .split("## Install on a server")
        .nth(1)
        .and_then(|r| r.split("### Logs, metrics, HTTP API").next())
        .unwrap();
    let secrets: Vec<&str> = config
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            let key = key.trim();
            (key == "file" || key.ends_with("_file")).then(|| value.trim().trim_matches('"'))
        })
        .filter(|p| p.starts_with("/etc/veille/secrets/"))
        .collect();
    assert!(secrets.len() >= 3, "{secrets:?}");
    for s in secrets {
        assert!(
            install
                .lines()
                .any(|l| l.contains(&format!("tee {s} ")) || l.ends_with(&format!("tee {s}"))),
            "the README's install section does not create {s}"
        );
    }
}
