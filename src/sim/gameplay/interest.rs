//! Interest management: which bodies each client can see. A uniform grid over the motion columns
//! is rebuilt in the Output phase right before the snapshots, its only reader, so it holds every
//! move, arrival and departure of the tick (combat takes NPCs out of the world after movement).

use bevy_ecs::resource::Resource;
use bevy_ecs::system::{Res, ResMut};

use super::interest_grid::{GridBounds, InterestGrid};
use super::motion::Motion;
use crate::config::Config;
use crate::sim::resources::{ActiveConfig, Tick, TickRate};

/// The grid, and the settings it was built for (a reload that changes them rebuilds it).
#[derive(Debug, Resource)]
pub struct Interest {
    grid: InterestGrid,
    built_for: (GridBounds, f32),
}

impl Interest {
    /// A grid for `config`'s world bounds and cell size.
    pub(crate) fn new(config: &Config) -> Interest {
        let settings = grid_settings(config);
        Interest {
            grid: InterestGrid::new(settings.0, settings.1),
            built_for: settings,
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

/// Re-indexes every body where the tick leaves it, just before the snapshots read the grid. Every
/// `spatial_sort_interval_s`, the motion slots are also put into the grid's cell order: bodies
/// drift slowly, so memory order stays close to cell order in between, and re-indexing a million
/// bodies walks memory mostly in sequence instead of at random.
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
    let every = rate.ticks_in(every_s);
    // From the first tick on, so a freshly spawned world starts in order.
    if every_s > 0.0 && tick.0 % every == 1 % every {
        let order = interest.grid.cell_order();
        motion.sort_slots(order);
    }
}
