//! Everything that moves, as structure-of-arrays columns: position, unit direction and speed per
//! slot, padded to whole `f32x8` lanes. The per-tick sweep `x += dir × speed × dt`, clamped to the
//! world, runs as one fused `wide::f32x8` pass; a scalar reference gives bit-identical results
//! (no fused multiply-add on either side), which the property tests check.
//!
//! Slots are dense: removing one moves the last slot into the hole. Entities hold a stable
//! [`MotionHandle`]; slots themselves are reordered into the interest grid's cell order, a window
//! of them at a time or all at once, so that the per-tick re-indexing walks memory mostly in order.

use bevy_ecs::resource::Resource;
use wide::f32x8;

pub use super::components::MotionHandle;
use crate::config::BoundsConfig;
use crate::sim::prefetch::prefetch;

/// Lanes per SIMD chunk; every column's length is a multiple of this.
pub const LANES: usize = 8;

/// The world rectangle the sweep clamps to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// West edge.
    pub min_x: f32,
    /// South edge.
    pub min_y: f32,
    /// East edge.
    pub max_x: f32,
    /// North edge.
    pub max_y: f32,
}

impl From<&BoundsConfig> for Bounds {
    fn from(b: &BoundsConfig) -> Self {
        Bounds {
            min_x: b.min_x_m,
            min_y: b.min_y_m,
            max_x: b.max_x_m,
            max_y: b.max_y_m,
        }
    }
}

/// The columns one sweep reads and writes, eight bodies per element; all slices have the same
/// length.
#[derive(Debug)]
pub struct Columns<'a> {
    /// East positions, metres (written).
    pub x: &'a mut [f32x8],
    /// North positions, metres (written).
    pub y: &'a mut [f32x8],
    /// Unit direction, east.
    pub dir_x: &'a [f32x8],
    /// Unit direction, north.
    pub dir_y: &'a [f32x8],
    /// Speed, metres per second.
    pub speed: &'a [f32x8],
}

/// One `f32` per body, stored as whole `f32x8` lanes so the sweep loads and stores them directly.
#[derive(Debug, Default, Clone)]
pub struct Column(Vec<f32x8>);

impl Column {
    /// A column holding `values`, padded with zeros to whole lanes.
    pub fn from_values(values: &[f32]) -> Column {
        let chunks = values.chunks(LANES).map(|chunk| {
            let mut lane = [0.0; LANES];
            lane[..chunk.len()].copy_from_slice(chunk);
            f32x8::from(lane)
        });
        Column(chunks.collect())
    }

    /// The values, one per body (padding included).
    pub fn values(&self) -> &[f32] {
        wide::bytemuck::cast_slice(&self.0)
    }

    fn values_mut(&mut self) -> &mut [f32] {
        wide::bytemuck::cast_slice_mut(&mut self.0)
    }

    /// The lanes, for a sweep.
    pub fn lanes(&self) -> &[f32x8] {
        &self.0
    }

    /// The lanes, for a sweep that writes.
    pub fn lanes_mut(&mut self) -> &mut [f32x8] {
        &mut self.0
    }
}

/// The five columns a sweep works on, owned: what [`Motion`] keeps, and what tests and benches
/// build to drive a sweep directly.
#[derive(Debug, Default, Clone)]
pub struct MotionColumns {
    /// East positions, metres.
    pub x: Column,
    /// North positions, metres.
    pub y: Column,
    /// Unit direction, east.
    pub dir_x: Column,
    /// Unit direction, north.
    pub dir_y: Column,
    /// Speed, metres per second.
    pub speed: Column,
}

impl MotionColumns {
    /// `n` bodies, body `i` being `[x, y, dir_x, dir_y, speed] = body(i)`.
    pub fn from_fn(n: usize, body: impl Fn(usize) -> [f32; 5]) -> MotionColumns {
        let bodies: Vec<[f32; 5]> = (0..n).map(body).collect();
        let column = |field: usize| Column::from_values(&bodies.iter().map(|b| b[field]).collect::<Vec<_>>());
        MotionColumns {
            x: column(0),
            y: column(1),
            dir_x: column(2),
            dir_y: column(3),
            speed: column(4),
        }
    }

