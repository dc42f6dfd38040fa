//! The entry points of the fuzz targets (`fuzz/fuzz_targets/`), shared with the test that replays
//! their committed corpus (`tests/fuzz_corpus.rs`): one function per kind of network input, each
//! taking arbitrary bytes through every decoder that reads that input, server side or client side.
//!
//! None of them may panic on any input, except where a decoder breaks a promise the function
//! checks (frames that depend on how the stream was split, an accepted message that does not
//! survive its own re-encoding, an unsorted snapshot state); those are bugs for the fuzzer to find.
//! Each returns an [`Outcome`], so the corpus test can check that valid seeds are accepted.
//!
//! Input layouts (see `fuzz/README.md`):
//! - [`control_frame`]: one byte choosing how the stream is split into reads, then the bytes of a
//!   control stream (length-prefixed [`ControlC2s`](super::ControlC2s) frames);
//! - [`datagram`], [`reply`], [`push`]: one message;
//! - [`snapshot`]: a sequence of length-prefixed frames, each one snapshot datagram.

use rkyv::Archive;
use rkyv::api::high::{HighDeserializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;

use super::framing::{ARCHIVE_ALIGN, AlignedCopy, FrameError, FrameReader};
use super::{Encode, Encoder, PushS2c, ReplyS2c, SnapshotS2c, decode_control, decode_datagram, read_owned};
use crate::client::SnapshotReceiver;
use crate::sim::snapshot_codec::{self, EntityState, SnapshotHeader};

/// The frame cap the fuzzed readers use: the server's default `net.max_frame_bytes`, 64 KiB.
pub const MAX_FRAME_BYTES: u32 = 64 * 1024;

/// What the decoders made of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Messages (frames, datagrams, snapshot payloads) the decoders accepted.
    pub accepted: u32,
    /// Messages they refused, and streams that ended badly.
    pub refused: u32,
}

impl Outcome {
    /// Whether something was decoded and nothing refused: what a valid seed must give.
    pub fn all_accepted(self) -> bool {
        self.accepted > 0 && self.refused == 0
    }

    fn note(&mut self, accepted: bool) {
        if accepted {
            self.accepted = self.accepted.saturating_add(1);
        } else {
            self.refused = self.refused.saturating_add(1);
        }
    }
}

/// The server reading a control stream: the first byte chooses the sizes of the reads the rest
/// arrives in; every frame goes through [`decode_control`]. The same stream read whole must give
/// the same frames and the same end (panics otherwise). A frame-level error ([`FrameError`]),
/// including a stream ending inside a frame, counts as one refusal.
pub fn control_frame(bytes: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let Some((&split, stream)) = bytes.split_first() else {
        return outcome;
    };
    let mut whole = FrameReader::new(MAX_FRAME_BYTES);
    whole.extend(stream);
    let mut frames = Vec::new();
    let end = loop {
        match whole.next_frame() {
            Ok(Some(frame)) => {
                outcome.note(decode_control(frame).is_ok());
                frames.push(frame.to_vec());
            }
            Ok(None) => break whole.finish(),
            Err(error) => break Err(error),
        }
    };
    if end.is_err() {
        outcome.refused = outcome.refused.saturating_add(1);
    }

    let mut chunked = FrameReader::new(MAX_FRAME_BYTES);
    let mut reads = Reads::new(stream, split);
    let mut seen = 0;
    let chunked_end: Result<(), FrameError> = 'stream: loop {
        let Some(read) = reads.next() else {
            break chunked.finish();
        };
        chunked.extend(read);
        loop {
            match chunked.next_frame() {
                Ok(Some(frame)) => {
                    // An empty frame before the first allocation points nowhere in particular;
                    // no archive fits in it, so its alignment does not matter.
                    assert!(
                        frame.is_empty() || (frame.as_ptr() as usize).is_multiple_of(ARCHIVE_ALIGN),
                        "frames are aligned"
                    );
                    assert_eq!(
                        Some(frame),
                        frames.get(seen).map(Vec::as_slice),
                        "frame {seen} depends on the split"
                    );
                    seen += 1;
                }
                Ok(None) => break,
                Err(error) => break 'stream Err(error),
            }
        }
    };
    assert_eq!(seen, frames.len(), "the split changed the number of frames");
    assert_eq!(chunked_end, end, "the split changed how the stream ends");
    outcome
}

/// The server reading one datagram: aligned copy, then [`decode_datagram`].
pub fn datagram(bytes: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    outcome.note(decode_datagram(AlignedCopy::default().of(bytes)).is_ok());
    outcome
}

/// A client reading one control-stream reply: [`read_owned`] of a [`ReplyS2c`], whose re-encoding
/// must read back to the same bytes.
pub fn reply(bytes: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    outcome.note(read_checked::<ReplyS2c>(bytes).is_some());
    outcome
}

/// A client reading one event-stream frame: [`read_owned`] of a [`PushS2c`] (checked like
/// [`reply`]); the payload of a snapshot push also goes to a [`SnapshotReceiver`].
pub fn push(bytes: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let push = read_checked::<PushS2c>(bytes);
    outcome.note(push.is_some());
    if let Some(PushS2c::Snapshot(snapshot)) = push {
        outcome.note(receive(&mut SnapshotReceiver::default(), &snapshot.payload));
    }
    outcome
}

