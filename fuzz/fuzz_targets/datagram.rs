//! Fuzz target `datagram`: the server reading one datagram (`AlignedCopy`, then
//! `decode_datagram`). Checks: `necpsim::protocol::fuzzing::datagram`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    necpsim::protocol::fuzzing::datagram(bytes);
});
