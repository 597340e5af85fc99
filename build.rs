//! Build script: the git commit veille is built from, exported as `veille_build_info`'s
//! `commit` label. `VEILLE_COMMIT` set at build time wins (a build from a tarball can say
//! where it came from); outside a git checkout it is "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=VEILLE_COMMIT");
    let commit = std::env::var("VEILLE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=VEILLE_COMMIT={}", commit.trim());
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Built again when HEAD moves: HEAD itself (a checkout), the branch it points to (a
    // commit) and packed-refs (a branch only packed). A missing file would make cargo run
    // this script at every build, so only existing ones are named.
    let branch = git(&["rev-parse", "--symbolic-full-name", "HEAD"]);
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(b) = branch.filter(|b| b.starts_with("refs/")) {
        watched.push(git(&["rev-parse", "--git-path", &b]));
    }
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for p in watched.into_iter().flatten() {
        if Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    Some(commit)
}
