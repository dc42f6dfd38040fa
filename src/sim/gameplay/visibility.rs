//! Which bodies each client due a snapshot can see this tick, as the id-sorted quantized states
//! the delta encoder takes: those within its view radius, and of a crowd larger than the cap
//! (`max_visible`) the client's own body and the nearest, so that what one client costs stays
//! bounded.
//!
//! Where bodies crowd, clients standing in the same grid cell share the work. The bodies in the
//! union of their query cells are gathered, sorted by id and quantized once; each client then only
//! runs the distance test over that list, which keeps its order. Elsewhere each client queries the
//! grid and sorts its own result: a shared list holds more bodies than one client sees, and
//! grouping the clients costs more than it saves where few share a cell. Both paths apply the
//! grid's one distance test ([`within`]) to the same positions, so they give the same set.
//!
//! The groups are built on the tick thread ([`Visibility`]); the gathering reads them through a
//! [`VisibleSets`], which snapshot threads share, each with its own [`GatherScratch`].

use std::ops::Range;

use bumpalo::Bump;
use bumpalo::collections::Vec as BumpVec;

use super::interest_grid::{CellRange, InterestGrid, LANES, within};
use super::snapshot_codec::{EntityState, quantize};

/// Bodies per occupied cell from which clients are grouped at all: at a snapshot every third
/// tick, about three clients per cell are then due together.
const SHARE_FROM_BODIES_PER_CELL: u32 = 8;

/// Clients in one cell from which a shared candidate list pays for its larger sort.
const SHARE_FROM_CLIENTS: u32 = 2;

/// Each grid cell's group of this tick, kept between ticks. An entry counts only when the group
/// it points at names the same cell, so the table is never cleared.
#[derive(Debug, Default)]
pub(crate) struct CellGroupIndex {
    group_of_cell: Vec<u32>,
}

/// The clients due a snapshot in one cell this tick.
#[derive(Debug)]
struct Group {
    cell: u32,
    clients: u32,
    /// The union of the clients' query cells, once the group is known to be shared.
    cells: Option<CellRange>,
    /// Where the group's shared candidates are in the candidate columns; empty when the group is
    /// not shared, or when its cells hold no body (a grid query then finds none either).
    shared: Range<u32>,
}

/// Scratch for sorting the bodies a query or a group finds: `id << 32 | at` words (cheaper to
/// sort than states), `at` being where the body is in the grid's cell order. One per thread that
/// gathers, kept between ticks so that it stops allocating once grown.
#[derive(Debug, Default)]
pub(crate) struct GatherScratch {
    keys: Vec<u64>,
}

/// One tick's visibility work; everything it builds lives in the frame arena.
pub(crate) struct Visibility<'t> {
    grid: &'t InterestGrid,
    radius_m: f32,
    precision_m: f32,
    max_visible: usize,
    index: &'t mut CellGroupIndex,
    groups: BumpVec<'t, Group>,
    /// Whether clients are grouped this tick.
    shares: bool,
    /// The clients added, by position and cell.
    clients: BumpVec<'t, ([f32; 2], u32)>,
    candidate_xs: BumpVec<'t, f32>,
    candidate_ys: BumpVec<'t, f32>,
    candidate_states: BumpVec<'t, EntityState>,
}

