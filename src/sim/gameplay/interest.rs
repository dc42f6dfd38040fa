//! Interest management: which bodies each client can see. A uniform grid over the motion columns
//! is rebuilt in the Output phase right before the snapshots, its only reader, so it holds every
//! move, arrival and departure of the tick (combat takes NPCs out of the world after movement).
//! The same system keeps the motion slots close to the grid's cell order, which is what makes
//! the rebuild walk memory in sequence.

use std::ops::Range;

use bevy_ecs::resource::Resource;
use bevy_ecs::system::{Res, ResMut};

use super::interest_grid::{GridBounds, InterestGrid};
use super::motion::{LANES, Motion};
use crate::config::Config;
use crate::sim::resources::{ActiveConfig, Tick, TickRate};

/// The share of scattered runs (see [`InterestGrid::scattered_share`]) above which every slot is
/// sorted at once: slots in no particular order, as after a world has just been filled, would
/// take the windows many laps to bring into order.
const SORT_ALL_ABOVE: f32 = 0.5;

/// The grid, and the settings it was built for (a reload that changes them rebuilds it).
#[derive(Debug, Resource)]
pub struct Interest {
    grid: InterestGrid,
    built_for: (GridBounds, f32),
    sorting: RollingSort,
}

/// Where the spatial sort of the motion slots stands. Each tick it sorts one window of slots by
/// their places in cell order, so every slot comes round once per `spatial_sort_interval_s` at
/// the same small cost on every tick. Every other lap the windows are shifted by half a window,
/// so that a body whose cell now belongs to the next window crosses the edge between them.
#[derive(Debug, Default)]
struct RollingSort {
    next: usize,
    odd_lap: bool,
    /// The tick of the last sort of every slot at once; at most one per interval.
    sorted_all_at: Option<u64>,
}

impl RollingSort {
    /// The slots to sort this tick, in windows of `window` over `0..len`.
    fn next_window(&mut self, len: usize, window: usize) -> Range<usize> {
        if self.next >= len {
            self.odd_lap = !self.odd_lap;
            self.next = if self.odd_lap { window / 2 } else { 0 };
            if self.next >= len {
                self.next = 0;
            }
        }
        let start = self.next;
        self.next = (start + window).min(len);
        start..self.next
    }
}

impl Interest {
    /// A grid for `config`'s world bounds and cell size.
    pub(crate) fn new(config: &Config) -> Interest {
        let settings = grid_settings(config);
        Interest {
            grid: InterestGrid::new(settings.0, settings.1),
            built_for: settings,
            sorting: RollingSort::default(),
        }
    }

    /// The grid as of this tick's positions.
    pub fn grid(&self) -> &InterestGrid {
        &self.grid
    }
}

fn grid_settings(config: &Config) -> (GridBounds, f32) {
    let b = &config.gameplay.world.bounds;
    let bounds = GridBounds {
        min_x: b.min_x_m,
        min_y: b.min_y_m,
        max_x: b.max_x_m,
        max_y: b.max_y_m,
    };
    (bounds, config.gameplay.interest.cell_size_m)
}

/// Re-indexes every body where the tick leaves it, just before the snapshots read the grid, then
/// sorts a window of the motion slots into the grid's cell order (see [`RollingSort`]). Bodies
/// drift slowly, so memory order stays close to cell order, and re-indexing a million bodies
/// walks memory mostly in sequence instead of at random.
pub(crate) fn index_interest(
    config: Res<ActiveConfig>,
    rate: Res<TickRate>,
    tick: Res<Tick>,
    mut motion: ResMut<Motion>,
    mut interest: ResMut<Interest>,
) {
    let settings = grid_settings(&config.0);
    if settings != interest.built_for {
        *interest = Interest::new(&config.0);
    }
    interest.grid.rebuild(motion.xs(), motion.ys(), motion.net_ids());
    let every_s = config.0.gameplay.interest.spatial_sort_interval_s;
    if every_s <= 0.0 {
        return;
    }
    let every = rate.ticks_in(every_s);
    let Interest { grid, sorting, .. } = &mut *interest;
    let may_sort_all = sorting
        .sorted_all_at
        .is_none_or(|at| tick.0.saturating_sub(at) >= every);
    if may_sort_all && grid.scattered_share() > SORT_ALL_ABOVE {
        motion.sort_slots(grid.cell_order());
        sorting.sorted_all_at = Some(tick.0);
        return;
    }
    let len = motion.len();
    let window = len
        .div_ceil(usize::try_from(every).unwrap_or(usize::MAX))
        .next_multiple_of(LANES);
    let slots = sorting.next_window(len, window);
    motion.sort_window(slots.start, &grid.places()[slots]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The windows of one lap, starting from `sorting` as it is.
    fn lap(sorting: &mut RollingSort, len: usize, window: usize) -> Vec<Range<usize>> {
        let first = sorting.next_window(len, window);
        let mut windows = vec![first];
        while sorting.next < len {
            windows.push(sorting.next_window(len, window));
        }
        windows
    }

    #[test]
    fn even_laps_cover_every_slot_and_odd_laps_straddle_their_edges() {
        let mut sorting = RollingSort::default();
        let even = lap(&mut sorting, 100, 16);
        let odd = lap(&mut sorting, 100, 16);
        let even_again = lap(&mut sorting, 100, 16);
        let starts = |windows: &[Range<usize>]| windows.iter().map(|w| w.start).collect::<Vec<_>>();
        assert_eq!(starts(&odd), [8, 24, 40, 56, 72, 88]);
        assert_eq!(starts(&even), [0, 16, 32, 48, 64, 80, 96]);
        assert_eq!(even, even_again);
        for windows in [&even, &odd] {
            assert!(windows.windows(2).all(|pair| pair[0].end == pair[1].start));
            assert_eq!(windows.last().map(|w| w.end), Some(100));
        }
    }

    #[test]
    fn a_world_that_shrinks_or_empties_mid_lap_starts_a_new_lap() {
        let mut sorting = RollingSort::default();
        assert_eq!(sorting.next_window(1_000, 64), 0..64);
        assert_eq!(sorting.next_window(1_000, 64), 64..128);
        assert_eq!(sorting.next_window(100, 64), 32..96, "a new, shifted lap");
        assert_eq!(sorting.next_window(100, 64), 96..100);
        assert_eq!(sorting.next_window(0, 64), 0..0);
        assert_eq!(sorting.next_window(10, 64), 0..10);
    }
}
