//! Fuzz target `push`: a client reading one event-stream frame (`read_owned::<PushS2c>`; the
//! payload of a snapshot push goes to a `SnapshotReceiver`). Checks:
//! `necpsim::protocol::fuzzing::push`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    necpsim::protocol::fuzzing::push(bytes);
});
