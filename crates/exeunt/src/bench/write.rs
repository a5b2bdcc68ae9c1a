//! `exeunt bench write`: completing tasks, one durable transaction each, against the fsync probe.

use std::path::Path;
use std::time::{Duration, Instant};

use engine::ids::Slug;

use super::fixture::{TASKS_PER_CASE, open_cases, setup};
use super::measure::{CpuTime, fsync_probe, percentile, process_cpu};
use crate::output::say;

/// Rounds of the write benchmark: each runs the probe, then its share of the operations. A
/// shared machine's disk speeds up and slows down within seconds, so probe and workload take
/// turns rather than one running after the other.
const WRITE_ROUNDS: u32 = 10;

pub(super) async fn write(dir: &Path, ops: u32) -> anyhow::Result<()> {
    let (app, actor) = setup(dir).await?;
    let numbers = open_cases(&app, &actor, "client", ops.div_ceil(TASKS_PER_CASE)).await?;
    let mut remaining = numbers
        .iter()
        .flat_map(|number| (0..TASKS_PER_CASE).map(move |t| (*number, t)))
        .take(ops as usize);
    let mut latencies = Vec::with_capacity(ops as usize);
    let (mut writing, mut cpu) = (Duration::ZERO, CpuTime::default());
    let (mut probes, mut round_ratios) = (Vec::new(), Vec::new());
    for round in 0..WRITE_ROUNDS {
        let probe = fsync_probe(dir, Duration::from_millis(200))?;
        probes.push(probe);
        let share = (ops / WRITE_ROUNDS + u32::from(round < ops % WRITE_ROUNDS)) as usize;
        let cpu_before = process_cpu()?;
        let start = Instant::now();
        for (number, t) in remaining.by_ref().take(share) {
            let task = Slug::parse(&format!("t{t}"))?;
            let began = Instant::now();
            app.complete_task(&actor, number, &task, None, Vec::new())
                .await?;
            latencies.push(began.elapsed());
        }
        let elapsed = start.elapsed();
        writing += elapsed;
        cpu = cpu + (process_cpu()? - cpu_before);
        round_ratios.push(share as f64 / elapsed.as_secs_f64() / probe);
    }
    latencies.sort();
    round_ratios.sort_by(f64::total_cmp);
    let rate = latencies.len() as f64 / writing.as_secs_f64();
    // Every round probes for the same time, so the mean rate is the overall one.
    let probe = probes.iter().sum::<f64>() / probes.len() as f64;
    say!(
        "bench write: complete a task (state change + audit event, one transaction), SQLite WAL synchronous=FULL, 1 writer"
    );
    say!("  operations      {}", latencies.len());
    say!("  throughput      {rate:.0} ops/s");
    say!(
        "  latency p50     {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3
    );
    say!(
        "  latency p99     {:.2} ms",
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    say!(
        "  fsync probe     {probe:.0} fdatasync/s (same directory, taking turns with the writes over {WRITE_ROUNDS} rounds)"
    );
    say!(
        "  ratio           {:.2} × the probe (target ≥ 0.50); by round {:.2} to {:.2}",
        rate / probe,
        round_ratios.first().copied().unwrap_or_default(),
        round_ratios.last().copied().unwrap_or_default(),
    );
    let per_op = |d: Duration| d.as_secs_f64() / latencies.len() as f64 * 1e6;
    say!(
        "  CPU per op      {:.0} µs in Exeunt and SQLite, {:.0} µs in the kernel (writing the log and syncing it)",
        per_op(cpu.user),
        per_op(cpu.system)
    );
    Ok(())
}
