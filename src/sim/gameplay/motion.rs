//! Everything that moves, as structure-of-arrays columns: position, unit direction and speed per
//! slot, padded to whole `f32x8` lanes. The per-tick sweep `x += dir × speed × dt`, clamped to the
//! world, runs as one fused `wide::f32x8` pass; a scalar reference gives bit-identical results
//! (no fused multiply-add on either side), which the property tests check.
//!
//! Slots are dense: removing one moves the last slot into the hole, and the caller updates the moved
//! entity's [`MotionSlot`](super::components::MotionSlot).

use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use wide::f32x8;

use crate::config::BoundsConfig;

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

/// The columns one sweep reads and writes; all slices have the same length, a multiple of [`LANES`].
#[derive(Debug)]
pub struct Columns<'a> {
    /// East positions, metres (written).
    pub x: &'a mut [f32],
    /// North positions, metres (written).
    pub y: &'a mut [f32],
    /// Unit direction, east.
    pub dir_x: &'a [f32],
    /// Unit direction, north.
    pub dir_y: &'a [f32],
    /// Speed, metres per second.
    pub speed: &'a [f32],
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

/// Moving bodies by slot.
#[derive(Debug, Default, Resource)]
pub struct Motion {
    x: Vec<f32>,
    y: Vec<f32>,
    dir_x: Vec<f32>,
    dir_y: Vec<f32>,
    speed: Vec<f32>,
    owner: Vec<Entity>,
    net_id: Vec<u32>,
    wanders: Vec<bool>,
}

impl Motion {
    /// Live slots.
    pub fn len(&self) -> usize {
        self.owner.len()
    }

    /// True when nothing moves.
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }

    /// Adds a body at rest at (`x`, `y`) and returns its slot.
    pub(crate) fn insert(&mut self, body: Body) -> u32 {
        let Body {
            owner,
            net_id,
            x,
            y,
            speed,
            wanders,
        } = body;
        let slot = self.owner.len();
        self.owner.push(owner);
        self.net_id.push(net_id);
        self.wanders.push(wanders);
        if slot == self.x.len() {
            for column in self.columns_mut() {
                column.resize(slot + LANES, 0.0);
            }
        }
        self.x[slot] = x;
        self.y[slot] = y;
        self.speed[slot] = speed;
        u32::try_from(slot).unwrap_or(u32::MAX)
    }

    /// Removes `slot`, moving the last body into it; returns the entity that now owns `slot`, if one
    /// moved.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<Entity> {
        let slot = slot as usize;
        let last = self.owner.len().checked_sub(1)?;
        self.owner.swap_remove(slot);
        self.net_id.swap_remove(slot);
        self.wanders.swap_remove(slot);
        for column in self.columns_mut() {
            column[slot] = column[last];
            column[last] = 0.0;
        }
        if last % LANES == 0 {
            for column in self.columns_mut() {
                column.truncate(last);
            }
        }
        (slot < last).then(|| self.owner[slot])
    }

    fn columns_mut(&mut self) -> [&mut Vec<f32>; 5] {
        [
            &mut self.x,
            &mut self.y,
            &mut self.dir_x,
            &mut self.dir_y,
            &mut self.speed,
        ]
    }

    /// Sets the unit direction of `slot`.
    pub(crate) fn steer(&mut self, slot: u32, dir_x: f32, dir_y: f32) {
        self.dir_x[slot as usize] = dir_x;
        self.dir_y[slot as usize] = dir_y;
    }

    /// Sets the speed of `slot`, metres per second.
    pub(crate) fn set_speed(&mut self, slot: u32, speed: f32) {
        self.speed[slot as usize] = speed;
    }

    /// Position of `slot`.
    pub fn position(&self, slot: u32) -> [f32; 2] {
        [self.x[slot as usize], self.y[slot as usize]]
    }

    /// Velocity of `slot` in metres per second.
    pub fn velocity(&self, slot: u32) -> [f32; 2] {
        let s = slot as usize;
        [self.dir_x[s] * self.speed[s], self.dir_y[s] * self.speed[s]]
    }

    /// East positions of the live slots.
    pub fn xs(&self) -> &[f32] {
        &self.x[..self.len()]
    }

    /// North positions of the live slots.
    pub fn ys(&self) -> &[f32] {
        &self.y[..self.len()]
    }

    /// Snapshot ids of the live slots.
    pub fn net_ids(&self) -> &[u32] {
        &self.net_id
    }

    /// Whether `slot` is steered by the wander AI rather than by a client.
    pub fn wanders(&self, slot: usize) -> bool {
        self.wanders.get(slot).copied().unwrap_or(false)
    }

    /// The entity in `slot`.
    pub fn owner(&self, slot: u32) -> Entity {
        self.owner[slot as usize]
    }

    /// The padded columns, for a sweep.
    pub fn columns(&mut self) -> Columns<'_> {
        Columns {
            x: &mut self.x,
            y: &mut self.y,
            dir_x: &self.dir_x,
            dir_y: &self.dir_y,
            speed: &self.speed,
        }
    }
}

/// Advances every body by `dt` seconds and clamps it to `bounds`, eight at a time, with the best
/// code path for this CPU: [`sweep_portable`]'s code compiled for AVX2+FMA where the CPU has them
/// (picked once at run time), the x86-64 baseline otherwise. The tick uses this.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
pub fn sweep_simd(columns: Columns<'_>, dt: f32, bounds: Bounds) {
    sweep_lanes(columns, dt, bounds);
}

/// The SIMD sweep compiled for the build's target only (on a default x86-64 build: SSE2, each
/// `f32x8` as two 4-lane halves); kept callable so benches can report both paths.
pub fn sweep_portable(columns: Columns<'_>, dt: f32, bounds: Bounds) {
    sweep_lanes(columns, dt, bounds);
}

#[inline(always)]
fn sweep_lanes(columns: Columns<'_>, dt: f32, bounds: Bounds) {
    let dt = f32x8::splat(dt);
    let (min_x, max_x) = (f32x8::splat(bounds.min_x), f32x8::splat(bounds.max_x));
    let (min_y, max_y) = (f32x8::splat(bounds.min_y), f32x8::splat(bounds.max_y));
    let chunks = columns
        .x
        .chunks_exact_mut(LANES)
        .zip(columns.y.chunks_exact_mut(LANES))
        .zip(columns.dir_x.chunks_exact(LANES))
        .zip(columns.dir_y.chunks_exact(LANES))
        .zip(columns.speed.chunks_exact(LANES));
    for ((((x, y), dir_x), dir_y), speed) in chunks {
        let step = lanes(speed) * dt;
        let next_x = (lanes(x) + lanes(dir_x) * step).max(min_x).min(max_x);
        let next_y = (lanes(y) + lanes(dir_y) * step).max(min_y).min(max_y);
        x.copy_from_slice(&next_x.to_array());
        y.copy_from_slice(&next_y.to_array());
    }
}

/// The same sweep one body at a time: the reference the SIMD path is tested against.
pub fn sweep_scalar(columns: Columns<'_>, dt: f32, bounds: Bounds) {
    for i in 0..columns.x.len() {
        let step = columns.speed[i] * dt;
        columns.x[i] = (columns.x[i] + columns.dir_x[i] * step)
            .max(bounds.min_x)
            .min(bounds.max_x);
        columns.y[i] = (columns.y[i] + columns.dir_y[i] * step)
            .max(bounds.min_y)
            .min(bounds.max_y);
    }
}

#[inline(always)]
fn lanes(chunk: &[f32]) -> f32x8 {
    let mut array = [0.0; LANES];
    array.copy_from_slice(chunk);
    f32x8::from(array)
}
