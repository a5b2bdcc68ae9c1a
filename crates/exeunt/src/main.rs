//! `exeunt`: offboarding you can prove, from a terminal.

mod bench;
mod certificates;
mod cli;
mod commands;
mod config;
mod output;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    return_large_blocks_when_freed();
    let args = match config::parse() {
        Ok(args) => args,
        Err(config::ParseError::Config(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
        Err(config::ParseError::Clap(e)) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: clap's first, which names the argument at fault.
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        // Its reader stopped a streamed output short: quietly, with the status a program
        // killed by SIGPIPE has in a shell.
        Err(_) if output::reader_gone() => ExitCode::from(141),
        Err(e) => {
            // The whole chain on one line: what failed, then why.
            let mut line = e.to_string();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !line.contains(&cause) {
                    line.push_str(": ");
                    line.push_str(&cause);
                }
            }
            eprintln!("error: {}", line.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// glibc's malloc raises its mmap threshold to the size of the largest block freed: after the
/// first sign-in, every Argon2id hash (19 MiB) came from an arena that kept it, and an idle
/// server that 100 people had signed in to held 149 MB. A fixed threshold (which also turns
/// that adjustment off) keeps blocks of 4 MiB and more mapped on their own, so freeing one
/// gives it back to the system. Smaller buffers, the 1 MiB pieces of a file among them, are
/// not affected.
fn return_large_blocks_when_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes a malloc setting; it runs first in main, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}
