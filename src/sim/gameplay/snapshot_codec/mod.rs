//! Byte format of a game-state snapshot and of its delta against a baseline snapshot.
//!
//! This module owns the wire encoding only. It sees an entity as `(id, qx, qy)` with the position
//! already quantized, and knows nothing of the ECS, of transport, or of how baselines get acknowledged:
//! the caller picks the baseline, and both ends must hold the same state for `baseline_seq` for a delta
//! to reproduce the sender's state.
//!
//! # Format
//!
//! Every integer is an LEB128 varint (7 bits per byte, least significant group first, high bit set
//! when more bytes follow). Signed values are zigzag-mapped first so small magnitudes of either sign
//! stay short.
//!
//! ```text
//! snapshot := seq baseline_seq tick  n_removed gap{n_removed}  n_entries entry{n_entries}
//! seq, baseline_seq : u32        baseline_seq = 0 means a full snapshot: the baseline is empty
//! tick              : u64
//! gap               : first id of a list as is, then id - previous_id - 1 (ids strictly ascending)
//! removed ids       : ids the baseline has and the snapshot does not
//! entry             : tag x y, with tag = (gap << 1) | is_new
//!   is_new = 1      : x = zigzag(qx), y = zigzag(qy)                    absolute position
//!   is_new = 0      : x = zigzag(qx - base.qx), y = zigzag(qy - base.qy)  against the baseline entry
//! ```
//!
//! Entities present in both with identical state are not written; the decoder copies them from the
//! baseline. Deltas are taken in `i64`, so any pair of `i32` positions has an encoding; the decoder
//! rejects a delta whose result leaves the `i32` range. While id gaps stay under 64 and moves within
//! ±63 steps per axis, a changed entity costs exactly 3 bytes.
//!
//! Decoding treats its input as hostile: every read is bounds-checked, every count is checked
//! against the bytes left before anything is reserved, id and position arithmetic is checked, and
//! the encoding must be consumed exactly. No byte string can make [`decode`] panic.

use std::cmp::Ordering;

/// One entity's state as a snapshot carries it: quantized position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EntityState {
    /// Stable entity id; unique within a snapshot.
    pub id: u32,
    /// X position in quantization steps (see [`quantize`]).
    pub qx: i32,
    /// Y position in quantization steps (see [`quantize`]).
    pub qy: i32,
}

/// What a snapshot's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Sequence number of this snapshot.
    pub seq: u32,
    /// Sequence number of the snapshot this one is a delta against; 0 means a full snapshot.
    pub baseline_seq: u32,
    /// Simulation tick the state was captured at.
    pub tick: u64,
}

/// Counts of what one encode wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeStats {
    /// Entities written with an absolute position because the baseline lacks them.
    pub added: u32,
    /// Entities written as a delta against their baseline state.
    pub changed: u32,
    /// Entities left out because their baseline state is identical.
    pub unchanged: u32,
    /// Baseline ids written to the removed list.
    pub removed: u32,
    /// Bytes appended to the output.
    pub bytes: u32,
}

/// Why a byte string is not a valid snapshot against the given baseline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("snapshot truncated")]
    Truncated,
    /// A varint is longer than its type allows or its value exceeds the field's range.
    #[error("varint overflows its field")]
    VarintOverflow,
    /// An id gap pushes the id past `u32::MAX`, so ids cannot be strictly ascending.
    #[error("entity id overflows u32")]
    IdOverflow,
    /// A removed id is not in the baseline.
    #[error("removed id {id} is not in the baseline")]
    RemovedUnknown {
        /// The offending id.
        id: u32,
    },
    /// A delta entry names an id that is not in the baseline.
    #[error("delta for id {id}, which is not in the baseline")]
    DeltaForUnknown {
        /// The offending id.
        id: u32,
    },
    /// An entry marked new names an id the baseline already has.
    #[error("id {id} added but already in the baseline")]
    AddedExisting {
        /// The offending id.
        id: u32,
    },
    /// An id is both in the removed list and among the entries.
    #[error("id {id} is both removed and present")]
    RemovedAndPresent {
        /// The offending id.
        id: u32,
    },
    /// A position, absolute or baseline plus delta, falls outside the `i32` range.
    #[error("position of id {id} overflows i32")]
    PositionOverflow {
        /// The offending id.
        id: u32,
    },
    /// A count exceeds what the remaining bytes could hold.
    #[error("count {count} cannot fit in the {remaining} bytes left")]
    CountTooLarge {
        /// The count as read.
        count: u64,
        /// Bytes left after the count.
        remaining: usize,
    },
    /// Bytes remain after the last entry.
    #[error("{count} trailing bytes after the snapshot")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// The baseline handed to the decoder is not sorted by strictly ascending id.
    #[error("baseline ids are not strictly ascending")]
    UnsortedBaseline,
}

