//! Everything that moves, as structure-of-arrays columns: position, unit direction and speed per
//! slot, padded to whole `f32x8` lanes. The per-tick sweep `x += dir × speed × dt`, clamped to the
//! world, runs as one fused `wide::f32x8` pass; a scalar reference gives bit-identical results
//! (no fused multiply-add on either side), which the property tests check.
//!
//! Slots are dense: removing one moves the last slot into the hole. Entities hold a stable
//! [`MotionHandle`]; slots themselves are reordered from time to time into the interest grid's cell
//! order, so that the per-tick re-indexing walks memory mostly in order.

use bevy_ecs::entity::Entity;
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
    pub owner: Entity,
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

/// Moving bodies. Bodies live in dense slots, which [`Motion::sort_slots`] reorders so that bodies
/// near each other in the world are near each other in memory; entities hold a stable
/// [`MotionHandle`] that maps to the current slot.
#[derive(Debug, Default, Resource)]
pub struct Motion {
    cols: MotionColumns,
    owner: Vec<Entity>,
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
    column: Column,
    owner: Vec<Entity>,
    words: Vec<u32>,
    flags: Vec<bool>,
}

impl Motion {
    /// Live bodies.
    pub fn len(&self) -> usize {
        self.owner.len()
    }

    /// True when nothing moves.
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }

    /// Adds a body and returns its handle.
    pub(crate) fn insert(&mut self, body: Body) -> MotionHandle {
        let slot = self.owner.len();
        self.owner.push(body.owner);
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
        let Some(last) = self.owner.len().checked_sub(1) else {
            return;
        };
        self.owner.swap_remove(slot);
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

    /// Reorders the slots: the body in slot `order[i]` moves to slot `i`. `order` must be a
    /// permutation of `0..len()` (the interest grid's cell order is one).
    pub(crate) fn sort_slots(&mut self, order: &[u32]) {
        debug_assert_eq!(order.len(), self.len());
        let scratch = &mut self.scratch;
        for column in self.cols.all_mut() {
            scratch.column.0.clear();
            scratch.column.0.resize(column.0.len(), f32x8::ZERO);
            let (from, to) = (column.values(), scratch.column.values_mut());
            for (to, &old) in to.iter_mut().zip(order) {
                *to = from[old as usize];
            }
            std::mem::swap(column, &mut scratch.column);
        }
        permute(&mut self.owner, order, &mut scratch.owner);
        permute(&mut self.net_id, order, &mut scratch.words);
        permute(&mut self.handle_of_slot, order, &mut scratch.words);
        permute(&mut self.wanders, order, &mut scratch.flags);
        for (slot, &handle) in self.handle_of_slot.iter().enumerate() {
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

/// Reorders `values` so that `values[i]` becomes the old `values[order[i]]`, through `scratch`.
fn permute<T: Copy>(values: &mut Vec<T>, order: &[u32], scratch: &mut Vec<T>) {
    scratch.clear();
    scratch.extend(order.iter().map(|&old| values[old as usize]));
    std::mem::swap(values, scratch);
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
