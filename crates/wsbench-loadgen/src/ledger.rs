//! Delivery accounting of one receiver: which (sender, sequence) pairs it has seen.

/// What one receiving client has seen of every sender's measured probes.
///
/// One bitset per sender, allocated when that sender's first probe arrives and sized for its
/// whole schedule, so recording a delivery is a bounds check and a bit test.
#[derive(Debug, Default)]
pub struct Ledger {
    senders: Vec<SenderTrack>,
    seqs_per_sender: u64,
}

#[derive(Debug, Default, Clone)]
struct SenderTrack {
    seen: Vec<u64>,
    highest: Option<u64>,
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
    /// A sender or sequence outside the plan: not one of ours.
    Foreign,
}

impl Ledger {
    /// A ledger for `senders` senders of `seqs_per_sender` probes each.
    pub fn new(senders: u64, seqs_per_sender: u64) -> Self {
        Self {
            senders: vec![SenderTrack::default(); senders as usize],
            seqs_per_sender,
        }
    }

    /// Records that `(sender, seq)` arrived.
    pub fn record(&mut self, sender: u32, seq: u64) -> Delivery {
        let Some(track) = self.senders.get_mut(sender as usize) else {
            return Delivery::Foreign;
        };
        if seq >= self.seqs_per_sender {
            return Delivery::Foreign;
        }
        if track.seen.is_empty() {
            track.seen = vec![0; self.seqs_per_sender.div_ceil(64) as usize];
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if track.seen[word] & bit != 0 {
            return Delivery::Duplicate;
        }
        track.seen[word] |= bit;
        match track.highest {
            Some(h) if seq < h => Delivery::OutOfOrder,
            _ => {
                track.highest = Some(seq);
                Delivery::New
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_tells_new_duplicate_out_of_order_and_foreign_apart() {
        let mut l = Ledger::new(2, 100);
        assert_eq!(l.record(0, 0), Delivery::New);
        assert_eq!(l.record(0, 2), Delivery::New);
        assert_eq!(l.record(0, 1), Delivery::OutOfOrder);
        assert_eq!(l.record(0, 2), Delivery::Duplicate);
        assert_eq!(l.record(1, 2), Delivery::New);
        assert_eq!(l.record(1, 99), Delivery::New);
        assert_eq!(l.record(1, 100), Delivery::Foreign);
        assert_eq!(l.record(2, 0), Delivery::Foreign);
    }
}
