//! Fuzz target `reply`: a client reading one control-stream reply (`read_owned::<ReplyS2c>` on
//! aligned bytes). Checks: `necpsim::protocol::fuzzing::reply`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    necpsim::protocol::fuzzing::reply(bytes);
});
