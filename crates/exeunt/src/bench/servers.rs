//! `exeunt serve` processes for a benchmark to load from this one, and HAProxy in front of
//! several: what a server costs is read from its own accounting in /proc, apart from the load.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::AsyncBufReadExt;

use super::measure::{CpuTime, cpu_of, status_kb};

/// Where a benchmark's servers keep their data.
#[derive(Clone)]
pub(super) enum Database {
    /// `exeunt.db` in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// Runs `sql` with `psql` on the database at `url`.
pub(super) fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("psql runs")?;
    if !out.status.success() {
        anyhow::bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

impl Database {
    /// Gathers PostgreSQL's statistics of every table now, as autovacuum does once a table
    /// has grown by a tenth (SQLite plans without them).
    pub(super) fn analyze(&self) -> anyhow::Result<()> {
        match self {
            Database::Sqlite(_) => Ok(()),
            Database::Postgres(url) => psql(url, "ANALYZE"),
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "SQLite",
            Database::Postgres(_) => "PostgreSQL",
        }
    }

    pub(super) async fn open(&self) -> anyhow::Result<store::Store> {
        Ok(match self {
            Database::Sqlite(dir) => store::Store::sqlite(&dir.join("exeunt.db"), true).await?,
            Database::Postgres(url) => store::Store::postgres(url).await.context("--postgres")?,
        })
    }
}

/// One `exeunt serve` of this binary, stopped (SIGTERM) when dropped.
pub(super) struct Serve {
    child: tokio::process::Child,
    pid: i32,
    /// `http://127.0.0.1:port`
    pub(super) base: String,
}

impl Serve {
    /// Starts a server on `database` with the master key `key` and waits until it serves.
    pub(super) async fn start(database: &Database, key: &app::MasterKey) -> anyhow::Result<Self> {
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("EXEUNT_MASTER_KEY", key.encode())
            .env("EXEUNT_LOG", "warn")
            .env_remove("EXEUNT_KEYRING")
            .env_remove("EXEUNT_CONFIG")
            .env_remove("EXEUNT_SMTP_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        match database {
            Database::Sqlite(dir) => command
                .env("EXEUNT_DATA_DIR", dir)
                .env_remove("EXEUNT_DATABASE_URL"),
            Database::Postgres(url) => command.env("EXEUNT_DATABASE_URL", url),
        };
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut base = None;
        while let Some(line) = lines.next_line().await? {
            if let Some((_, after)) = line
                .split_once("Exeunt serves")
                .and_then(|(_, l)| l.split_once(" on "))
            {
                base = after.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
        let base = base.context("the server did not say where it serves")?;
        // Whatever else it says goes nowhere, rather than filling a pipe nobody reads.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .context("the server exited")?;
        Ok(Self { child, pid, base })
    }

    /// The CPU time the server has used so far.
    pub(super) fn cpu(&self) -> anyhow::Result<CpuTime> {
        cpu_of(&format!("/proc/{}/stat", self.pid))
    }

    /// Resident memory now (`VmRSS`) or at its peak (`VmHWM`), in bytes.
    pub(super) fn memory(&self, field: &str) -> anyhow::Result<u64> {
        Ok(status_kb(&format!("/proc/{}/status", self.pid), field)? * 1024)
    }

    /// Stops the server as an operator would, and waits for it.
    pub(super) async fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) with a pid this process started and has not yet reaped.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => self.child.kill().await?,
        }
        Ok(())
    }
}

/// HAProxy spreading requests round-robin over servers; stopped when dropped.
pub(super) struct Balancer {
    _child: tokio::process::Child,
    pub(super) base: String,
}

impl Balancer {
    pub(super) async fn start(dir: &Path, servers: &[Serve]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let backends: String = servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let address = s.base.trim_start_matches("http://");
                format!("    server s{i} {address}\n")
            })
            .collect();
        let config = dir.join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "global\n    maxconn 512\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    http-reuse always\nfrontend exeunt\n    bind 127.0.0.1:{port}\n    default_backend servers\nbackend servers\n    balance roundrobin\n{backends}"
            ),
        )?;
        let child = tokio::process::Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start haproxy (apt-get install haproxy)")?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Self {
                    _child: child,
                    base: format!("http://127.0.0.1:{port}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("haproxy did not listen on 127.0.0.1:{port} within 5 s")
    }
}

/// The CPU time of every PostgreSQL process on this machine so far: the database's share of
/// a benchmark that runs alone (it counts other databases' work too).
pub(super) fn postgres_cpu() -> anyhow::Result<CpuTime> {
    let mut total = CpuTime::default();
    for entry in std::fs::read_dir("/proc")?.filter_map(Result::ok) {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "postgres"
            && let Ok(cpu) = cpu_of(&entry.path().join("stat").to_string_lossy())
        {
            total = total + cpu;
        }
    }
    Ok(total)
}