    /// The view a sweep takes.
    pub fn columns(&mut self) -> Columns<'_> {
        Columns {
            x: self.x.lanes_mut(),
            y: self.y.lanes_mut(),
            dir_x: self.dir_x.lanes(),
            dir_y: self.dir_y.lanes(),
            speed: self.speed.lanes(),
        }
    }

    fn all_mut(&mut self) -> [&mut Column; 5] {
        [
            &mut self.x,
            &mut self.y,
            &mut self.dir_x,
            &mut self.dir_y,
            &mut self.speed,
        ]
    }
}

/// A body to add to the columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Body {
    pub net_id: u32,
    pub x: f32,
    pub y: f32,
    pub speed: f32,
    pub wanders: bool,
}

/// What one body is doing, as [`Motion::bodies`] lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyView {
    /// The body's id in snapshots.
    pub net_id: u32,
    /// Where it is, metres.
    pub position: [f32; 2],
    /// How fast it moves, metres per second.
    pub velocity: [f32; 2],
}

/// Moving bodies. Bodies live in dense slots, which [`Motion::sort_slots`] and
/// [`Motion::sort_window`] reorder so that bodies near each other in the world are near each other
/// in memory; entities hold a stable [`MotionHandle`] that maps to the current slot.
#[derive(Debug, Default, Resource)]
pub struct Motion {
    cols: MotionColumns,
    net_id: Vec<u32>,
    wanders: Vec<bool>,
    handle_of_slot: Vec<u32>,
    slot_of_handle: Vec<u32>,
    free_handles: Vec<u32>,
    scratch: Scratch,
}

/// Buffers a slot reorder permutes through, kept so that reordering does not allocate.
#[derive(Debug, Default)]
struct Scratch {
    /// A window's places, each with the slot's index in the window in the low half, sorted.
    keys: Vec<u64>,
    order: Vec<u32>,
    floats: Vec<f32>,
    words: Vec<u32>,
    flags: Vec<bool>,
}

impl Motion {
    /// Live bodies.
    pub fn len(&self) -> usize {
        self.net_id.len()
    }

    /// True when nothing moves.
    pub fn is_empty(&self) -> bool {
        self.net_id.is_empty()
    }

    /// Adds a body and returns its handle.
    pub(crate) fn insert(&mut self, body: Body) -> MotionHandle {
        let slot = self.net_id.len();
        self.net_id.push(body.net_id);
        self.wanders.push(body.wanders);
        if slot == self.cols.x.values().len() {
            for column in self.cols.all_mut() {
                column.0.push(f32x8::ZERO);
            }
        }
        self.cols.x.values_mut()[slot] = body.x;
        self.cols.y.values_mut()[slot] = body.y;
        self.cols.speed.values_mut()[slot] = body.speed;
        let handle = self.free_handles.pop().unwrap_or_else(|| {
            self.slot_of_handle.push(0);
            u32::try_from(self.slot_of_handle.len() - 1).unwrap_or(u32::MAX)
        });
        self.slot_of_handle[handle as usize] = slot as u32;
        self.handle_of_slot.push(handle);
        MotionHandle(handle)
    }

    /// Removes a body; the last slot's body moves into its slot.
    pub(crate) fn remove(&mut self, handle: MotionHandle) {
        let slot = self.slot(handle);
        let Some(last) = self.net_id.len().checked_sub(1) else {
            return;
        };
        self.net_id.swap_remove(slot);
        self.wanders.swap_remove(slot);
        self.handle_of_slot.swap_remove(slot);
        for column in self.cols.all_mut() {
            let values = column.values_mut();
            values[slot] = values[last];
            values[last] = 0.0;
            if last % LANES == 0 {
                column.0.pop();
            }
        }
        if let Some(&moved) = self.handle_of_slot.get(slot) {
            self.slot_of_handle[moved as usize] = slot as u32;
        }
        self.free_handles.push(handle.0);
    }

