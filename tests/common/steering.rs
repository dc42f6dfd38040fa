//! Bots that steer in circles: the input stream shared by the snapshot tests and the snapshot
//! bench, so both measure the same moving crowd.

use necpsim::sim::{ClientId, Command, MoveInput, Sim};

/// Submits tick `tick`'s input of clients `0..clients`: each steers at an angle that starts at
/// `client × spread` radians and turns by `turn` radians a tick.
pub fn steer_in_circles(sim: &mut Sim, clients: u64, tick: u32, spread: f32, turn: f32) {
    for client in 0..clients {
        let angle = client as f32 * spread + tick as f32 * turn;
        let input = MoveInput {
            seq: tick,
            client_tick: tick,
            move_x: angle.cos(),
            move_y: angle.sin(),
            ..MoveInput::default()
        };
        sim.submit(ClientId(client), Command::Move(input)).expect("room");
    }
}
