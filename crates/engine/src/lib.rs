//! The offboarding domain of Exeunt.
//!
//! Blueprints and their lint, conditions (CEL), due-date arithmetic, the case and task state
//! machine, precheck findings and the audit chain's hashing. This crate does no I/O: callers
//! pass the clock's reading, the actor and the data, and store what comes back.

pub mod act;
pub mod audit;
pub mod blueprint;
pub mod case;
pub mod certificate;
pub mod condition;
pub mod connector;
pub mod due;
pub mod export;
pub mod fields;
pub mod gate;
pub mod governance;
pub mod ids;
pub mod job;
pub mod plan;
pub mod revocation;
pub mod subject;
pub mod teams;
pub mod tenant;
pub mod wording;