    /// Reorders every slot: the body in slot `order[i]` moves to slot `i`. `order` must be a
    /// permutation of `0..len()` (the interest grid's cell order is one).
    pub(crate) fn sort_slots(&mut self, order: &[u32]) {
        debug_assert_eq!(order.len(), self.len());
        let mut scratch = std::mem::take(&mut self.scratch);
        self.reorder(0, order, &mut scratch);
        self.scratch = scratch;
    }

    /// Sorts the slots from `start` on by their places, the place of slot `start + i` being
    /// `places[i]` (distinct values, such as where the interest grid put each slot in cell order).
    /// The slots outside the window keep theirs.
    pub(crate) fn sort_window(&mut self, start: usize, places: &[u32]) {
        debug_assert!(start + places.len() <= self.len());
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut order = std::mem::take(&mut scratch.order);
        order_by_place(places, &mut scratch, &mut order);
        // A window whose bodies all stayed in their cells is already in order.
        if !order.iter().copied().eq(0..order.len() as u32) {
            self.reorder(start, &order, &mut scratch);
        }
        scratch.order = order;
        self.scratch = scratch;
    }

    /// Moves the body in slot `start + order[i]` to slot `start + i`, for a permutation `order`
    /// of `0..order.len()`.
    fn reorder(&mut self, start: usize, order: &[u32], scratch: &mut Scratch) {
        let window = start..start + order.len();
        for column in self.cols.all_mut() {
            permute(
                &mut column.values_mut()[window.clone()],
                order,
                &mut scratch.floats,
            );
        }
        permute(&mut self.net_id[window.clone()], order, &mut scratch.words);
        permute(
            &mut self.handle_of_slot[window.clone()],
            order,
            &mut scratch.words,
        );
        permute(&mut self.wanders[window.clone()], order, &mut scratch.flags);
        for (slot, &handle) in window.clone().zip(&self.handle_of_slot[window]) {
            self.slot_of_handle[handle as usize] = slot as u32;
        }
    }

    fn slot(&self, handle: MotionHandle) -> usize {
        self.slot_of_handle[handle.0 as usize] as usize
    }

    /// Sets the unit direction of a body.
    pub(crate) fn steer(&mut self, handle: MotionHandle, dir_x: f32, dir_y: f32) {
        let slot = self.slot(handle);
        self.steer_slot(slot, dir_x, dir_y);
    }

    /// Sets the unit direction of the body in `slot`.
    pub(crate) fn steer_slot(&mut self, slot: usize, dir_x: f32, dir_y: f32) {
        self.cols.dir_x.values_mut()[slot] = dir_x;
        self.cols.dir_y.values_mut()[slot] = dir_y;
    }

    /// Sets the speed of a body, metres per second.
    pub(crate) fn set_speed(&mut self, handle: MotionHandle, speed: f32) {
        let slot = self.slot(handle);
        self.set_speed_slot(slot, speed);
    }

    /// Sets the speed of the body in `slot`, metres per second.
    pub(crate) fn set_speed_slot(&mut self, slot: usize, speed: f32) {
        self.cols.speed.values_mut()[slot] = speed;
    }

    /// Brings a body's position and direction towards the core, for a caller that will read or
    /// steer it soon.
    pub(crate) fn prefetch(&self, handle: MotionHandle) {
        let slot = self.slot(handle);
        prefetch(&self.cols.x.values()[slot]);
        prefetch(&self.cols.y.values()[slot]);
        prefetch(&self.cols.dir_x.values()[slot]);
        prefetch(&self.cols.dir_y.values()[slot]);
    }

    /// Position of a body.
    pub fn position(&self, handle: MotionHandle) -> [f32; 2] {
        let slot = self.slot(handle);
        [self.cols.x.values()[slot], self.cols.y.values()[slot]]
    }

