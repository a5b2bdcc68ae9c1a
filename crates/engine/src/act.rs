//! Who did something, and when: what every transition of a case or a revocation item records.

use jiff::Timestamp;

use crate::ids::UserId;

/// Who did something, and when.
#[derive(Clone, Copy, Debug)]
pub struct Act {
    pub by: UserId,
    pub at: Timestamp,
}