/// A client following a snapshot stream: the input is a sequence of length-prefixed frames (as
/// [`FrameReader`] reads them), one datagram each, so that later snapshots can be deltas against
/// earlier ones. Each frame is read both ways, each way with its own [`SnapshotReceiver`]: as a
/// [`SnapshotS2c`] archive whose payload is then received, and directly as a snapshot payload. A
/// frame counts as accepted when either way accepts it; input that does not end on a frame
/// boundary, or announces a frame above [`MAX_FRAME_BYTES`], counts as one refusal.
pub fn snapshot(bytes: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let mut frames = FrameReader::new(MAX_FRAME_BYTES);
    frames.extend(bytes);
    let mut wire = SnapshotReceiver::default();
    let mut raw = SnapshotReceiver::default();
    loop {
        match frames.next_frame() {
            Ok(Some(frame)) => {
                let by_wire = read_owned::<SnapshotS2c>(frame)
                    .is_ok_and(|message| receive(&mut wire, &message.payload));
                let by_raw = receive(&mut raw, frame);
                outcome.note(by_wire || by_raw);
            }
            Ok(None) => {
                if frames.finish().is_err() {
                    outcome.refused = outcome.refused.saturating_add(1);
                }
                return outcome;
            }
            Err(_) => {
                outcome.refused = outcome.refused.saturating_add(1);
                return outcome;
            }
        }
    }
}

/// `bytes` read as an owned `T`; when accepted, its encoding must read back and encode to the
/// same bytes.
fn read_checked<T>(bytes: &[u8]) -> Option<T>
where
    T: Archive + Encode,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, HighDeserializer<rancor::Error>>,
{
    let mut aligned = AlignedCopy::default();
    let value = read_owned::<T>(aligned.of(bytes)).ok()?;
    let mut encoder = Encoder::default();
    let encoded = encoder.encode(&value).expect("what was read encodes").to_vec();
    let again = read_owned::<T>(aligned.of(&encoded)).expect("an encoding reads back");
    let reencoded = encoder.encode(&again).expect("what was read encodes");
    assert_eq!(
        reencoded,
        &encoded[..],
        "a value and its read-back encode differently"
    );
    Some(value)
}

/// Whether `receiver` accepts `payload`; an accepted state must be sorted by id and survive
/// re-encoding as a full snapshot.
fn receive(receiver: &mut SnapshotReceiver, payload: &[u8]) -> bool {
    let Ok((header, states)) = receiver.receive(payload) else {
        return false;
    };
    assert!(
        states.is_sorted_by(|a, b| a.id < b.id),
        "received ids not strictly ascending"
    );
    let full = SnapshotHeader {
        baseline_seq: 0,
        ..header
    };
    let mut encoded = Vec::new();
    snapshot_codec::encode(full, states, &[], &mut encoded);
    let mut decoded: Vec<EntityState> = Vec::new();
    let decoded_header =
        snapshot_codec::decode(&encoded, &[], &mut decoded).expect("a full re-encoding decodes");
    assert_eq!(decoded_header, full);
    assert_eq!(decoded, states, "a received state does not survive re-encoding");
    true
}

/// The reads a stream arrives in: sizes from 1 to `split + 1` bytes, drawn from a generator seeded
/// by `split` (0: one byte at a time).
#[derive(Debug)]
struct Reads<'a> {
    rest: &'a [u8],
    max: u32,
    state: u32,
}

impl<'a> Reads<'a> {
    fn new(stream: &'a [u8], split: u8) -> Reads<'a> {
        Reads {
            rest: stream,
            max: u32::from(split) + 1,
            state: 0x9e37_79b9 ^ u32::from(split),
        }
    }
}

impl<'a> Iterator for Reads<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        // xorshift32: any nonzero state stays nonzero.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let len = (1 + self.state % self.max) as usize;
        let (read, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        Some(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cover_the_stream_in_order_within_their_size() {
        let stream: Vec<u8> = (0..=255).collect();
        for split in [0, 1, 7, 255] {
            let reads: Vec<&[u8]> = Reads::new(&stream, split).collect();
            assert!(
                reads
                    .iter()
                    .all(|read| !read.is_empty() && read.len() <= usize::from(split) + 1)
            );
            assert_eq!(reads.concat(), stream);
        }
    }

    #[test]
    fn empty_and_garbage_inputs_are_refused_quietly() {
        assert_eq!(control_frame(&[]), Outcome::default());
        assert_eq!(
            control_frame(&[3, 1, 0]).refused,
            1,
            "a stream ending inside a prefix"
        );
        for target in [datagram, reply, push] {
            assert_eq!(
                target(&[0xff; 40]),
                Outcome {
                    accepted: 0,
                    refused: 1
                }
            );
        }
        assert_eq!(
            snapshot(&[2, 0, 0, 0, 0x80, 0x80]),
            Outcome {
                accepted: 0,
                refused: 1
            }
        );
    }
}
