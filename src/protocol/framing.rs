//! Framing of the control and event streams: each frame is a u32 little-endian length followed by
//! one rkyv archive of that many bytes. [`FrameReader`] reassembles frames from whatever the stream
//! delivers, checks every length against the maximum before buffering the frame, and hands each
//! frame out copied into an aligned buffer, ready for checked access.

use rkyv::util::AlignedVec;

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Alignment of the buffers archives are read from (rkyv's largest primitive alignment).
pub const ARCHIVE_ALIGN: usize = 16;

/// Why a stream's frames cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A length prefix above the maximum frame size.
    #[error("a frame of {len} bytes exceeds the {max}-byte maximum")]
    TooLarge {
        /// The announced length.
        len: u32,
        /// The maximum.
        max: u32,
    },
    /// The stream ended inside a frame.
    #[error("the stream ended inside a frame")]
    Truncated,
}

/// The buffer space a reader keeps between frames: more than the frames clients usually send, so
/// that one large frame does not hold its size for the life of a connection.
const KEPT_BYTES: usize = 16 * 1024;

/// Reassembles frames from a byte stream.
#[derive(Debug)]
pub struct FrameReader {
    pending: Vec<u8>,
    consumed: usize,
    max_frame_bytes: u32,
    frame: AlignedVec<ARCHIVE_ALIGN>,
}

impl FrameReader {
    /// A reader refusing frames above `max_frame_bytes`.
    pub fn new(max_frame_bytes: u32) -> FrameReader {
        FrameReader {
            pending: Vec::new(),
            consumed: 0,
            max_frame_bytes,
            frame: AlignedVec::new(),
        }
    }

    /// Appends bytes the stream delivered.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.consumed > 0 {
            // Move the partial frame to the front rather than letting the buffer grow.
            self.pending.drain(..self.consumed);
            self.consumed = 0;
        }
        if self.pending.capacity() > KEPT_BYTES && self.pending.len() + bytes.len() <= KEPT_BYTES {
            self.pending.shrink_to(KEPT_BYTES);
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete frame, copied into an aligned buffer (an empty frame may come back as an
    /// unaligned empty slice, which no archive fits); `None` until one is complete. A length
    /// above the maximum is refused as soon as its prefix arrives.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let unread = &self.pending[self.consumed..];
        let Some(prefix) = unread.first_chunk::<LENGTH_PREFIX_BYTES>() else {
            return Ok(None);
        };
        let len = u32::from_le_bytes(*prefix);
        if len > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_frame_bytes,
            });
        }
        let Some(body) = unread.get(LENGTH_PREFIX_BYTES..LENGTH_PREFIX_BYTES + len as usize) else {
            return Ok(None);
        };
        if self.frame.capacity() > KEPT_BYTES && body.len() <= KEPT_BYTES {
            self.frame = AlignedVec::with_capacity(KEPT_BYTES);
        }
        self.frame.clear();
        self.frame.extend_from_slice(body);
        self.consumed += LENGTH_PREFIX_BYTES + len as usize;
        Ok(Some(self.frame.as_slice()))
    }

    /// Checks, once the stream has ended, that it did not end inside a frame.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.pending.len() > self.consumed {
            return Err(FrameError::Truncated);
        }
        Ok(())
    }
}

/// Appends `archive` to `out` as one frame.
pub fn write_frame(out: &mut Vec<u8>, archive: &[u8]) {
    out.extend_from_slice(&(archive.len() as u32).to_le_bytes());
    out.extend_from_slice(archive);
}

/// A reusable aligned copy of one datagram, for checked access.
#[derive(Debug, Default)]
pub struct AlignedCopy(AlignedVec<ARCHIVE_ALIGN>);

impl AlignedCopy {
    /// `bytes`, copied into the aligned buffer.
    pub fn of(&mut self, bytes: &[u8]) -> &[u8] {
        self.0.clear();
        self.0.extend_from_slice(bytes);
        self.0.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for payload in payloads {
            write_frame(&mut out, payload);
        }
        out
    }

    #[test]
    fn a_large_frame_leaves_no_large_buffers_behind() {
        // Requests sent back to back: the read that ends the large frame ends inside the next.
        let small = framed(&[&b"small"[..]; 4]);
        let (head, tail) = small.split_at(3);
        let mut stream = framed(&[&[7u8; 200_000]]);
        stream.extend_from_slice(head);
        let mut reader = FrameReader::new(1 << 20);
        reader.extend(&stream);
        assert_eq!(
            reader.next_frame().expect("valid").map(<[u8]>::len),
            Some(200_000)
        );
        assert_eq!(reader.next_frame().expect("valid"), None);
        reader.extend(tail);
        for _ in 0..4 {
            assert_eq!(reader.next_frame().expect("valid"), Some(&b"small"[..]));
        }
        assert!(
            reader.pending.capacity() <= KEPT_BYTES,
            "{}",
            reader.pending.capacity()
        );
        assert!(
            reader.frame.capacity() <= KEPT_BYTES,
            "{}",
            reader.frame.capacity()
        );
    }

    #[test]
    fn frames_split_anywhere_come_back_whole_and_aligned() {
        let stream = framed(&[b"first", b"", b"third frame"]);
        for split in 0..stream.len() {
            let mut reader = FrameReader::new(64);
            let mut frames = Vec::new();
            for chunk in [&stream[..split], &stream[split..]] {
                reader.extend(chunk);
                while let Some(frame) = reader.next_frame().expect("valid") {
                    assert_eq!(frame.as_ptr() as usize % ARCHIVE_ALIGN, 0);
                    frames.push(frame.to_vec());
                }
            }
            assert_eq!(frames, [&b"first"[..], b"", b"third frame"], "split at {split}");
            reader.finish().expect("ends on a boundary");
        }
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_its_body_arrives() {
        let mut reader = FrameReader::new(1024);
        reader.extend(&1025u32.to_le_bytes());
        assert_eq!(
            reader.next_frame(),
            Err(FrameError::TooLarge { len: 1025, max: 1024 })
        );
    }

    #[test]
    fn a_stream_ending_inside_a_frame_is_truncated() {
        let stream = framed(&[b"whole", b"cut short"]);
        let mut reader = FrameReader::new(64);
        reader.extend(&stream[..stream.len() - 3]);
        assert_eq!(
            reader.next_frame().expect("valid").map(<[u8]>::to_vec),
            Some(b"whole".to_vec())
        );
        assert_eq!(reader.next_frame(), Ok(None));
        assert_eq!(reader.finish(), Err(FrameError::Truncated));
    }
}