    /// Every body, in slot order.
    pub fn bodies(&self) -> impl Iterator<Item = BodyView> + '_ {
        let (x, y, speed) = (
            self.cols.x.values(),
            self.cols.y.values(),
            self.cols.speed.values(),
        );
        let (dir_x, dir_y) = (self.cols.dir_x.values(), self.cols.dir_y.values());
        self.net_id
            .iter()
            .enumerate()
            .map(move |(slot, &net_id)| BodyView {
                net_id,
                position: [x[slot], y[slot]],
                velocity: [dir_x[slot] * speed[slot], dir_y[slot] * speed[slot]],
            })
    }

    /// East positions, by slot.
    pub fn xs(&self) -> &[f32] {
        &self.cols.x.values()[..self.len()]
    }

    /// North positions, by slot.
    pub fn ys(&self) -> &[f32] {
        &self.cols.y.values()[..self.len()]
    }

    /// Snapshot ids, by slot.
    pub fn net_ids(&self) -> &[u32] {
        &self.net_id
    }

    /// Whether the body in `slot` is steered by the wander AI rather than by a client.
    pub fn wanders(&self, slot: usize) -> bool {
        self.wanders.get(slot).copied().unwrap_or(false)
    }

    /// The columns, for a sweep.
    pub fn columns(&mut self) -> Columns<'_> {
        self.cols.columns()
    }
}

/// How much wider than a window its places may spread for [`order_by_place`] to rank them in a
/// table rather than sort them.
const RANK_SPAN_PER_SLOT: usize = 4;

/// Fills `order` with `0..places.len()` sorted by `places` (distinct values). The places of a
/// window of slots close to cell order span little more than the window, and are then ranked by
/// marking each in a table as wide as their span: a few nanoseconds per slot, where a comparison
/// sort takes tens.
fn order_by_place(places: &[u32], scratch: &mut Scratch, order: &mut Vec<u32>) {
    order.clear();
    let (Some(&low), Some(&high)) = (places.iter().min(), places.iter().max()) else {
        return;
    };
    let span = (high - low) as usize + 1;
    if span <= places.len() * RANK_SPAN_PER_SLOT {
        let ranks = &mut scratch.words;
        ranks.clear();
        // At its widest at once, so that the table stops allocating after the first window.
        ranks.reserve(places.len() * RANK_SPAN_PER_SLOT);
        ranks.resize(span, u32::MAX);
        for (index, &place) in (0u32..).zip(places) {
            ranks[(place - low) as usize] = index;
        }
        order.extend(ranks.iter().copied().filter(|&index| index != u32::MAX));
    } else {
        let keys = &mut scratch.keys;
        keys.clear();
        keys.extend(
            (0u32..)
                .zip(places)
                .map(|(index, &place)| (u64::from(place) << 32) | u64::from(index)),
        );
        keys.sort_unstable();
        order.extend(keys.iter().map(|&key| key as u32));
    }
}

/// Reorders `values` so that `values[i]` becomes the old `values[order[i]]`, through `scratch`.
fn permute<T: Copy>(values: &mut [T], order: &[u32], scratch: &mut Vec<T>) {
    scratch.clear();
    scratch.extend(order.iter().map(|&old| values[old as usize]));
    values.copy_from_slice(scratch);
}

