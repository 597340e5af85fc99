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
