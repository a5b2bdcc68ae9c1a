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
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