/// Quantizes metres to integer steps of `precision_m` (round to nearest, saturating to the i32 range; NaN -> 0).
pub fn quantize(value_m: f32, precision_m: f32) -> i32 {
    // f64 keeps the scaling exact enough that large coordinates still round to the nearest step.
    // A multiplication by the reciprocal, which a caller's loop computes once, costs a fraction
    // of a division per coordinate.
    let steps = f64::from(value_m) * (1.0 / f64::from(precision_m));
    // Round half away from zero by truncation: `as` is one instruction, where `f64::round` is a
    // library call on baseline x86-64. `as` maps NaN to 0 (so a zero precision or NaN input never
    // leaks garbage onto the wire) and saturates at the i64 bounds.
    let rounded = if steps >= 0.0 { steps + 0.5 } else { steps - 0.5 } as i64;
    rounded.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Inverse of quantize (value * precision).
pub fn dequantize(q: i32, precision_m: f32) -> f32 {
    (f64::from(q) * f64::from(precision_m)) as f32
}

/// The states a delta is taken against, however the sender keeps them: sorted by id ascending
/// with unique ids.
pub trait Baseline {
    /// How many states there are.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state at `index`, below [`len`](Self::len).
    fn state(&self, index: usize) -> EntityState;
}

/// Plain states: a slice, an array or a vector of them.
impl<T: AsRef<[EntityState]> + ?Sized> Baseline for T {
    fn len(&self) -> usize {
        self.as_ref().len()
    }

    fn state(&self, index: usize) -> EntityState {
        self.as_ref()[index]
    }
}

/// Appends the encoding of `current` relative to `baseline` to `out`.
///
/// `current` and `baseline` are sorted by id ascending with unique ids. When `header.baseline_seq`
/// is 0 the snapshot is full and `baseline` is ignored. Nothing already in `out` is touched, so a
/// caller that reuses one buffer pays no allocation once its capacity has grown.
pub fn encode<B: Baseline + ?Sized>(
    header: SnapshotHeader,
    current: &[EntityState],
    baseline: &B,
    out: &mut Vec<u8>,
) -> EncodeStats {
    let baseline_len = if header.baseline_seq == 0 {
        0
    } else {
        baseline.len()
    };
    debug_assert!(
        is_strictly_ascending(current),
        "current ids must be strictly ascending"
    );
    debug_assert!(
        (1..baseline_len).all(|i| baseline.state(i - 1).id < baseline.state(i).id),
        "baseline ids must be strictly ascending"
    );

    // The entries are written first, in the one walk of the merge that also counts; the header,
    // counts and removed ids (whose lengths depend on those counts) are appended after them and
    // rotated to the front. Moving the bytes once is cheaper than a second walk of the merge.
    let start = out.len();
    let (mut added, mut changed, mut unchanged, mut removed) = (0usize, 0usize, 0usize, 0usize);
    let mut gaps = GapWriter::default();
    for change in Diff::new(current, baseline, baseline_len) {
        match change {
            Change::Added(cur) => {
                added += 1;
                write_entry(
                    out,
                    (u64::from(gaps.gap(cur.id)) << 1) | 1,
                    zigzag(i64::from(cur.qx)),
                    zigzag(i64::from(cur.qy)),
                );
            }
            Change::Moved { cur, base } => {
                changed += 1;
                // In i64 the difference of two i32 values cannot overflow.
                write_entry(
                    out,
                    u64::from(gaps.gap(cur.id)) << 1,
                    zigzag(i64::from(cur.qx) - i64::from(base.qx)),
                    zigzag(i64::from(cur.qy) - i64::from(base.qy)),
                );
            }
            Change::Unchanged => unchanged += 1,
            Change::Removed(_) => removed += 1,
        }
    }
    let entries = out.len() - start;

    write_varint(out, u64::from(header.seq));
    write_varint(out, u64::from(header.baseline_seq));
    write_varint(out, header.tick);
    write_varint(out, removed as u64);
    // Bodies rarely leave view between two snapshots; most encodes skip this walk.
    if removed > 0 {
        let mut gaps = GapWriter::default();
        for change in Diff::new(current, baseline, baseline_len) {
            if let Change::Removed(id) = change {
                write_varint(out, u64::from(gaps.gap(id)));
            }
        }
    }
    write_varint(out, (added + changed) as u64);
    let prefix = out.len() - start - entries;
    out[start..].rotate_right(prefix);

    EncodeStats {
        added: saturating_u32(added),
        changed: saturating_u32(changed),
        unchanged: saturating_u32(unchanged),
        removed: saturating_u32(removed),
        bytes: saturating_u32(out.len() - start),
    }
}

/// Decodes `bytes` against `baseline` (the state the client holds for header.baseline_seq; ignored when that is 0),
/// clearing `out` and filling it with the full current state sorted by id.
///
/// On error `out` is left empty, so a half-applied state can never be mistaken for a snapshot.
/// Only pushes into `out`: with enough capacity from earlier calls, decoding does not allocate.
pub fn decode(
    bytes: &[u8],
    baseline: &[EntityState],
    out: &mut Vec<EntityState>,
) -> Result<SnapshotHeader, DecodeError> {
    out.clear();
    let result = decode_into(bytes, baseline, out);
    if result.is_err() {
        out.clear();
    }
    result
}

/// Reads only the header (so a client can look up the baseline before decoding).
pub fn decode_header(bytes: &[u8]) -> Result<SnapshotHeader, DecodeError> {
    read_header(&mut Reader { bytes })
}

fn decode_into(
    bytes: &[u8],
    baseline: &[EntityState],
    out: &mut Vec<EntityState>,
) -> Result<SnapshotHeader, DecodeError> {
    let mut reader = Reader { bytes };
    let header = read_header(&mut reader)?;
    let baseline = if header.baseline_seq == 0 {
        &[][..]
    } else {
        baseline
    };
    // The merge below relies on the baseline order to produce a sorted result; checking costs one
    // pass and turns a caller bug into an error instead of a silently unsorted state.
    if !is_strictly_ascending(baseline) {
        return Err(DecodeError::UnsortedBaseline);
    }

    // A removed id takes at least one byte.
    let n_removed = reader.read_count(1)?;
    let removed = IdStream::new(reader.clone(), n_removed)?;
    for _ in 0..n_removed {
        reader.read_varint()?;
    }

    // An entry takes at least three bytes: tag, x and y.
    let n_entries = reader.read_count(3)?;
    // The result holds at most the baseline minus removals plus the entries; `n_entries` is bounded
    // by the input length, so hostile counts cannot inflate this beyond the baseline plus bytes.len().
    out.reserve(baseline.len().saturating_sub(n_removed).saturating_add(n_entries));

    let mut merge = Merge {
        baseline,
        removed,
        out,
    };
    let mut previous = None;
    for _ in 0..n_entries {
        let tag = reader.read_varint()?;
        let id = next_id(previous, tag >> 1)?;
        previous = Some(id);
        let base = merge.advance_to(id)?;
        let (x, y) = (reader.read_zigzag()?, reader.read_zigzag()?);
        let state = if tag & 1 == 1 {
            if base.is_some() {
                return Err(DecodeError::AddedExisting { id });
            }
            let qx = i32::try_from(x).map_err(|_| DecodeError::PositionOverflow { id })?;
            let qy = i32::try_from(y).map_err(|_| DecodeError::PositionOverflow { id })?;
            EntityState { id, qx, qy }
        } else {
            let base = base.ok_or(DecodeError::DeltaForUnknown { id })?;
            let qx = apply_delta(base.qx, x).ok_or(DecodeError::PositionOverflow { id })?;
            let qy = apply_delta(base.qy, y).ok_or(DecodeError::PositionOverflow { id })?;
            EntityState { id, qx, qy }
        };
        merge.out.push(state);
    }
    merge.finish()?;

    if !reader.bytes.is_empty() {
        return Err(DecodeError::TrailingBytes {
            count: reader.bytes.len(),
        });
    }
    Ok(header)
}

fn read_header(reader: &mut Reader<'_>) -> Result<SnapshotHeader, DecodeError> {
    Ok(SnapshotHeader {
        seq: reader.read_u32()?,
        baseline_seq: reader.read_u32()?,
        tick: reader.read_varint()?,
    })
}

fn apply_delta(base: i32, delta: i64) -> Option<i32> {
    i64::from(base)
        .checked_add(delta)
        .and_then(|v| i32::try_from(v).ok())
}

/// Turns a gap into the next id; checked so a hostile gap cannot wrap around into an earlier id.
fn next_id(previous: Option<u32>, gap: u64) -> Result<u32, DecodeError> {
    let gap = u32::try_from(gap).map_err(|_| DecodeError::IdOverflow)?;
    match previous {
        None => Ok(gap),
        Some(prev) => prev
            .checked_add(1)
            .and_then(|p| p.checked_add(gap))
            .ok_or(DecodeError::IdOverflow),
    }
}

fn is_strictly_ascending(states: &[EntityState]) -> bool {
    states.is_sorted_by(|a, b| a.id < b.id)
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Writes one entry's three varints. The common entry in a crowd (small gap, small move) is three
/// one-byte varints, written with one append in line; the others take a call.
#[inline(always)]
fn write_entry(out: &mut Vec<u8>, tag: u64, x: u64, y: u64) {
    if (tag | x | y) < 0x80 {
        out.extend_from_slice(&[tag as u8, x as u8, y as u8]);
    } else {
        write_long_entry(out, tag, x, y);
    }
}

#[inline(never)]
fn write_long_entry(out: &mut Vec<u8>, tag: u64, x: u64, y: u64) {
    write_varint(out, tag);
    write_varint(out, x);
    write_varint(out, y);
}

/// Produces the gap sequence for a strictly ascending id list.
#[derive(Default)]
struct GapWriter {
    previous: Option<u32>,
}

impl GapWriter {
    fn gap(&mut self, id: u32) -> u32 {
        // Ascending ids make these subtractions exact. If a release build is handed unsorted input
        // anyway, wrapping yields bytes the decoder rejects instead of a panic in the server.
        let gap = match self.previous {
            None => id,
            Some(prev) => id.wrapping_sub(prev).wrapping_sub(1),
        };
        self.previous = Some(id);
        gap
    }
}

/// What the merge of `current` against `baseline` says about one id.
enum Change<'a> {
    Added(&'a EntityState),
    Moved { cur: &'a EntityState, base: EntityState },
    Unchanged,
    Removed(u32),
}

/// Merge-walk of an id-sorted slice against the first `baseline_len` states of an id-sorted
/// baseline; every step consumes at least one element, so it always ends.
struct Diff<'a, B: ?Sized> {
    current: &'a [EntityState],
    baseline: &'a B,
    next_base: usize,
    baseline_len: usize,
}

impl<'a, B: Baseline + ?Sized> Diff<'a, B> {
    fn new(current: &'a [EntityState], baseline: &'a B, baseline_len: usize) -> Self {
        Self {
            current,
            baseline,
            next_base: 0,
            baseline_len,
        }
    }
}

impl<'a, B: Baseline + ?Sized> Iterator for Diff<'a, B> {
    type Item = Change<'a>;

    fn next(&mut self) -> Option<Change<'a>> {
        let base = (self.next_base < self.baseline_len).then(|| self.baseline.state(self.next_base));
        match (self.current.split_first(), base) {
            (None, None) => None,
            (Some((cur, cur_rest)), None) => {
                self.current = cur_rest;
                Some(Change::Added(cur))
            }
            (None, Some(base)) => {
                self.next_base += 1;
                Some(Change::Removed(base.id))
            }
            (Some((cur, cur_rest)), Some(base)) => match cur.id.cmp(&base.id) {
                Ordering::Less => {
                    self.current = cur_rest;
                    Some(Change::Added(cur))
                }
                Ordering::Greater => {
                    self.next_base += 1;
                    Some(Change::Removed(base.id))
                }
                Ordering::Equal => {
                    self.current = cur_rest;
                    self.next_base += 1;
                    Some(if *cur == base {
                        Change::Unchanged
                    } else {
                        Change::Moved { cur, base }
                    })
                }
            },
        }
    }
}

/// Bounds-checked cursor over the input; the slice shrinks as values are consumed.
#[derive(Clone)]
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn read_varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for (i, &byte) in self.bytes.iter().enumerate().take(10) {
            let low = u64::from(byte & 0x7f);
            // The tenth byte carries bit 63 only; anything more would be silently shifted out.
            if i == 9 && low > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            value |= low << (7 * i);
            if byte & 0x80 == 0 {
                self.bytes = self.bytes.get(i + 1..).unwrap_or_default();
                return Ok(value);
            }
        }
        if self.bytes.len() >= 10 {
            Err(DecodeError::VarintOverflow)
        } else {
            Err(DecodeError::Truncated)
        }
    }

    fn read_u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.read_varint()?).map_err(|_| DecodeError::VarintOverflow)
    }

    fn read_zigzag(&mut self) -> Result<i64, DecodeError> {
        self.read_varint().map(unzigzag)
    }

    /// Reads a count of items that each take at least `min_bytes`, rejecting counts the rest of the
    /// input could not hold so that no loop or reservation is sized by an unchecked number.
    fn read_count(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let count = self.read_varint()?;
        let remaining = self.bytes.len();
        match usize::try_from(count) {
            Ok(n) if n <= remaining / min_bytes => Ok(n),
            _ => Err(DecodeError::CountTooLarge { count, remaining }),
        }
    }
}

