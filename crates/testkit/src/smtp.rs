//! A real SMTP server for tests: aiosmtpd (from PyPI) writing every message it receives into
//! a maildir that the test then reads.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, missing_service};

pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl SmtpSink {
    /// Starts one on a free port; skips (or fails, when services are required) without
    /// aiosmtpd.
    pub fn start(test: &str) -> Option<SmtpSink> {
        let importable = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !importable {
            return missing_service(test, "python3 with aiosmtpd (pip install aiosmtpd)");
        }
        let port = free_port();
        let dir = tempfile::tempdir().expect("a directory for the mailbox");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        // From here on, dropping the sink stops the server, whatever happens.
        let sink = SmtpSink { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(sink);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// Its address, as `--smtp-url` takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received, as its raw text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("maildir/new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A URL where no mail server listens: a server that is down.
pub fn unused_url() -> String {
    format!("smtp://127.0.0.1:{}", free_port())
}

/// A header's value in a raw message.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}
