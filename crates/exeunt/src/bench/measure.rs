//! What the benchmarks measure with: the fsync probe, percentiles, CPU time and memory in /proc.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

/// fdatasync calls per second on a file in `dir`: the ceiling for one durable commit at a time.
pub(super) fn fsync_probe(dir: &Path, duration: Duration) -> anyhow::Result<f64> {
    let mut file = std::fs::File::create(dir.join("fsync-probe"))?;
    let block = [0x5au8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// This process's peak resident memory since it was last reset, from /proc.
pub(super) fn peak_rss() -> anyhow::Result<u64> {
    Ok(status_kb("/proc/self/status", "VmHWM")? * 1024)
}

/// A figure in kB from a process's status file in /proc: `VmHWM`, `VmRSS`.
pub(super) fn status_kb(path: &str, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(path)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {field} in /proc"))
}

/// CPU time a process has used, from /proc.
#[derive(Clone, Copy, Default)]
pub(super) struct CpuTime {
    pub(super) user: Duration,
    pub(super) system: Duration,
}

impl CpuTime {
    pub(super) fn total(self) -> Duration {
        self.user + self.system
    }
}

impl std::ops::Add for CpuTime {
    type Output = CpuTime;
    fn add(self, other: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// CPU time this process has used so far.
pub(super) fn process_cpu() -> anyhow::Result<CpuTime> {
    cpu_of("/proc/self/stat")
}

/// CPU time a process has used so far, from its `stat` file in /proc.
pub(super) fn cpu_of(stat_file: &str) -> anyhow::Result<CpuTime> {
    /// Linux reports it in clock ticks of 1/100 s on every architecture Exeunt builds for.
    const TICKS_PER_SECOND: u64 = 100;
    let stat =
        std::fs::read_to_string(stat_file).with_context(|| format!("cannot read {stat_file}"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .with_context(|| format!("unexpected {stat_file}"))?
        .1
        .split_whitespace()
        .collect();
    let time = |i: usize| -> anyhow::Result<Duration> {
        let ticks: u64 = fields
            .get(i)
            .with_context(|| format!("unexpected {stat_file}"))?
            .parse()?;
        Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
    };
    // utime and stime: fields 14 and 15 of the line, so 11 and 12 counting from 0 after the name.
    Ok(CpuTime {
        user: time(11)?,
        system: time(12)?,
    })
}
