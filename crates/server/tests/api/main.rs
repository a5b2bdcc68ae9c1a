//! The HTTP API, spawned on a random port against a real database, spoken to over HTTP: one
//! module per area, each running its tests on both stores.

mod administration;
mod automation;
mod cases;
mod evidence;
mod harness;
mod isolation;
mod requests;
mod sessions;