/// Lazily decodes the removed-id list so the merge needs no scratch buffer.
struct IdStream<'a> {
    reader: Reader<'a>,
    left: usize,
    next: Option<u32>,
}

impl<'a> IdStream<'a> {
    fn new(reader: Reader<'a>, count: usize) -> Result<Self, DecodeError> {
        let mut stream = Self {
            reader,
            left: count,
            next: None,
        };
        stream.advance()?;
        Ok(stream)
    }

    fn advance(&mut self) -> Result<(), DecodeError> {
        if self.left == 0 {
            self.next = None;
            return Ok(());
        }
        self.left -= 1;
        let gap = self.reader.read_varint()?;
        self.next = Some(next_id(self.next, gap)?);
        Ok(())
    }
}

/// Builds the output by walking the baseline, the removed ids and the entries in id order at once.
struct Merge<'a, 'o> {
    baseline: &'a [EntityState],
    removed: IdStream<'a>,
    out: &'o mut Vec<EntityState>,
}

impl<'a> Merge<'a, '_> {
    /// Copies kept baseline entries with ids below `id`, then takes the baseline entry for `id`, if any.
    fn advance_to(&mut self, id: u32) -> Result<Option<&'a EntityState>, DecodeError> {
        while let Some((base, rest)) = self.baseline.split_first() {
            if base.id >= id {
                break;
            }
            self.baseline = rest;
            self.keep_unless_removed(base)?;
        }
        match self.baseline.split_first() {
            Some((base, rest)) if base.id == id => {
                self.baseline = rest;
                self.skip_unknown_removed(id)?;
                if self.removed.next == Some(id) {
                    return Err(DecodeError::RemovedAndPresent { id });
                }
                Ok(Some(base))
            }
            _ => Ok(None),
        }
    }

    fn keep_unless_removed(&mut self, base: &EntityState) -> Result<(), DecodeError> {
        self.skip_unknown_removed(base.id)?;
        if self.removed.next == Some(base.id) {
            self.removed.advance()
        } else {
            self.out.push(*base);
            Ok(())
        }
    }

    /// A removed id below the baseline entry being visited was stepped over, so the baseline lacks it.
    fn skip_unknown_removed(&self, id: u32) -> Result<(), DecodeError> {
        match self.removed.next {
            Some(removed) if removed < id => Err(DecodeError::RemovedUnknown { id: removed }),
            _ => Ok(()),
        }
    }

    fn finish(mut self) -> Result<(), DecodeError> {
        while let Some((base, rest)) = self.baseline.split_first() {
            self.baseline = rest;
            self.keep_unless_removed(base)?;
        }
        match self.removed.next {
            Some(id) => Err(DecodeError::RemovedUnknown { id }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
