//! A client for the daemon's HTTP API, for the tests that start a daemon listening on
//! loopback.

use std::time::Duration;

use serde_json::Value;

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut r = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }

    pub async fn json(&self, method: &str, path: &str, token: &str) -> Value {
        let (status, body) = self.call(method, path, Some(token), None).await;
        assert_eq!(status, 200, "{method} {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

pub async fn wait_ready(api: &Api) {
    for _ in 0..200 {
        if let Ok(r) = api.http.get(format!("{}/readyz", api.base)).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the daemon never became ready");
}

/// A daemon running `config` with its API on `port`, ready: stop it with `stop` (send
/// `true`) and await `task`.
pub struct Running {
    pub api: Api,
    pub stop: tokio::sync::watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<Result<veille::ingest::Report, veille::daemon::Error>>,
}

pub async fn start_daemon(config: veille::config::Config, port: u16) -> Running {
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(veille::daemon::run(
        config,
        veille::daemon::RunOptions::default(),
        stop_rx,
    ));
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    wait_ready(&api).await;
    Running { api, stop, task }
}