impl<'t> Visibility<'t> {
    /// Starts a tick's work over the grid as rebuilt this tick, tagged with the bodies' ids.
    pub(crate) fn new(
        grid: &'t InterestGrid,
        radius_m: f32,
        precision_m: f32,
        max_visible: usize,
        index: &'t mut CellGroupIndex,
        bump: &'t Bump,
    ) -> Visibility<'t> {
        if index.group_of_cell.len() != grid.cell_count() {
            index.group_of_cell.clear();
            index.group_of_cell.resize(grid.cell_count(), u32::MAX);
        }
        Visibility {
            grid,
            radius_m,
            precision_m,
            max_visible,
            index,
            groups: BumpVec::new_in(bump),
            shares: grid.len() as u64
                >= u64::from(grid.occupied_cells()) * u64::from(SHARE_FROM_BODIES_PER_CELL),
            clients: BumpVec::new_in(bump),
            candidate_xs: BumpVec::new_in(bump),
            candidate_ys: BumpVec::new_in(bump),
            candidate_states: BumpVec::new_in(bump),
        }
    }

    /// Whether this tick groups clients: if so, every client due a snapshot must be added with
    /// [`add_client`](Self::add_client) and the groups built with [`share`](Self::share) before
    /// [`sets`](Self::sets) is asked for.
    pub(crate) fn shares(&self) -> bool {
        self.shares
    }

    /// Adds a client at `(x, y)` that is due a snapshot this tick.
    pub(crate) fn add_client(&mut self, x: f32, y: f32) {
        let cell = self.grid.cell_at(x, y);
        self.clients.push(([x, y], cell));
        if let Some(group) = self.sets().group_at(cell) {
            self.groups[group].clients += 1;
        } else {
            self.index.group_of_cell[cell as usize] = self.groups.len() as u32;
            self.groups.push(Group {
                cell,
                clients: 1,
                cells: None,
                shared: 0..0,
            });
        }
    }

    /// Builds the shared candidate list of every cell with enough clients.
    pub(crate) fn share(&mut self, scratch: &mut GatherScratch) {
        for &([x, y], cell) in &self.clients {
            let Some(group) = self.sets().group_at(cell) else {
                continue;
            };
            let group = &mut self.groups[group];
            if group.clients >= SHARE_FROM_CLIENTS
                && let Some(cells) = self.grid.query_cells(x, y, self.radius_m)
            {
                group.cells = Some(group.cells.map_or(cells, |union| union.union(cells)));
            }
        }
        for group in &mut self.groups {
            let Some(cells) = group.cells else {
                continue;
            };
            let keys = &mut scratch.keys;
            keys.clear();
            self.grid.runs(cells, |run| {
                keys.extend(run.tags.iter().zip(run.start..).map(|(&id, at)| key(id, at)));
            });
            let start = self.candidate_states.len();
            for (state, [x, y]) in sorted_states(keys, self.grid, self.precision_m) {
                self.candidate_xs.push(x);
                self.candidate_ys.push(y);
                self.candidate_states.push(state);
            }
            group.shared = start as u32..self.candidate_states.len() as u32;
        }
        // Never within reach, so a gather may read a whole chunk of eight past any group.
        for _ in 1..LANES {
            self.candidate_xs.push(f32::NAN);
            self.candidate_ys.push(f32::NAN);
            self.candidate_states.push(EntityState::default());
        }
    }

    /// What the gathering reads: plain slices, which threads can share.
    pub(crate) fn sets(&self) -> VisibleSets<'_> {
        VisibleSets {
            grid: self.grid,
            radius_m: self.radius_m,
            precision_m: self.precision_m,
            max_visible: self.max_visible,
            shares: self.shares,
            group_of_cell: &self.index.group_of_cell,
            groups: &self.groups,
            candidate_xs: &self.candidate_xs,
            candidate_ys: &self.candidate_ys,
            candidate_states: &self.candidate_states,
        }
    }
}

/// A client as its gather sees it: its body's id and position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Viewer {
    pub id: u32,
    pub x: f32,
    pub y: f32,
}

/// The finished groups of a tick, read by every client's gather.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VisibleSets<'v> {
    grid: &'v InterestGrid,
    radius_m: f32,
    precision_m: f32,
    max_visible: usize,
    shares: bool,
    group_of_cell: &'v [u32],
    groups: &'v [Group],
    candidate_xs: &'v [f32],
    candidate_ys: &'v [f32],
    candidate_states: &'v [EntityState],
}

impl<'v> VisibleSets<'v> {
    /// The grid the sets were built over.
    pub(crate) fn grid(&self) -> &'v InterestGrid {
        self.grid
    }

    /// The quantization step of the states gathered.
    pub(crate) fn precision_m(&self) -> f32 {
        self.precision_m
    }

    /// Fills `out` with the states of the bodies within view of `viewer`, at most `max_visible`
    /// of them (its own body and the nearest), sorted by id.
    pub(crate) fn gather(&self, scratch: &mut GatherScratch, viewer: Viewer, out: &mut Vec<EntityState>) {
        let Viewer { id, x, y } = viewer;
        self.gather_in_view(scratch, x, y, out);
        if out.len() > self.max_visible {
            let own = EntityState {
                id,
                qx: quantize(x, self.precision_m),
                qy: quantize(y, self.precision_m),
            };
            keep_nearest(out, self.max_visible, own, &mut scratch.keys);
        }
    }

    /// Fills `out` with the states of every body within view of a client at `(x, y)`, by id.
    fn gather_in_view(&self, scratch: &mut GatherScratch, x: f32, y: f32, out: &mut Vec<EntityState>) {
        out.clear();
        let r2 = self.radius_m * self.radius_m;
        let shared = self
            .shares
            .then(|| self.group_at(self.grid.cell_at(x, y)))
            .flatten()
            .map(|group| self.groups[group].shared.clone())
            .filter(|shared| !shared.is_empty());
        if let Some(shared) = shared {
            let range = shared.start as usize..shared.end as usize;
            // From the group's first candidate on: the columns are padded past the last group,
            // so every chunk of eight can be read whole.
            let states = &self.candidate_states[range.start..];
            within(
                &self.candidate_xs[range.start..],
                &self.candidate_ys[range.start..],
                range.len(),
                x,
                y,
                r2,
                |start, lanes| {
                    append_lanes(out, lanes, states[start..start + LANES].iter().copied());
                },
            );
            return;
        }
        let keys = &mut scratch.keys;
        keys.clear();
        self.grid.query_chunks(x, y, self.radius_m, |chunk| {
            let found = (chunk.tags.iter().zip(chunk.at..)).map(|(&id, at)| key(id, at));
            append_lanes(keys, chunk.lanes, found);
        });
        out.extend(sorted_states(keys, self.grid, self.precision_m).map(|(state, _)| state));
    }

    fn group_at(&self, cell: u32) -> Option<usize> {
        let group = *self.group_of_cell.get(cell as usize)? as usize;
        (self.groups.get(group)?.cell == cell).then_some(group)
    }
}

