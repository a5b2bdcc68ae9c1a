//! `exeunt bench`: measured figures, each next to a limit measured in the same run.
//!
//! Both benchmarks work in a fresh directory under the current one (not /tmp, which may be a
//! RAM disk) and delete it afterwards.

mod api;
mod audit;
mod export;
mod fanout;
mod fixture;
mod jobs;
mod load;
mod measure;
mod offboard;
mod records;
mod scale;
mod servers;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::BenchCmd;

pub async fn run(cmd: &BenchCmd) -> anyhow::Result<ExitCode> {
    if let BenchCmd::JobWorker {
        postgres,
        name,
        concurrency,
    } = cmd
    {
        jobs::worker_process(postgres, name, *concurrency).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let dir = BenchDir::create()?;
    match cmd {
        BenchCmd::Write { ops } => write::write(&dir.0, *ops).await?,
        BenchCmd::Audit { events } => audit::audit(&dir.0, *events).await?,
        BenchCmd::Api { ops } => api::api(&dir.0, *ops).await?,
        BenchCmd::Fanout { clients } => fanout::fanout(&dir.0, *clients).await?,
        BenchCmd::Export {
            documents,
            mib,
            postgres,
        } => export::export(&dir.0, *documents, *mib, postgres.as_deref()).await?,
        BenchCmd::Jobs { jobs, postgres } => jobs::jobs(&dir.0, *jobs, postgres.as_deref()).await?,
        BenchCmd::Records { records, postgres } => {
            records::records(&dir.0, *records, postgres.as_deref()).await?
        }
        BenchCmd::Offboard {
            employees,
            tasks,
            postgres,
            servers,
        } => {
            offboard::offboard(
                &dir.0,
                *employees,
                *tasks,
                postgres.as_deref(),
                usize::from(*servers),
            )
            .await?
        }
        BenchCmd::Scale {
            cases,
            requests,
            postgres,
            skip_sqlite,
        } => scale::scale(&dir.0, *cases, *requests, postgres.as_deref(), *skip_sqlite).await?,
        BenchCmd::JobWorker { .. } => unreachable!("run above, without a scratch directory"),
    }
    Ok(ExitCode::SUCCESS)
}

struct BenchDir(PathBuf);

impl BenchDir {
    fn create() -> anyhow::Result<Self> {
        let path = PathBuf::from(format!("exeunt-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
