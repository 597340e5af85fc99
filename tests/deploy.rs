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

#[test]
fn debian_package_holds_everything_an_admin_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/build-deb.sh"))
        .env("VEILLE_BIN", env!("CARGO_BIN_EXE_veille"))
        .env("VEILLE_DEB_COMPRESSION", "none")
        .output()
        .expect("scripts/build-deb.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = root.join(String::from_utf8_lossy(&out.stdout).trim());
    let list = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for path in [
        "./usr/bin/veille",
        "./lib/systemd/system/veille.service",
        "./usr/lib/sysusers.d/veille.conf",
        "./usr/lib/tmpfiles.d/veille.conf",
        "./etc/veille/veille.toml",
        "./etc/veille/rules/acme.toml",
    ] {
        assert!(
            list.contains(path),
            "{path} missing from the package:\n{list}"
        );
    }
    let info = Command::new("dpkg-deb")
        .arg("-I")
        .arg(&deb)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Package: veille") && info.contains("postinst"),
        "{info}"
    );
    let conffiles = Command::new("dpkg-deb")
        .args(["--info"])
        .arg(&deb)
        .arg("conffiles")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&conffiles.stdout).contains("/etc/veille/veille.toml"),
        "the config is a conffile"
    );
}
