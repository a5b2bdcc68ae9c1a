//! A TCP proxy for fault tests. It passes each connection's bytes both ways, until the first
//! request with a given method goes through: that request reaches the target, which does the
//! work, and its answer never comes back. This is what a process killed between a call and its
//! acknowledgement lives through.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const METHODS: [&str; 6] = ["GET /", "HEAD /", "POST /", "PUT /", "PATCH /", "DELETE /"];

pub struct HoldingProxy {
    port: u16,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// The request line of every request that went through, in order.
    requests: Mutex<Vec<String>>,
    /// Whether a connection has taken the one request to hold.
    claimed: AtomicBool,
    /// Whether the target has answered the held request (and the answer was kept back).
    holding: AtomicBool,
}

impl HoldingProxy {
    /// Listens on a free port in front of `127.0.0.1:upstream`; holds back the answer to the
    /// first request whose method is `method`, and passes every other one.
    pub fn start(upstream: u16, method: &'static str) -> HoldingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(target) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || relay(client, target, &shared, method));
            }
        });
        HoldingProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request lines seen so far (`PATCH /v2/Users/… HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().expect("not poisoned").clone()
    }

    /// True once the target has had the held request and its answer was kept back.
    pub fn holding(&self) -> bool {
        self.shared.holding.load(Ordering::SeqCst)
    }
}

/// Copies `client`'s requests to `target` and the answers back, on two threads. An HTTP/1.1
/// client sends its next request on a connection only after the answer to the one before, so
/// once the held request went up, whatever comes down is its answer.
fn relay(mut client: TcpStream, mut target: TcpStream, shared: &Arc<Shared>, method: &str) {
    let hold = Arc::new(AtomicBool::new(false));
    let (Ok(mut from_target), Ok(mut to_client)) = (target.try_clone(), client.try_clone()) else {
        return;
    };
    let held = Arc::clone(&hold);
    let answered = Arc::clone(shared);
    let answers = std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from_target.read(&mut buf) {
            if held.load(Ordering::SeqCst) {
                // The target has answered, so it is done with the request: it is held now.
                answered.holding.store(true, Ordering::SeqCst);
            } else if to_client.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        // A held answer never ends either: the caller keeps waiting, whatever the target did
        // with its side of the connection.
        if !held.load(Ordering::SeqCst) {
            let _ = to_client.shutdown(Shutdown::Write);
        }
    });
    let mut buf = [0u8; 16 * 1024];
    // What came after the last line break, until the rest of its line arrives.
    let mut partial = String::new();
    let mut holding_one = false;
    while let Ok(n @ 1..) = client.read(&mut buf) {
        partial.push_str(&String::from_utf8_lossy(&buf[..n]));
        while let Some(end) = partial.find("\r\n") {
            let text: String = partial.drain(..end + 2).collect();
            let text = text.trim_end();
            // A request line may follow the body of the request before it on the same line.
            let Some(start) = METHODS.iter().filter_map(|m| text.rfind(m)).max() else {
                continue;
            };
            let line = &text[start..];
            if !line.ends_with(" HTTP/1.1") {
                continue;
            }
            shared
                .requests
                .lock()
                .expect("not poisoned")
                .push(line.to_owned());
            if line.starts_with(&format!("{method} ")) && !holding_one {
                holding_one = !shared.claimed.swap(true, Ordering::SeqCst);
                hold.store(holding_one, Ordering::SeqCst);
            }
        }
        if target.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = target.shutdown(Shutdown::Write);
    let _ = answers.join();
}

/// A TCP proxy that passes bytes both ways until told to cut every connection it carries, as a
/// database server's restart does, and that can refuse new connections for a while.
pub struct SeveringProxy {
    port: u16,
    shared: Arc<Severing>,
}

#[derive(Default)]
struct Severing {
    /// Both ends of every connection carried, to cut them.
    streams: Mutex<Vec<TcpStream>>,
    refusing: AtomicBool,
}

impl SeveringProxy {
    /// Listens on a free port in front of `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> SeveringProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let shared = Arc::new(Severing::default());
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if accepting.refusing.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(target) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let ends = [&client, &target].map(|s| s.try_clone());
                if let [Ok(a), Ok(b)] = ends {
                    accepting
                        .streams
                        .lock()
                        .expect("not poisoned")
                        .extend([a, b]);
                }
                for (from, to) in [(&client, &target), (&target, &client)] {
                    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        SeveringProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts every connection carried so far.
    pub fn sever(&self) {
        for stream in self.shared.streams.lock().expect("not poisoned").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Refuses new connections (closes them at once) until told otherwise.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }
}
