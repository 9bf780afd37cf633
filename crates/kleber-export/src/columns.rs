//! What the encoders are told about each output column, and the encoding options.

use std::fmt;
use std::sync::Arc;

use kleber_types::Field;

pub use kleber_types::ColumnKind;

/// One column of the output, matched by position with the columns of the record batches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutputColumn {
    /// JSON key and CSV header.
    pub key: String,
    /// Human label, the CSV header when `use_labels` is set.
    pub label: String,
    /// How values are encoded.
    pub kind: ColumnKind,
}

impl OutputColumn {
    /// A column with its key, label and kind.
    pub fn new(key: impl Into<String>, label: impl Into<String>, kind: ColumnKind) -> Self {
        OutputColumn { key: key.into(), label: label.into(), kind }
    }

    /// A [`ColumnKind::Plain`] column whose label is its key (query expressions).
    pub fn plain(key: impl Into<String>) -> Self {
        let key = key.into();
        OutputColumn { label: key.clone(), key, kind: ColumnKind::Plain }
    }

    /// The column of a stored dataset field: key = name, label = label, kind from the type.
    pub fn from_field(field: &Field) -> Self {
        OutputColumn::new(
            field.name.clone(),
            field.label.clone(),
            ColumnKind::for_field_type(field.field_type),
        )
    }
}

/// Gives the offset from UTC, in seconds, in force at an instant (seconds since the Unix epoch,
/// UTC). Lets the caller plug in a real time zone with daylight saving time.
pub type OffsetFn = Arc<dyn Fn(i64) -> i32 + Send + Sync>;

/// Options of the value encoding shared by every format.
#[derive(Clone, Default)]
pub struct EncodeOptions {
    /// Offset from UTC, in seconds, in which instants (Arrow timestamps) are rendered, e.g.
    /// `7200` for `+02:00`. Default 0 (`+00:00`). Ignored when [`Self::offset_fn`] is set.
    pub utc_offset_seconds: i32,
    /// When set, gives the offset per instant (time zones with DST); overrides
    /// [`Self::utc_offset_seconds`].
    pub offset_fn: Option<OffsetFn>,
}

impl EncodeOptions {
    /// Options rendering instants at a fixed offset from UTC.
    pub fn with_utc_offset(seconds: i32) -> Self {
        EncodeOptions { utc_offset_seconds: seconds, offset_fn: None }
    }

    /// Options rendering instants at the offset `f` gives for each instant.
    pub fn with_offset_fn(f: impl Fn(i64) -> i32 + Send + Sync + 'static) -> Self {
        EncodeOptions { utc_offset_seconds: 0, offset_fn: Some(Arc::new(f)) }
    }

    /// The offset in force at `utc_seconds`.
    #[inline]
    pub fn offset_at(&self, utc_seconds: i64) -> i32 {
        match &self.offset_fn {
            Some(f) => f(utc_seconds),
            None => self.utc_offset_seconds,
        }
    }
}

impl fmt::Debug for EncodeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodeOptions")
            .field("utc_offset_seconds", &self.utc_offset_seconds)
            .field("offset_fn", &self.offset_fn.as_ref().map(|_| "<fn>"))
            .finish()
    }
}