/// Keeps `max` of `states` (id-sorted, more than `max`): the viewer's own body, then the states
/// nearest to the viewer by their quantized positions, the lower id first at equal distance; leaves
/// them sorted by id. Which states are kept depends on nothing but the states, so it is the same
/// whatever order the bodies are stored in.
///
/// The selection runs over one word per state in `keys` (plain integers select several times
/// faster than states): 0 for the viewer's own body, so that bodies piled on its spot never push
/// it out, and `distance << 32 | index` plus one for the others, the index making the words
/// distinct and breaking ties by id. It finds the `max`-th smallest word, then one pass in id
/// order keeps every state whose word is not beyond it.
fn keep_nearest(states: &mut Vec<EntityState>, max: usize, viewer: EntityState, keys: &mut Vec<u64>) {
    let rank = |state: &EntityState, index: usize| {
        if state.id == viewer.id {
            return 0;
        }
        let dx = i64::from(state.qx) - i64::from(viewer.qx);
        let dy = i64::from(state.qy) - i64::from(viewer.qy);
        // Within a view radius of at most 32,000 steps this is below 2^31; farther states (none,
        // as config stands) all tie at the largest distance.
        let distance = dx.saturating_mul(dx).saturating_add(dy.saturating_mul(dy));
        let distance = u64::try_from(distance).map_or(u64::from(u32::MAX), |d| d.min(u64::from(u32::MAX)));
        // `index` is below 2^32 - 1 (a snapshot holds far fewer states), so the one added stays
        // out of the distance's bits.
        (distance << 32 | index as u64) + 1
    };
    keys.clear();
    keys.extend(states.iter().enumerate().map(|(index, state)| rank(state, index)));
    let (_, &mut bound, _) = keys.select_nth_unstable(max - 1);
    let mut kept = 0;
    for index in 0..states.len() {
        // Unconditional copies: `kept <= index` always, and a branch per state would mispredict.
        let state = states[index];
        states[kept] = state;
        kept += usize::from(rank(&state, index) <= bound);
    }
    states.truncate(kept);
}

/// Appends, in order, each of a chunk's eight `values` whose lane is set in `lanes`, with a fixed
/// sequence of copies where a branch per lane mispredicts: room for the whole chunk is added, each
/// value written to the next place (a value not picked is overwritten by the next), and the room
/// cut back. Writing in place rather than to a buffer on the stack spares the copy of the buffer,
/// whose wide loads would wait on its narrow stores.
#[inline]
fn append_lanes<T: Copy + Default>(out: &mut Vec<T>, lanes: u32, values: impl Iterator<Item = T>) {
    let at = out.len();
    out.resize(at + LANES, T::default());
    let room = &mut out[at..];
    let mut count = 0;
    for (lane, value) in values.take(LANES).enumerate() {
        room[count % LANES] = value;
        count += (lanes >> lane & 1) as usize;
    }
    out.truncate(at + count);
}

/// The sort key of the body with `id` at `at` in the grid's cell order.
#[inline]
fn key(id: u32, at: usize) -> u64 {
    u64::from(id) << 32 | at as u64
}