/// Advances every body by `dt` seconds and clamps it to `bounds`, eight at a time. On a default
/// x86-64 build each `f32x8` runs as two SSE halves; a build with AVX enabled at compile time
/// (`RUSTFLAGS="-C target-cpu=native"`, the documented opt-in) runs it as one AVX register. A
/// run-time dispatch would not help: `wide` picks its instructions when it is compiled.
pub fn sweep_simd(columns: Columns<'_>, dt: f32, bounds: Bounds) {
    let dt = f32x8::splat(dt);
    let (min_x, max_x) = (f32x8::splat(bounds.min_x), f32x8::splat(bounds.max_x));
    let (min_y, max_y) = (f32x8::splat(bounds.min_y), f32x8::splat(bounds.max_y));
    let lanes = columns
        .x
        .iter_mut()
        .zip(columns.y.iter_mut())
        .zip(columns.dir_x)
        .zip(columns.dir_y)
        .zip(columns.speed);
    // Positions and directions are always finite (inputs are checked), so the NaN-blind
    // `fast_max`/`fast_min` agree with the scalar `max`/`min` bit for bit.
    for ((((x, y), &dir_x), &dir_y), &speed) in lanes {
        let step = speed * dt;
        *x = (*x + dir_x * step).fast_max(min_x).fast_min(max_x);
        *y = (*y + dir_y * step).fast_max(min_y).fast_min(max_y);
    }
}

/// The same sweep one body at a time: the reference the SIMD path is tested against.
pub fn sweep_scalar(columns: Columns<'_>, dt: f32, bounds: Bounds) {
    let x: &mut [f32] = wide::bytemuck::cast_slice_mut(columns.x);
    let y: &mut [f32] = wide::bytemuck::cast_slice_mut(columns.y);
    let dir_x: &[f32] = wide::bytemuck::cast_slice(columns.dir_x);
    let dir_y: &[f32] = wide::bytemuck::cast_slice(columns.dir_y);
    let speed: &[f32] = wide::bytemuck::cast_slice(columns.speed);
    for i in 0..x.len() {
        let step = speed[i] * dt;
        x[i] = (x[i] + dir_x[i] * step).max(bounds.min_x).min(bounds.max_x);
        y[i] = (y[i] + dir_y[i] * step).max(bounds.min_y).min(bounds.max_y);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `n` bodies, body `i` with id `i` at `(i, -i)`, every third one a wanderer.
    fn numbered_bodies(n: usize) -> (Motion, Vec<MotionHandle>) {
        let mut motion = Motion::default();
        let handles = (0..n)
            .map(|i| {
                motion.insert(Body {
                    net_id: i as u32,
                    x: i as f32,
                    y: -(i as f32),
                    speed: 1.0,
                    wanders: i % 3 == 0,
                })
            })
            .collect();
        (motion, handles)
    }

    fn shuffled_places() -> impl Strategy<Value = Vec<u32>> {
        (1u32..300).prop_flat_map(|n| Just((0..n).collect::<Vec<_>>()).prop_shuffle())
    }

    proptest! {
        #[test]
        fn a_sorted_window_is_in_place_order_and_every_handle_still_finds_its_body(
            places in shuffled_places(),
            // 1: places span about the window, which ranks them in a table; 1,000: far wider
            // than the window, which sorts them.
            spread in prop_oneof![Just(1u32), Just(1_000)],
            bounds in (0.0f64..=1.0, 0.0f64..=1.0),
        ) {
            let n = places.len();
            let places: Vec<u32> = places.iter().map(|&place| place * spread).collect();
            let (mut motion, handles) = numbered_bodies(n);
            let ends = [bounds.0, bounds.1].map(|share| (share * n as f64) as usize);
            let window = ends[0].min(ends[1])..ends[0].max(ends[1]);

            motion.sort_window(window.start, &places[window.clone()]);

            for (id, &handle) in handles.iter().enumerate() {
                prop_assert_eq!(motion.position(handle), [id as f32, -(id as f32)]);
            }
            let ids = motion.net_ids();
            for (slot, &id) in ids.iter().enumerate() {
                prop_assert_eq!(motion.xs()[slot], id as f32, "columns move with the id");
                prop_assert_eq!(motion.wanders(slot), id % 3 == 0);
                if !window.contains(&slot) {
                    prop_assert_eq!(id as usize, slot, "outside the window nothing moves");
                }
            }
            let window_places: Vec<u32> = ids[window].iter().map(|&id| places[id as usize]).collect();
            prop_assert!(window_places.is_sorted(), "{:?}", window_places);
        }
    }
}
