//! The e-mail templates: bundled (alert HTML and text, digest HTML), each replaceable
//! by a file of `templates_dir`, checked when the config loads.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use minijinja::Environment;

use super::{Style, render};
use crate::model::Alert;
use crate::notify::view::Locale;

const BUNDLED_HTML: &str = include_str!("../templates/alert.html");
const BUNDLED_TXT: &str = include_str!("../templates/alert.txt");
const BUNDLED_DIGEST: &str = include_str!("../templates/digest.html");

fn new_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("default delimiters"),
    );
    // Names ending in .html are auto-escaped by minijinja; .txt is plain text.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env
}

pub(super) fn bundled_env() -> Arc<Environment<'static>> {
    static ENV: OnceLock<Arc<Environment<'static>>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = new_env();
        env.add_template("alert.html", BUNDLED_HTML)
            .expect("bundled template alert.html is valid");
        env.add_template("alert.txt", BUNDLED_TXT)
            .expect("bundled template alert.txt is valid");
        env.add_template("digest.html", BUNDLED_DIGEST)
            .expect("bundled template digest.html is valid");
        Arc::new(env)
    })
    .clone()
}

/// The bundled templates, with those of `dir` in their place; a template that does not
/// compile, or does not render a sample alert, is an error naming the file and line.
pub(super) fn templates_from(dir: &Path) -> Result<Arc<Environment<'static>>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "templates_dir {} is not a directory",
            dir.display()
        ));
    }
    let mut env = new_env();
    for (name, bundled) in [
        ("alert.html", BUNDLED_HTML),
        ("alert.txt", BUNDLED_TXT),
        ("digest.html", BUNDLED_DIGEST),
    ] {
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bundled.to_string(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        env.add_template_owned(name, text).map_err(|e| {
            format!(
                "{}:{}: {}",
                path.display(),
                e.line().unwrap_or(1),
                e.detail().unwrap_or("invalid template")
            )
        })?;
    }
    let env = Arc::new(env);
    let style = Style {
        locale: Locale::En,
        tz: chrono_tz::Tz::UTC,
        list_id: String::new(),
        env: env.clone(),
    };
    render(&Alert::sample(), &style).map_err(|e| {
        format!(
            "{}: the template does not render: {e:#}",
            dir.join(e.name().unwrap_or("alert")).display()
        )
    })?;
    Ok(env)
}
