//! A webhook receiver for tests, written the way a customer would write one (in Python, with
//! its standard library): it checks Exeunt's signature itself and logs the events it accepts.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;

const RECEIVER: &str = include_str!("webhook_receiver.py");

pub struct WebhookReceiver {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl WebhookReceiver {
    /// Starts one that accepts events signed with `key`.
    pub fn start(key: &str) -> WebhookReceiver {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a directory for the log");
        let child = Command::new("python3")
            .args(["-c", RECEIVER, &port.to_string(), key])
            .arg(dir.path().join("events.jsonl"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let receiver = WebhookReceiver { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return receiver;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the webhook receiver did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/exeunt", self.port)
    }

    /// Every event accepted, as the JSON lines it logged.
    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("events.jsonl"))
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
