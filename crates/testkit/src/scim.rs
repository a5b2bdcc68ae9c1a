//! A real SCIM 2.0 server for tests: `scim2-server` (from PyPI), one per test, on a free
//! port, holding its users in memory. Tests read users back over plain HTTP.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, missing_service};

pub const TOKEN: &str = "scim-test-token";

pub struct ScimServer {
    child: Child,
    port: u16,
}

impl ScimServer {
    /// Starts one that accepts [`TOKEN`]; skips (or fails, when services are required)
    /// without scim2-server.
    pub fn start(test: &str) -> Option<ScimServer> {
        let port = free_port();
        let Ok(child) = Command::new("scim2-server")
            .args(["--port", &port.to_string(), "--bearer-token", TOKEN])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return missing_service(test, "scim2-server (pip install scim2-server)");
        };
        let server = ScimServer { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("scim2-server did not start on port {port}");
    }

    /// The base URL, as a SCIM connector's `base_url` takes it.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Adds an active user; returns its id.
    pub fn add_user(&self, user_name: &str) -> String {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name, "active": true,
        });
        let created = self.request("POST", "/v2/Users", Some(&body));
        created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("scim2-server made no user: {created}"))
            .to_owned()
    }

    /// The user with id `id`, as the server holds it now.
    pub fn user(&self, id: &str) -> serde_json::Value {
        self.request("GET", &format!("/v2/Users/{id}"), None)
    }

    /// One request over plain HTTP/1.0 (so the answer is neither chunked nor kept alive).
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        use std::io::{Read, Write};
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))
            .expect("scim2-server accepts connections");
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("the request is sent");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("scim2-server answers");
        let (_, json) = answer
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{method} {path}: {e}: {json}"))
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