/// Sorts `keys` and yields each body's quantized state with its position, in id order. The
/// positions are the ones the grid copied this tick, so the distance tests saw the same values.
fn sorted_states<'k>(
    keys: &'k mut [u64],
    grid: &'k InterestGrid,
    precision_m: f32,
) -> impl Iterator<Item = (EntityState, [f32; 2])> + 'k {
    keys.sort_unstable();
    keys.iter().map(move |&key| {
        let [x, y] = grid.position(key as u32 as usize);
        let state = EntityState {
            id: (key >> 32) as u32,
            qx: quantize(x, precision_m),
            qy: quantize(y, precision_m),
        };
        (state, [x, y])
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sim::gameplay::interest_grid::GridBounds;
    use crate::sim::gameplay::motion::{Body, Motion};

    const RADIUS_M: f32 = 30.0;
    const PRECISION_M: f32 = 0.01;

    /// Every body within the radius of `(x, y)`, or the `max` nearest of them, by id.
    fn brute_force(motion: &Motion, viewer: Viewer, max: usize) -> Vec<EntityState> {
        let Viewer { id, x, y } = viewer;
        let (ids, xs, ys) = (motion.net_ids(), motion.xs(), motion.ys());
        let mut seen: Vec<EntityState> = (0..motion.len())
            .filter(|&slot| {
                let (dx, dy) = (xs[slot] - x, ys[slot] - y);
                dx * dx + dy * dy <= RADIUS_M * RADIUS_M
            })
            .map(|slot| EntityState {
                id: ids[slot],
                qx: quantize(xs[slot], PRECISION_M),
                qy: quantize(ys[slot], PRECISION_M),
            })
            .collect();
        let (vx, vy) = (quantize(x, PRECISION_M), quantize(y, PRECISION_M));
        seen.sort_by_key(|state| {
            let (dx, dy) = (i64::from(state.qx - vx), i64::from(state.qy - vy));
            (state.id != id, dx * dx + dy * dy, state.id)
        });
        seen.truncate(max);
        seen.sort_unstable_by_key(|state| state.id);
        seen
    }

    proptest! {
        /// Crowded or sparse, grouped or not, capped or not, every client sees exactly the
        /// bodies a brute-force distance filter finds (past the cap, itself and the nearest), in
        /// id order. On a lattice many bodies share a spot, so distances tie.
        #[test]
        fn every_client_sees_what_brute_force_finds(
            spread_m in prop_oneof![Just(20.0f32), Just(60.0), Just(400.0)],
            max_visible in prop_oneof![Just(usize::MAX), 1usize..40],
            lattice_m in prop_oneof![Just(None), Just(Some(2.0f32))],
            bodies in prop::collection::vec((0.0f32..1.0, 0.0f32..1.0), 1..300),
            clients in prop::collection::vec(0usize..300, 1..120),
        ) {
            let mut motion = Motion::default();
            let place = |u: f32| {
                let at = (u - 0.5) * spread_m;
                lattice_m.map_or(at, |step| (at / step).round() * step)
            };
            for (i, &(u, v)) in bodies.iter().enumerate() {
                motion.insert(Body {
                    // Ids out of slot order, so the sort is exercised.
                    net_id: (i as u32).wrapping_mul(2_654_435_761) >> 8,
                    x: place(u),
                    y: place(v),
                    speed: 0.0,
                    wanders: false,
                });
            }
            let bounds = GridBounds { min_x: -100.0, min_y: -100.0, max_x: 100.0, max_y: 100.0 };
            let mut grid = InterestGrid::new(bounds, 16.0);
            grid.rebuild(motion.xs(), motion.ys(), motion.net_ids());
            let viewers: Vec<Viewer> = clients
                .iter()
                .map(|&i| {
                    let slot = i % motion.len();
                    Viewer { id: motion.net_ids()[slot], x: motion.xs()[slot], y: motion.ys()[slot] }
                })
                .collect();

            let bump = Bump::new();
            let mut index = CellGroupIndex::default();
            let mut visibility =
                Visibility::new(&grid, RADIUS_M, PRECISION_M, max_visible, &mut index, &bump);
            let shares = visibility.shares();
            let mut scratch = GatherScratch::default();
            if shares {
                for viewer in &viewers {
                    visibility.add_client(viewer.x, viewer.y);
                }
                visibility.share(&mut scratch);
            }
            let mut seen = Vec::new();
            for &viewer in &viewers {
                visibility.sets().gather(&mut scratch, viewer, &mut seen);
                let expected = brute_force(&motion, viewer, max_visible);
                prop_assert_eq!(&seen[..], &expected[..], "shares: {}", shares);
            }
        }
    }

    #[test]
    fn a_crowd_is_grouped_and_a_sparse_world_is_not() {
        let world = |spread_m: f32| {
            let mut motion = Motion::default();
            for i in 0..400u32 {
                motion.insert(Body {
                    net_id: i,
                    x: (i % 20) as f32 / 20.0 * spread_m,
                    y: (i / 20) as f32 / 20.0 * spread_m,
                    speed: 0.0,
                    wanders: false,
                });
            }
            motion
        };
        let bounds = GridBounds {
            min_x: 0.0,
            min_y: 0.0,
            max_x: 1000.0,
            max_y: 1000.0,
        };
        let bump = Bump::new();
        for (spread_m, grouped) in [(30.0, true), (1000.0, false)] {
            let motion = world(spread_m);
            let mut grid = InterestGrid::new(bounds, 16.0);
            grid.rebuild(motion.xs(), motion.ys(), motion.net_ids());
            let mut index = CellGroupIndex::default();
            let visibility = Visibility::new(&grid, RADIUS_M, PRECISION_M, usize::MAX, &mut index, &bump);
            assert_eq!(visibility.shares(), grouped, "spread {spread_m} m");
        }
    }
}
