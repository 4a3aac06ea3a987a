//! The record stage's vocabulary: the id a store gives each callback, and
//! what the store found when a callback arrived.
//!
//! With an [inbox](crate::inbox), the pipeline records every callback that
//! parsed before it is answered, and acts on the [`Recorded`] the store
//! returns:
//!
//! | [`Recorded`] | what the pipeline does |
//! | --- | --- |
//! | `New(id)` | answers a notification at once and runs its handler from the inbox; runs a validation's handler under its deadline, answers the verdict, then stores it |
//! | `Conflicting { id, number }` | the same as `New`: a body that differs from every one stored under the same id, stored as delivery `number` (see [`Delivery`](crate::Delivery)) |
//! | `Duplicate { verdict: Some(v), .. }` on C2B validation | answers `v`, the verdict already given; the handler does not run |
//! | `Duplicate { verdict: None, .. }` on C2B validation | runs the handler for a verdict (none was recorded) and stores it |
//! | `Duplicate { .. }` on any other kind | answers the kind's acknowledgement; the handler does not run |
//!
//! A store that cannot record answers an error instead
//! ([`StoreError`](crate::inbox::StoreError)): the pipeline answers 500 and
//! logs at error, never 503, never 200 for what was not stored.

use std::fmt;

use crate::response::Validation;

/// A store's own id for a stored callback.
///
/// ```
/// use pesakit::record::RecordId;
///
/// assert_eq!(RecordId(42).to_string(), "42");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u64);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a store found when it recorded a callback.
///
/// ```
/// use pesakit::record::{RecordId, Recorded};
///
/// let recorded = Recorded::Conflicting { id: RecordId(7), number: 2 };
/// assert_eq!(recorded.id(), RecordId(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Stored for the first time as `id`.
    New(RecordId),
    /// Stored as `id`, delivery `number` (2 or more) of a callback whose
    /// earlier deliveries each had another body: its handler runs, and the
    /// callback needs reconciling.
    Conflicting {
        /// The new delivery's record.
        id: RecordId,
        /// Which delivery it is: 2 for the first conflicting one.
        number: u32,
    },
    /// Stored before as `id`.
    Duplicate {
        /// The earlier record.
        id: RecordId,
        /// For C2B validation, the verdict given then, if one was recorded.
        verdict: Option<Validation>,
    },
}

impl Recorded {
    /// The record the callback is stored as, new or found.
    pub fn id(&self) -> RecordId {
        match self {
            Self::New(id) | Self::Conflicting { id, .. } | Self::Duplicate { id, .. } => *id,
        }
    }
}
