//! Fuzz target `snapshot`: a client following snapshot datagrams (`read_owned::<SnapshotS2c>` and
//! `SnapshotReceiver::receive` of its payload, and `SnapshotReceiver::receive` of the raw bytes).
//! Input layout and checks: `necpsim::protocol::fuzzing::snapshot`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    necpsim::protocol::fuzzing::snapshot(bytes);
});
