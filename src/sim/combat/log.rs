//! The combat log of one session: a bounded ring of numbered events. When full, the oldest entry
//! is overwritten; sequence numbers keep counting, so a reader sees what it missed.

use super::kinds::SessionStatus;

/// What happened, with the participants involved by their slot in the session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogEvent {
    /// `attacker` fired or used an ability at `target` (a participant slot, if aimed at one).
    Attack {
        /// Who acted.
        attacker: u16,
        /// The participant aimed at, if any.
        target: Option<u16>,
    },
    /// A hit landed.
    Hit {
        /// Who dealt it (`None`: a status effect's pulse).
        attacker: Option<u16>,
        /// Who took it.
        target: u16,
        /// Health lost.
        damage: f32,
        /// Whether it was a critical hit.
        crit: bool,
    },
    /// `healer` restored `amount` health to `target`.
    Heal {
        /// Who healed.
        healer: u16,
        /// Who was healed.
        target: u16,
        /// Health restored.
        amount: f32,
    },
    /// `target` died; `killer` dealt the last hit (`None`: a status effect).
    Kill {
        /// Who killed.
        killer: Option<u16>,
        /// Who died.
        target: u16,
    },
    /// A status effect (index in `combat/effects.toml` name order) was applied to `target`.
    EffectApplied {
        /// Who carries it.
        target: u16,
        /// Which effect.
        effect: u8,
        /// Stacks after applying.
        stacks: u8,
    },
    /// A status effect ran out on `target`.
    EffectExpired {
        /// Who carried it.
        target: u16,
        /// Which effect.
        effect: u8,
    },
    /// A participant joined.
    Joined {
        /// The new participant.
        participant: u16,
    },
    /// A participant left (or extracted, or disconnected).
    Left {
        /// Who left.
        participant: u16,
    },
    /// The session changed status.
    StateChanged {
        /// The new status.
        status: SessionStatus,
    },
}

/// One numbered entry of a [`CombatLog`]: 20 bytes, since every session read copies its log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogEntry {
    /// Position in the session's whole history, from 1 (wrapping after 2³² entries).
    pub seq: u32,
    /// When it happened, in ticks after the session's creation.
    pub after_ticks: u32,
    /// What happened.
    pub event: LogEvent,
}

/// A ring of the latest `capacity` entries.
#[derive(Debug, Clone, Default)]
pub struct CombatLog {
    entries: Vec<LogEntry>,
    capacity: usize,
    /// Entries ever written; the newest has this sequence number.
    written: u64,
    /// The tick entry times count from.
    origin_tick: u64,
}

impl CombatLog {
    /// Empties the log for a session created at `origin_tick` and sets its capacity, keeping the
    /// allocation when it is large enough.
    pub(crate) fn reset(&mut self, capacity: usize, origin_tick: u64) {
        self.entries.clear();
        self.entries.reserve(capacity);
        self.capacity = capacity.max(1);
        self.written = 0;
        self.origin_tick = origin_tick;
    }

    /// Appends `event`, overwriting the oldest entry when full.
    pub(crate) fn push(&mut self, tick: u64, event: LogEvent) {
        self.written += 1;
        let entry = LogEntry {
            seq: self.written as u32,
            after_ticks: u32::try_from(tick.saturating_sub(self.origin_tick)).unwrap_or(u32::MAX),
            event,
        };
        if self.entries.len() < self.capacity {
            self.entries.push(entry);
        } else {
            let at = ((self.written - 1) % self.capacity as u64) as usize;
            if let Some(slot) = self.entries.get_mut(at) {
                *slot = entry;
            }
        }
    }

    /// The kept entries, oldest first, as the two runs of the ring.
    pub fn as_slices(&self) -> (&[LogEntry], &[LogEntry]) {
        let split = if self.entries.len() < self.capacity {
            0
        } else {
            (self.written % self.capacity as u64) as usize
        };
        let (newer, older) = self.entries.split_at(split.min(self.entries.len()));
        (older, newer)
    }

    /// The kept entries numbered after `seq`, oldest first, as two runs. Worked out from the
    /// counts alone, since kept entries are numbered consecutively up to [`written`](Self::written):
    /// a reader following a session does not touch entries it already holds. (Sequence numbers are
    /// taken not to have wrapped, which needs 2³² entries in one session.)
    pub fn after(&self, seq: u32) -> (&[LogEntry], &[LogEntry]) {
        let (older, newer) = self.as_slices();
        let kept = older.len() + newer.len();
        let wanted = self.written.saturating_sub(u64::from(seq)).min(kept as u64) as usize;
        match wanted.checked_sub(newer.len()) {
            None => (&[], &newer[newer.len() - wanted..]),
            Some(from_older) => (&older[older.len() - from_older..], newer),
        }
    }

    /// Entries ever written.
    pub fn written(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(participant: u16) -> LogEvent {
        LogEvent::Joined { participant }
    }

    fn entries(log: &CombatLog) -> Vec<LogEntry> {
        let (older, newer) = log.as_slices();
        [older, newer].concat()
    }

    #[test]
    fn keeps_the_latest_entries_in_order_with_their_sequence_numbers() {
        let mut log = CombatLog::default();
        log.reset(3, 10);
        for n in 0..5 {
            log.push(10 + u64::from(n), joined(n));
        }
        let seqs: Vec<u32> = entries(&log).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        let events: Vec<LogEvent> = entries(&log).iter().map(|e| e.event).collect();
        assert_eq!(events, [joined(2), joined(3), joined(4)]);
        assert_eq!(log.written(), 5);
        let times: Vec<u32> = entries(&log).iter().map(|e| e.after_ticks).collect();
        assert_eq!(times, [2, 3, 4], "counted from the session's creation at tick 10");
    }

    #[test]
    fn an_entry_takes_twenty_bytes() {
        // Every session read copies the whole log; this is what one entry costs.
        assert_eq!(size_of::<LogEntry>(), 20);
    }

    #[test]
    fn after_gives_exactly_the_entries_numbered_later() {
        for capacity in [1, 3, 4] {
            let mut log = CombatLog::default();
            log.reset(capacity, 0);
            for written in 0..=10u16 {
                for seq in 0..=12u32 {
                    let (older, newer) = log.after(seq);
                    let expected: Vec<LogEntry> = entries(&log).into_iter().filter(|e| e.seq > seq).collect();
                    assert_eq!(
                        [older, newer].concat(),
                        expected,
                        "capacity {capacity}, seq {seq}"
                    );
                }
                log.push(u64::from(written), joined(written));
            }
        }
    }

    #[test]
    fn a_log_not_yet_full_reads_from_the_start() {
        let mut log = CombatLog::default();
        log.reset(4, 0);
        log.push(1, joined(0));
        log.push(2, joined(1));
        assert_eq!(entries(&log).iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    }
}
