//! The `exeunt` binary, run as a person would run it.

mod audit;
mod automation;
mod basics;
mod crash;
mod harness;
mod pipeline;
mod progress;
mod serve;
