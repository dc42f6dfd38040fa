//! Steady-state ticks must not touch the heap: after warm-up, stepping a world of 10,000 moving
//! players (with fresh movement input for every one of them each tick, and outputs drained) performs
//! zero allocations. A counting global allocator, armed only on this thread, proves it.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use necpsim::sim::{ClientId, Command, MoveInput, Outbox, Sim};

struct CountingAllocator;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with` because the allocator may run while thread-locals are being torn down.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Heap allocations made on this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|count| count.set(0));
    ARMED.with(|armed| armed.set(true));
    f();
    ARMED.with(|armed| armed.set(false));
    ALLOCATIONS.with(Cell::get)
}

const PLAYERS: u64 = 10_000;

/// One input per player, steering in a direction that depends on the tick.
fn submit_inputs(sim: &mut Sim, seq: u32) {
    for client in 0..PLAYERS {
        let angle = (client as f32 * 0.37 + seq as f32 * 0.05).sin();
        let input = MoveInput {
            seq,
            move_x: angle,
            move_y: 1.0 - angle.abs(),
        };
        sim.submit(ClientId(client), Command::Move(input))
            .expect("inbox has room");
    }
}

#[test]
fn the_counter_sees_an_allocation() {
    let counted = allocations_during(|| drop(std::hint::black_box(Box::new(7u64))));
    assert_eq!(
        counted, 1,
        "the counting allocator must see heap use, or the other test proves nothing"
    );
}

#[test]
fn a_steady_state_tick_over_10_000_players_does_not_allocate() {
    let mut sim = Sim::new(common::bundled_config());
    for client in 0..PLAYERS {
        sim.submit(ClientId(client), Command::Join)
            .expect("inbox has room");
    }
    let mut outbox = Outbox::default();
    sim.step();
    sim.drain_outputs(&mut outbox);
    assert_eq!(sim.player_count(), PLAYERS as usize);

    // Warm-up: lets every buffer reach its steady-state size.
    for seq in 1..=5 {
        submit_inputs(&mut sim, seq);
        sim.step();
        sim.drain_outputs(&mut outbox);
    }
    let before = sim.state_hash();

    for seq in 6..=25 {
        let counted = allocations_during(|| {
            submit_inputs(&mut sim, seq);
            sim.step();
            sim.drain_outputs(&mut outbox);
        });
        assert_eq!(counted, 0, "tick {} allocated {counted} times", sim.tick());
    }
    assert_ne!(
        sim.state_hash(),
        before,
        "the measured ticks must have moved the players"
    );
    assert_eq!(sim.counters().refused_commands, 0);
}
