//! Why a reading was not applied (or was applied with a doubt): one named reason each, with its
//! Vietnamese and English label. Reasons order as declared, so counts print in a stable order.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A named reason. Input reasons (`Malformed`, `Oversized`) reject a message before it is a
/// reading; the others quarantine a reading (`NeighbourOnly` and `ModelOnly` are warnings: the
/// reading is applied, the doubt is counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Not JSON, or not a reading (a field missing, of the wrong type, or unknown).
    Malformed,
    /// The message or file is larger than the configured limit.
    Oversized,
    /// The sensor is not in the registry.
    UnknownSensor,
    /// The unit is not the sensor's and cannot be converted safely to it.
    UnitMismatch,
    /// The sender itself flagged the reading `"quality": "bad"`.
    SenderFlagged,
    /// The time is ahead of the clock by more than the allowed skew.
    Future,
    /// The time is older than the allowed age.
    TooOld,
    /// A reading of this sensor at this time was already received.
    Duplicate,
    /// Earlier than the sensor's latest reading.
    OutOfOrder,
    /// Outside the sensor's valid range.
    OutOfRange,
    /// Changed faster than the sensor's maximum rate of change.
    RateOfChange,
    /// The same value repeated for N readings over at least T seconds (a frozen sensor).
    FlatLine,
    /// A jump that came straight back (one reading off, its neighbours in time agreeing).
    Spike,
    /// Far from the median of its neighbours of the same kind, with no model to vouch for it or
    /// far from the model too (the defence against falsified data).
    NeighbourMismatch,
    /// Warning only: far from its neighbours but the model agrees with it.
    NeighbourOnly,
    /// Warning only: far from the model but its neighbours agree (the model is what assimilation
    /// corrects, so this alone never quarantines).
    ModelOnly,
}

impl Reason {
    /// Every reason, in print order.
    pub const ALL: [Reason; 16] = [
        Reason::Malformed,
        Reason::Oversized,
        Reason::UnknownSensor,
        Reason::UnitMismatch,
        Reason::SenderFlagged,
        Reason::Future,
        Reason::TooOld,
        Reason::Duplicate,
        Reason::OutOfOrder,
        Reason::OutOfRange,
        Reason::RateOfChange,
        Reason::FlatLine,
        Reason::Spike,
        Reason::NeighbourMismatch,
        Reason::NeighbourOnly,
        Reason::ModelOnly,
    ];

    /// Stable code (as stored and printed).
    pub fn code(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Oversized => "oversized",
            Reason::UnknownSensor => "unknown_sensor",
            Reason::UnitMismatch => "unit_mismatch",
            Reason::SenderFlagged => "sender_flagged",
            Reason::Future => "future",
            Reason::TooOld => "too_old",
            Reason::Duplicate => "duplicate",
            Reason::OutOfOrder => "out_of_order",
            Reason::OutOfRange => "out_of_range",
            Reason::RateOfChange => "rate_of_change",
            Reason::FlatLine => "flat_line",
            Reason::Spike => "spike",
            Reason::NeighbourMismatch => "neighbour_mismatch",
            Reason::NeighbourOnly => "neighbour_only",
            Reason::ModelOnly => "model_only",
        }
    }

    /// Inverse of [`Reason::code`].
    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Vietnamese label.
    pub fn vi(self) -> &'static str {
        match self {
            Reason::Malformed => "sai định dạng",
            Reason::Oversized => "quá kích thước",
            Reason::UnknownSensor => "cảm biến không có trong danh mục",
            Reason::UnitMismatch => "sai đơn vị",
            Reason::SenderFlagged => "nguồn gửi đánh dấu hỏng",
            Reason::Future => "thời điểm ở tương lai",
            Reason::TooOld => "quá cũ",
            Reason::Duplicate => "trùng lặp",
            Reason::OutOfOrder => "sai thứ tự thời gian",
            Reason::OutOfRange => "ngoài khoảng hợp lệ",
            Reason::RateOfChange => "thay đổi quá nhanh",
            Reason::FlatLine => "giá trị đứng yên (cảm biến treo)",
            Reason::Spike => "xung nhọn",
            Reason::NeighbourMismatch => "lệch so với cảm biến lân cận",
            Reason::NeighbourOnly => "lệch lân cận, mô hình xác nhận (cảnh báo)",
            Reason::ModelOnly => "lệch mô hình, lân cận xác nhận (cảnh báo)",
        }
    }

    /// English label.
    pub fn en(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Oversized => "oversized",
            Reason::UnknownSensor => "unknown sensor",
            Reason::UnitMismatch => "unit mismatch",
            Reason::SenderFlagged => "flagged bad by the sender",
            Reason::Future => "time in the future",
            Reason::TooOld => "too old",
            Reason::Duplicate => "duplicate",
            Reason::OutOfOrder => "out of order",
            Reason::OutOfRange => "out of range",
            Reason::RateOfChange => "rate of change",
            Reason::FlatLine => "flat line (frozen sensor)",
            Reason::Spike => "spike",
            Reason::NeighbourMismatch => "off its neighbours",
            Reason::NeighbourOnly => "off its neighbours, the model agrees (warning)",
            Reason::ModelOnly => "off the model, the neighbours agree (warning)",
        }
    }

    /// Whether the reading is still applied (a warning) rather than quarantined.
    pub fn is_warning(self) -> bool {
        matches!(self, Reason::NeighbourOnly | Reason::ModelOnly)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Counts of what came in: accepted readings, and each reason's count, in reason order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Readings applied (warnings included).
    pub accepted: u64,
    /// Messages rejected before they were readings, and readings quarantined, per reason.
    pub not_applied: BTreeMap<Reason, u64>,
    /// Applied readings that carried a warning, per reason.
    pub warnings: BTreeMap<Reason, u64>,
}

impl Counts {
    /// Adds one of `reason` (to warnings if it is one, else to not applied).
    pub fn add(&mut self, reason: Reason) {
        let m = if reason.is_warning() {
            &mut self.warnings
        } else {
            &mut self.not_applied
        };
        *m.entry(reason).or_insert(0) += 1;
    }

    /// Count for one reason (warnings or not applied).
    pub fn get(&self, reason: Reason) -> u64 {
        let m = if reason.is_warning() {
            &self.warnings
        } else {
            &self.not_applied
        };
        m.get(&reason).copied().unwrap_or(0)
    }

    /// Everything not applied.
    pub fn total_not_applied(&self) -> u64 {
        self.not_applied.values().sum()
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, o: &Counts) {
        self.accepted += o.accepted;
        for (r, n) in &o.not_applied {
            *self.not_applied.entry(*r).or_insert(0) += n;
        }
        for (r, n) in &o.warnings {
            *self.warnings.entry(*r).or_insert(0) += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.code()), Some(r));
        }
        let mut codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
    }
}
