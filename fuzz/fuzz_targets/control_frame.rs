//! Fuzz target `control_frame`: the server reading a control stream (`FrameReader` with the 64 KiB
//! cap, the stream split into reads as the first byte chooses) and `decode_control` on every
//! frame. Input layout and checks: `necpsim::protocol::fuzzing::control_frame`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    necpsim::protocol::fuzzing::control_frame(bytes);
});
