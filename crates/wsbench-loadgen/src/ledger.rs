//! Delivery accounting of one receiver: which (sender, sequence) pairs it has seen.

/// What one receiving client has seen of the measured probes of every sender it hears.
///
/// The senders a client hears are its *lanes* (the plan numbers them: every sender in a
/// broadcast, its room's in rooms, itself in echo). All lanes live in one buffer, allocated
/// at the first probe, a row per lane: the highest sequence seen so far, then a bit per
/// sequence of the lane's schedule. Recording a delivery reads one row, where the old
/// layout (a track per sender pointing to its own bitset) read two places: at 100,000
/// deliveries a second spread over 1,000 clients every ledger is cold, and that second
/// cache miss was most of the ledger's cost (docs/cost-breakdown.md).
#[derive(Debug, Default)]
pub struct Ledger {
    /// `lanes` rows of `1 + seqs.div_ceil(64)` words; empty until the first probe.
    rows: Box<[u64]>,
    lanes: u32,
    seqs: u32,
}

/// What recording one delivery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// First time, in order.
    New,
    /// First time, but after a later probe of the same sender.
    OutOfOrder,
    /// Seen before.
    Duplicate,
    /// A lane or sequence outside the plan: not one of ours.
    Foreign,
}

impl Ledger {
    /// A ledger for `lanes` senders of `seqs_per_sender` probes each (each at most
    /// `u32::MAX`: a plan's senders are clients, and a schedule that long would not fit
    /// a bitset in memory anyway).
    pub fn new(lanes: u64, seqs_per_sender: u64) -> Self {
        Self {
            rows: Box::default(),
            lanes: u32::try_from(lanes).unwrap_or(u32::MAX),
            seqs: u32::try_from(seqs_per_sender).unwrap_or(u32::MAX),
        }
    }

    /// Words per row: the highest sequence seen (plus one; 0 for none), then the bitset.
    fn stride(&self) -> usize {
        1 + self.seqs.div_ceil(64) as usize
    }

    /// Records that the probe `seq` of the sender on lane `lane` arrived.
    pub fn record(&mut self, lane: u32, seq: u64) -> Delivery {
        if lane >= self.lanes || seq >= u64::from(self.seqs) {
            return Delivery::Foreign;
        }
        let stride = self.stride();
        if self.rows.is_empty() {
            self.rows = vec![0; self.lanes as usize * stride].into_boxed_slice();
        }
        let row = &mut self.rows[lane as usize * stride..][..stride];
        let (word, bit) = (1 + (seq / 64) as usize, 1u64 << (seq % 64));
        if row[word] & bit != 0 {
            return Delivery::Duplicate;
        }
        row[word] |= bit;
        if seq + 1 < row[0] {
            Delivery::OutOfOrder
        } else {
            row[0] = seq + 1;
            Delivery::New
        }
    }

    /// Bytes it holds on the heap.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_tells_new_duplicate_out_of_order_and_foreign_apart() {
        let mut l = Ledger::new(2, 100);
        assert_eq!(l.heap_bytes(), 0, "nothing allocated before a probe");
        assert_eq!(l.record(0, 0), Delivery::New);
        assert_eq!(l.record(0, 2), Delivery::New);
        assert_eq!(l.record(0, 1), Delivery::OutOfOrder);
        assert_eq!(l.record(0, 2), Delivery::Duplicate);
        assert_eq!(l.record(1, 2), Delivery::New);
        assert_eq!(l.record(1, 99), Delivery::New);
        assert_eq!(l.record(1, 100), Delivery::Foreign);
        assert_eq!(l.record(2, 0), Delivery::Foreign);
        // Two rows of a highest word and two bitset words.
        assert_eq!(l.heap_bytes(), 2 * 3 * 8);
    }

    #[test]
    fn rows_do_not_spill_into_each_other() {
        // 64 sequences fill one word exactly; the last of lane 0 must not mark lane 1.
        let mut l = Ledger::new(2, 64);
        assert_eq!(l.record(0, 63), Delivery::New);
        assert_eq!(l.record(1, 63), Delivery::New);
        assert_eq!(l.record(1, 0), Delivery::OutOfOrder);
        assert_eq!(l.record(0, 0), Delivery::OutOfOrder);
        assert_eq!(l.record(0, 63), Delivery::Duplicate);
        assert_eq!(l.record(0, 64), Delivery::Foreign);
    }
}
