//! The systemd unit: `systemd-analyze verify` passes and the sandboxing rates "OK"
//! (exposure 2.0 or lower). scripts/test-deps.sh makes sure systemd-analyze is installed.

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

/// The unit with /usr/bin/veille pointing at the binary under test (verify checks that
/// the executables exist).
fn unit_under_test(dir: &Path) -> String {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/veille.service"),
    )
    .unwrap()
    .replace("/usr/bin/veille", env!("CARGO_BIN_EXE_veille"));
    let path = dir.join("veille.service");
    std::fs::write(&path, unit).unwrap();
    path.display().to_string()
}

#[test]
fn unit_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_under_test(dir.path());
    let (ok, text) = analyze(&["verify", &unit]);
    assert!(
        ok && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );
}

#[test]
fn unit_is_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_under_test(dir.path());
    let (_, text) = analyze(&["security", "--offline=true", "--no-pager", &unit]);
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

#[test]
fn unit_checks_the_config_before_start_and_reload() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/veille.service"),
    )
    .unwrap();
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=/usr/bin/veille check",
        "ExecReload=/usr/bin/veille check",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "StateDirectory=veille",
        "User=veille",
    ] {
        assert!(unit.contains(needle), "missing {needle}");
    }
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
