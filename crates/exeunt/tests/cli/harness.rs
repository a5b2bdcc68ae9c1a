//! What every test of the binary uses: a data dir (and maybe a PostgreSQL database) to run
//! `exeunt` in, the shape of a refusal, and the small waits and HTTP reads of tests that run a
//! server.

use std::path::PathBuf;
use std::process::{Command, Output};

/// An exit date for cases whose dates do not matter to the test: far enough ahead that no
/// reminder, digest or overdue warning falls due while it runs, whatever the day.
pub const LATER: &str = "2099-12-31";

pub struct Exeunt {
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
}

impl Exeunt {
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    pub async fn postgres(test: &str) -> Option<Self> {
        let url = testkit::fresh_postgres(test).await?;
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: Some(url),
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs SQL on this Exeunt's database behind its back, as an intruder would.
    pub async fn execute_behind_the_store(&self, sql: &str) {
        let location = match &self.database_url {
            Some(url) => store::Location::Postgres(url.clone()),
            None => store::Location::Sqlite(self.data_dir().join("exeunt.db")),
        };
        testkit::execute_behind_the_store(&location, sql).await;
    }

    /// An admin token for the owner, named `name`, as `token create` prints it.
    pub fn admin_token(&self, name: &str) -> String {
        let issued = self.ok(&[
            "token",
            "create",
            "--name",
            name,
            "--role",
            "admin",
            "--for",
            "owner@example.com",
        ]);
        issued.lines().nth(1).unwrap().to_owned()
    }

    /// `exeunt args…` on this data dir (and database), with nothing from the caller's
    /// environment that would change what it does.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exeunt"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("EXEUNT_DATA_DIR", self.data_dir())
            .env_remove("EXEUNT_DATABASE_URL")
            .env_remove("EXEUNT_KEYRING")
            .env_remove("EXEUNT_MASTER_KEY")
            .env_remove("EXEUNT_TENANT")
            .env_remove("EXEUNT_ACTOR")
            .env_remove("EXEUNT_SMTP_URL")
            .env_remove("EXEUNT_JOB_LEASE");
        if let Some(url) = &self.database_url {
            cmd.env("EXEUNT_DATABASE_URL", url);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `exeunt args…` as a person at a terminal runs it, in a pseudo-terminal (util-linux's
    /// `script`): everything the terminal was sent, escape codes and all. It must succeed.
    pub fn on_terminal(&self, args: &[&str]) -> String {
        let exeunt = self.command(args);
        let quoted =
            |arg: &std::ffi::OsStr| format!("'{}'", arg.to_string_lossy().replace('\'', r"'\''"));
        let line: Vec<String> = std::iter::once(exeunt.get_program())
            .chain(exeunt.get_args())
            .map(quoted)
            .collect();
        let mut terminal = Command::new("script");
        terminal
            .args([
                "--quiet",
                "--return",
                "--command",
                &line.join(" "),
                "/dev/null",
            ])
            .current_dir(self.dir.path());
        for (name, value) in exeunt.get_envs() {
            match value {
                Some(value) => terminal.env(name, value),
                None => terminal.env_remove(name),
            };
        }
        let out = terminal.output().unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "exeunt {args:?} failed on a terminal: {shown}"
        );
        shown
    }

    /// `exeunt serve` on a free port with `args`, once it says it serves; and where.
    pub fn serve(&self, args: &[&str]) -> (Served, String) {
        use std::io::{BufRead, BufReader};
        let mut child = self
            .command(&[&["serve", "--listen", "127.0.0.1:0"], args].concat())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("Exeunt serves"))
            .and_then(|l| {
                let (_, after) = l.split_once(" on ")?;
                Some(after.split_whitespace().next()?.to_owned())
            })
            .expect("exeunt serve says where it serves");
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (Served(child), base)
    }

    /// Runs a command that must succeed, and returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "exeunt {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Everything the tenant holds, as the audit log and the listings show it.
    pub fn snapshot(&self) -> (String, String, String) {
        (
            self.ok(&["audit", "export"]),
            self.ok(&["subject", "list", "--all", "--json"]),
            self.ok(&["case", "list", "--json"]),
        )
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The `host:port` of a server's base URL, for the raw HTTP helpers.
pub fn host(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// A running `exeunt serve`. It is killed when dropped, so that a test that fails midway
/// leaves no server behind holding its database.
pub struct Served(std::process::Child);

impl std::ops::Deref for Served {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A refusal: the expected exit code, one line on stderr that starts with `error:` and
/// contains `phrase`, and no panic.
pub fn assert_refused(out: &Output, code: i32, phrase: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}; stderr: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected, got: {err}"
    );
    assert!(err.starts_with("error:"), "{err}");
    assert!(err.contains(phrase), "expected {phrase:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A raw HTTP/1.1 GET, so that this test needs no HTTP client: (status line, body).
pub fn http_get(addr: &str, path: &str, token: &str) -> (String, String) {
    let (status, _, body) = try_http(addr, "GET", path, token, None, &[]).unwrap();
    (status, body)
}

/// One HTTP/1.1 request on a connection of its own, with a JSON body when given and `headers`:
/// the status line, the headers (lowercased names) and the body; an error when no whole
/// answer came (the server was not there, or went away before it answered).
pub fn try_http(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    json: Option<&str>,
    headers: &[(&str, &str)],
) -> std::io::Result<(String, String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    let body = json.unwrap_or("");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n");
    if json.is_some() {
        head += &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    for (name, value) in headers {
        head += &format!("{name}: {value}\r\n");
    }
    write!(stream, "{head}Connection: close\r\n\r\n{body}")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed before an answer",
        ));
    };
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").to_owned();
    let headers = lines.map(str::to_lowercase).collect::<Vec<_>>().join("\n");
    let promised = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|n| n.trim().parse::<usize>().ok());
    if promised.is_some_and(|n| n != body.len()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed mid-answer",
        ));
    }
    Ok((status, headers, body.to_owned()))
}

/// Waits up to `limit` for `done`; false when it never held.
pub fn eventually(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    done()
}
