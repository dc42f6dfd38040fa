//! Encoding messages: one reusable aligned buffer and rkyv's thread-local arena, so that encoding
//! allocates nothing once the buffer has grown to the largest message.

use rkyv::api::high::HighSerializer;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;

use super::framing::{ARCHIVE_ALIGN, write_frame};

/// Why a message could not be encoded (only a message too large for the frame format).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode message: {0}")]
pub struct EncodeError(#[from] rancor::Error);

/// Anything [`Encoder`] can encode.
pub trait Encode:
    for<'a> rkyv::Serialize<HighSerializer<AlignedVec<ARCHIVE_ALIGN>, ArenaHandle<'a>, rancor::Error>>
{
}

impl<T> Encode for T where
    T: for<'a> rkyv::Serialize<HighSerializer<AlignedVec<ARCHIVE_ALIGN>, ArenaHandle<'a>, rancor::Error>>
{
}

/// Encodes messages into a buffer it keeps.
#[derive(Debug, Default)]
pub struct Encoder {
    scratch: AlignedVec<ARCHIVE_ALIGN>,
}

impl Encoder {
    /// The archive of `message`, valid until the next call.
    pub fn encode(&mut self, message: &impl Encode) -> Result<&[u8], EncodeError> {
        let mut buffer = std::mem::take(&mut self.scratch);
        buffer.clear();
        self.scratch = rkyv::api::high::to_bytes_in(message, buffer)?;
        Ok(self.scratch.as_slice())
    }

    /// Appends `message` to `out` as one length-prefixed frame.
    pub fn frame_into(&mut self, message: &impl Encode, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_frame(out, self.encode(message)?);
        Ok(())
    }
}
