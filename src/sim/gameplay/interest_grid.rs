//! A uniform-grid spatial index answering one question for interest management: which slots lie within a
//! given distance of a point. It owns only that: slots are plain indices into the caller's position arrays,
//! and the grid knows nothing of entities, components or the ECS that produced them. The index is rebuilt
//! from scratch every tick by a counting sort (cell counts -> prefix sums -> scatter) into buffers it keeps,
//! which is cheaper and simpler than tracking moves incrementally when most things move every tick, and
//! after warm-up it runs without touching the heap. Cells are found eight at a time, and the scatter
//! moves a run of eight slots that stayed in cell order as one copy, so a caller that keeps its slots
//! close to cell order rebuilds faster: the grid tells it each slot's [place](InterestGrid::places)
//! and how [scattered](InterestGrid::scattered_share) the last rebuild found the slots.
//!
//! The scatter copies each slot's position and tag (a `u32` the caller attaches, such as an id) next to
//! it, so a query reads one contiguous run of positions per row of cells and tests them eight at a time
//! (`wide::f32x8`), with the same f32 arithmetic as the scalar distance test, and never reaches back into
//! the caller's arrays. A caller walking many queries can [`prefetch`](InterestGrid::prefetch_cells)
//! the rows of the queries it will run next, so that their cache misses overlap.

use wide::f32x8;

use crate::sim::prefetch::prefetch;

/// The rectangle the grid covers, in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridBounds {
    /// Smallest x covered; positions below it are indexed in the first column.
    pub min_x: f32,
    /// Smallest y covered; positions below it are indexed in the first row.
    pub min_y: f32,
    /// Largest x covered; positions above it are indexed in the last column.
    pub max_x: f32,
    /// Largest y covered; positions above it are indexed in the last row.
    pub max_y: f32,
}

/// Upper limit on the number of cells, so that the per-cell prefix-sum array stays at about 16 MiB and its
/// per-rebuild clearing cost stays bounded however small a cell size is asked for.
const MAX_CELLS: u64 = 1 << 22;

/// Relative widening of a query's bounding box. The distance test is done in rounded f32 arithmetic, so a
/// slot a hair outside the exact circle can still pass it; widening by far more than the worst-case rounding
/// error guarantees such a slot's cell is still read, so results match a brute-force scan bit-for-bit.
const QUERY_PAD_REL: f32 = 1.0 / 65536.0;

/// Absolute widening of a query's bounding box, covering squares that underflow to zero near the origin.
const QUERY_PAD_ABS: f32 = 1e-20;

/// Maps positions to cells. Rebuild and query share this one function, and it is monotone in each
/// coordinate; that, not the geometric accuracy of the cell edges, is what makes queries exact.
#[derive(Debug, Clone, Copy)]
struct CellMap {
    origin_x: f32,
    origin_y: f32,
    inv_cell: f32,
    cols: u32,
    rows: u32,
}

impl CellMap {
    /// Float-to-int `as` saturates and maps NaN to 0, so out-of-bounds positions land in the edge cells and
    /// NaN lands in the first one without any branch.
    #[inline]
    fn col(&self, x: f32) -> u32 {
        (((x - self.origin_x) * self.inv_cell) as u32).min(self.cols - 1)
    }

    #[inline]
    fn row(&self, y: f32) -> u32 {
        (((y - self.origin_y) * self.inv_cell) as u32).min(self.rows - 1)
    }

    #[inline]
    fn cell(&self, x: f32, y: f32) -> u32 {
        self.row(y) * self.cols + self.col(x)
    }

    fn cells(&self) -> usize {
        self.cols as usize * self.rows as usize
    }

    /// Writes the cell of every `(xs[i], ys[i])` to `cells[i]`, eight at a time: the same cells as
    /// [`cell`](Self::cell), by the same arithmetic, with the clamping done before the conversion
    /// (equivalent over the whole range, NaN included) so that it needs no branch.
    fn cells_of(&self, xs: &[f32], ys: &[f32], cells: &mut [u32]) {
        let mut xs_chunks = xs.chunks_exact(LANES);
        let mut ys_chunks = ys.chunks_exact(LANES);
        let mut cells_chunks = cells.chunks_exact_mut(LANES);
        let cols = f32x8::splat(self.cols as f32);
        for ((x, y), out) in (&mut xs_chunks).zip(&mut ys_chunks).zip(&mut cells_chunks) {
            let col = self.axis_lanes(f32x8::new(lanes(x)), self.origin_x, self.cols);
            let row = self.axis_lanes(f32x8::new(lanes(y)), self.origin_y, self.rows);
            // Exact in f32: every cell index is below 2^22.
            let cell = (row * cols + col).fast_trunc_int().to_array();
            for (out, cell) in out.iter_mut().zip(cell) {
                *out = cell as u32;
            }
        }
        let rest = xs_chunks.remainder().iter().zip(ys_chunks.remainder());
        for (out, (&x, &y)) in cells_chunks.into_remainder().iter_mut().zip(rest) {
            *out = self.cell(x, y);
        }
    }

    /// [`col`](Self::col) or [`row`](Self::row) of eight coordinates, as whole numbers in f32.
    #[inline]
    fn axis_lanes(&self, v: f32x8, origin: f32, count: u32) -> f32x8 {
        // `max` picks the non-NaN side, so NaN goes to 0 as the scalar `as u32` sends it.
        ((v - f32x8::splat(origin)) * f32x8::splat(self.inv_cell))
            .max(f32x8::ZERO)
            .min(f32x8::splat((count - 1) as f32))
            .fast_trunc_int()
            .round_float()
    }
}

/// A uniform grid over [`GridBounds`] that indexes slots `0..n` by position, rebuilt every tick.
#[derive(Debug, Clone)]
pub struct InterestGrid {
    map: CellMap,
    cell_size_m: f32,
    /// After a rebuild, `cell_start[c]..cell_start[c + 1]` is the range of `tags`, `xs` and `ys` in
    /// cell `c`. Always
    /// `cells + 1` long so that queries never need to check whether a rebuild has happened.
    cell_start: Vec<u32>,
    /// `tags[i]`, `xs[i]`, `ys[i]`: the tag and position of the `i`-th slot in cell order (cells
    /// row by row, slots ascending within a cell) as of the last rebuild.
    tags: Vec<u32>,
    xs: Vec<f32>,
    ys: Vec<f32>,
    /// `slot_at[slot]`: where the last rebuild placed `slot` in cell order (during a rebuild,
    /// first the slot's cell).
    slot_at: Vec<u32>,
    /// The slot indices in that order, written only when asked for ([`cell_order`](Self::cell_order)):
    /// nothing reads them on the per-tick path.
    slots: Vec<u32>,
    /// Cells holding at least one slot after the last rebuild.
    occupied_cells: u32,
    /// Runs of eight slots that the last rebuild could not move as one copy.
    scattered_runs: u32,
}

impl InterestGrid {
    /// A grid of square cells of `cell_size_m` over `bounds` (callers guarantee `cell_size_m > 0` and
    /// `min < max` on both axes).
    ///
    /// The number of cells is capped at `1 << 22`: if the requested size would need more, the cell size is
    /// enlarged until it fits, and [`cell_size_m`](Self::cell_size_m) reports the size actually used.
    /// Inputs outside the contract (non-finite or non-positive sizes, empty or infinite bounds) do not panic;
    /// they degrade to a coarser grid, down to a single cell, and queries stay exact.
    pub fn new(bounds: GridBounds, cell_size_m: f32) -> InterestGrid {
        // Extents in f64 so that even the widest f32 bounds have a finite width.
        let span = |lo: f32, hi: f32| {
            let s = f64::from(hi) - f64::from(lo);
            if s.is_finite() && s > 0.0 { s } else { 0.0 }
        };
        let (w, h) = (span(bounds.min_x, bounds.max_x), span(bounds.min_y, bounds.max_y));
        let asked = f64::from(cell_size_m);
        let mut cell = if asked.is_finite() && asked > 0.0 {
            asked
        } else {
            w.max(h).max(1.0)
        };
        // The area bound gets close in one step; doubling then handles thin strips and ceil() overshoot, and
        // terminates because both counts reach 1 once the cell outgrows the finite extents.
        cell = cell.max((w * h / MAX_CELLS as f64).sqrt());
        let count = |extent: f64, cell: f64| ((extent / cell).ceil() as u64).max(1);
        let (mut cols, mut rows) = (count(w, cell), count(h, cell));
        while cols.saturating_mul(rows) > MAX_CELLS {
            cell *= 2.0;
            (cols, rows) = (count(w, cell), count(h, cell));
        }
        let cell_size_m = cell.min(f64::from(f32::MAX)) as f32;
        // Kept finite and positive so that the mapping never produces NaN from a non-NaN coordinate.
        let inv_cell = ((1.0 / cell) as f32).clamp(f32::MIN_POSITIVE, f32::MAX);
        let origin = |v: f32| if v.is_finite() { v } else { 0.0 };
        let map = CellMap {
            origin_x: origin(bounds.min_x),
            origin_y: origin(bounds.min_y),
            inv_cell,
            cols: cols as u32,
            rows: rows as u32,
        };
        InterestGrid {
            map,
            cell_size_m,
            cell_start: vec![0; map.cells() + 1],
            tags: Vec::new(),
            xs: Vec::new(),
            ys: Vec::new(),
            slot_at: Vec::new(),
            slots: Vec::new(),
            occupied_cells: 0,
            scattered_runs: 0,
        }
    }

    /// Re-indexes slots `0..xs.len()` at positions `(xs[i], ys[i])`, each carrying `tags[i]`; callers pass
    /// slices of equal length (if not, only the common prefix is indexed, and at most `u32::MAX` slots are).
    ///
    /// Positions outside the bounds go to the nearest edge cell and NaN positions to the first cell; queries
    /// still filter by true distance, so such slots are found exactly when the distance test says so.
    ///
    /// Uses a counting sort into buffers kept inside the grid whose capacity is never released, so once it has
    /// run with at least as many slots as this call passes, it performs no heap allocation.
    pub fn rebuild(&mut self, xs: &[f32], ys: &[f32], tags: &[u32]) {
        let n = xs.len().min(ys.len()).min(tags.len()).min(u32::MAX as usize);
        let (xs, ys, tags) = (&xs[..n], &ys[..n], &tags[..n]);
        let map = self.map;
        let cells = map.cells();

        // clear() + resize() keep each buffer's capacity, which is what makes warm rebuilds allocation-free.
        self.cell_start.clear();
        self.cell_start.resize(cells + 1, 0);
        self.slot_at.resize(n, 0);
        map.cells_of(xs, ys, &mut self.slot_at);
        // Counted one entry up, so that once the entries are cursors, each ends at the next
        // cell's start, which is where the final array wants it.
        for &cell in &self.slot_at {
            self.cell_start[cell as usize + 1] += 1;
        }
        let mut running = 0u32;
        self.occupied_cells = 0;
        for entry in &mut self.cell_start[1..] {
            let count = *entry;
            self.occupied_cells += u32::from(count > 0);
            *entry = running;
            running += count;
        }
        // Every element of these is overwritten below, so only a change of length touches them here.
        // Past the slots, padding that a query's last chunk of eight can read: tag 0, and NaN
        // positions, never within reach.
        self.tags.resize(n, 0);
        self.tags.resize(n + LANES - 1, 0);
        for column in [&mut self.xs, &mut self.ys] {
            column.resize(n, 0.0);
            column.resize(n + LANES - 1, f32::NAN);
        }
        // A run of eight slots that land in eight adjacent places moves as one copy; see the
        // module comment for why most do.
        let from = InSlotOrder { tags, xs, ys };
        let mut to = InCellOrder {
            tags: &mut self.tags,
            xs: &mut self.xs,
            ys: &mut self.ys,
        };
        let mut chunks = self.slot_at.chunks_exact_mut(LANES);
        let mut scattered = 0;
        for (index, chunk) in (&mut chunks).enumerate() {
            let slot = index * LANES;
            match take_places(&mut self.cell_start, chunk) {
                Some(at) => to.copy::<LANES>(&from, slot, at),
                None => {
                    scattered += 1;
                    to.copy_each(&from, slot, chunk);
                }
            }
        }
        self.scattered_runs = scattered;
        let rest = chunks.into_remainder();
        take_places(&mut self.cell_start, rest);
        to.copy_each(&from, n - rest.len(), rest);
    }

    /// Finds every slot whose distance to `(cx, cy)` is at most `radius_m` (inclusive), at the
    /// positions passed to the last rebuild, eight slots at a time: calls `found` once per chunk
    /// of eight consecutive slots in cell order that the query tests, with the mask of those that
    /// pass, so that a caller can take a chunk's hits without a branch per slot.
    ///
    /// The test is [`within`]'s `dx * dx + dy * dy <= radius_m * radius_m` in f32, so a brute-force
    /// scan with that expression agrees exactly, including for NaN, infinite and out-of-bounds inputs.
    /// Each slot passes at most once, in cell order (row-major) then ascending slot order, which
    /// is deterministic for a given rebuild. Only the cells of [`query_cells`](Self::query_cells) are
    /// read.
    pub fn query_chunks(&self, cx: f32, cy: f32, radius_m: f32, mut found: impl FnMut(Chunk<'_>)) {
        let Some(cells) = self.query_cells(cx, cy, radius_m) else {
            return;
        };
        let r2 = radius_m * radius_m;
        for row in cells.row_lo..=cells.row_hi {
            let range = self.row_range(cells, row);
            // From the run's start to the padded end of the columns, so its last positions are
            // tested eight at a time as well.
            let (xs, ys) = (&self.xs[range.start..], &self.ys[range.start..]);
            within(xs, ys, range.len(), cx, cy, r2, |start, lanes| {
                let at = range.start + start;
                found(Chunk {
                    at,
                    lanes,
                    tags: &self.tags[at..at + LANES],
                });
            });
        }
    }

    /// The position of the slot at `at` in cell order (a [`Chunk`]'s or a [`Run`]'s index), as
    /// the last rebuild copied it.
    #[inline]
    pub fn position(&self, at: usize) -> [f32; 2] {
        [self.xs[at], self.ys[at]]
    }

    /// The cells that hold every slot within `radius_m` of `(cx, cy)`: those overlapping the
    /// circle's bounding box, widened by a tiny relative margin to absorb f32 rounding, or every cell
    /// when `radius_m * radius_m` overflows (then every non-NaN distance passes). `None` when no slot
    /// can pass: nothing indexed, a NaN radius, or a non-finite centre with a finite radius.
    pub fn query_cells(&self, cx: f32, cy: f32, radius_m: f32) -> Option<CellRange> {
        let r2 = radius_m * radius_m;
        if self.is_empty() || r2.is_nan() {
            return None;
        }
        let map = &self.map;
        if r2.is_infinite() {
            return Some(CellRange {
                col_lo: 0,
                col_hi: map.cols - 1,
                row_lo: 0,
                row_hi: map.rows - 1,
            });
        }
        // With a finite r2, an infinite or NaN centre yields an infinite or NaN distance for every slot.
        if !(cx.is_finite() && cy.is_finite()) {
            return None;
        }
        let reach_x = radius_m.abs() * (1.0 + QUERY_PAD_REL) + cx.abs() * QUERY_PAD_REL + QUERY_PAD_ABS;
        let reach_y = radius_m.abs() * (1.0 + QUERY_PAD_REL) + cy.abs() * QUERY_PAD_REL + QUERY_PAD_ABS;
        Some(CellRange {
            col_lo: map.col(cx - reach_x),
            col_hi: map.col(cx + reach_x),
            row_lo: map.row(cy - reach_y),
            row_hi: map.row(cy + reach_y),
        })
    }

    /// Calls `visit` once per row of `cells` with that row's slots: the cells of one row are
    /// adjacent in the sorted order, so each row is one run.
    pub fn runs(&self, cells: CellRange, mut visit: impl FnMut(Run<'_>)) {
        for row in cells.row_lo..=cells.row_hi {
            let range = self.row_range(cells, row);
            visit(Run {
                start: range.start,
                tags: &self.tags[range],
            });
        }
    }

    /// Where the slots of `cells` in one `row` lie in the sorted columns.
    fn row_range(&self, cells: CellRange, row: u32) -> std::ops::Range<usize> {
        let base = row as usize * self.map.cols as usize;
        let start = self.cell_start[base + cells.col_lo as usize] as usize;
        let end = self.cell_start[base + cells.col_hi as usize + 1] as usize;
        start..end
    }

    /// The first of two prefetch steps for a query over `cells` that runs soon: brings the cell
    /// bounds of its rows towards the core. [`prefetch_runs`](Self::prefetch_runs), a little
    /// later, then reads them to fetch the runs themselves.
    pub fn prefetch_cells(&self, cells: CellRange) {
        let cols = self.map.cols as usize;
        for row in cells.row_lo..=cells.row_hi {
            let base = row as usize * cols;
            prefetch(&self.cell_start[base + cells.col_lo as usize]);
            prefetch(&self.cell_start[base + cells.col_hi as usize + 1]);
        }
    }

    /// The second prefetch step: brings the tags and positions of each row of `cells` towards
    /// the core (a row of a few cells is a line or two of each).
    pub fn prefetch_runs(&self, cells: CellRange) {
        for row in cells.row_lo..=cells.row_hi {
            let range = self.row_range(cells, row);
            if range.is_empty() {
                continue;
            }
            for at in [range.start, range.end - 1] {
                prefetch(&self.tags[at]);
                prefetch(&self.xs[at]);
                prefetch(&self.ys[at]);
            }
        }
    }

    /// The cell holding `(x, y)`, as an index below [`cell_count`](Self::cell_count).
    pub fn cell_at(&self, x: f32, y: f32) -> u32 {
        self.map.cell(x, y)
    }

    /// How many cells held at least one slot at the last rebuild.
    pub fn occupied_cells(&self) -> u32 {
        self.occupied_cells
    }

    /// How many cells the grid has.
    pub fn cell_count(&self) -> usize {
        self.map.cells()
    }

    /// Where the last rebuild placed each slot in cell order: `places()[slot]`, below
    /// [`len`](Self::len), distinct for distinct slots.
    pub fn places(&self) -> &[u32] {
        &self.slot_at
    }

    /// Of the last rebuild's runs of eight slots, the share that did not land in eight adjacent
    /// places: 0 when the slots were in cell order, near 1 when they were in no particular order.
    pub fn scattered_share(&self) -> f32 {
        let runs = self.slot_at.len() / LANES;
        if runs == 0 {
            0.0
        } else {
            self.scattered_runs as f32 / runs as f32
        }
    }

    /// The slots in cell order (row by row, ascending within a cell) as the last rebuild placed
    /// them. Computed on each call, in one pass over the slots; allocation-free once it has run
    /// for as many slots.
    pub fn cell_order(&mut self) -> &[u32] {
        self.slots.resize(self.slot_at.len(), 0);
        for (slot, &at) in self.slot_at.iter().enumerate() {
            self.slots[at as usize] = slot as u32;
        }
        &self.slots
    }

    /// Number of slots indexed by the last rebuild.
    pub fn len(&self) -> usize {
        self.cell_start[self.map.cells()] as usize
    }

    /// Whether the last rebuild indexed no slots (or none has happened yet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell size actually used, which may be larger than asked (see [`new`](Self::new)).
    pub fn cell_size_m(&self) -> f32 {
        self.cell_size_m
    }
}

/// Turns each of `cells_then_places` from a slot's cell into its place in cell order: the cell's
/// cursor, walked up, so the slots of a cell stay ascending. The cursor of cell `c` is
/// `cursors[c + 1]`, which the walk leaves at the cell's end. Returns where the places start
/// when they are adjacent and ascending (a run of slots that kept its order), found on the way
/// rather than by reading the places back, which would wait for their stores.
#[inline(always)]
fn take_places(cursors: &mut [u32], cells_then_places: &mut [u32]) -> Option<usize> {
    let mut first = None;
    let mut apart = 0;
    for (step, cell_then_place) in (0u32..).zip(cells_then_places) {
        let cursor = &mut cursors[*cell_then_place as usize + 1];
        let place = *cursor;
        *cursor += 1;
        *cell_then_place = place;
        let first = *first.get_or_insert(place);
        apart |= place ^ first.wrapping_add(step);
    }
    first.filter(|_| apart == 0).map(|first| first as usize)
}

/// The columns a rebuild copies, in slot order.
struct InSlotOrder<'a> {
    tags: &'a [u32],
    xs: &'a [f32],
    ys: &'a [f32],
}

/// The same columns in cell order, being filled.
struct InCellOrder<'a> {
    tags: &'a mut [u32],
    xs: &'a mut [f32],
    ys: &'a mut [f32],
}

impl InCellOrder<'_> {
    /// Copies the `LEN` slots from `slot` on to the places from `at` on.
    #[inline(always)]
    fn copy<const LEN: usize>(&mut self, from: &InSlotOrder<'_>, slot: usize, at: usize) {
        self.tags[at..at + LEN].copy_from_slice(&from.tags[slot..slot + LEN]);
        self.xs[at..at + LEN].copy_from_slice(&from.xs[slot..slot + LEN]);
        self.ys[at..at + LEN].copy_from_slice(&from.ys[slot..slot + LEN]);
    }

    /// Copies the slots from `first_slot` on, one by one, to `places`.
    #[inline(always)]
    fn copy_each(&mut self, from: &InSlotOrder<'_>, first_slot: usize, places: &[u32]) {
        for (slot, &at) in (first_slot..).zip(places) {
            self.copy::<1>(from, slot, at as usize);
        }
    }
}

/// Eight consecutive slots in cell order that a query tested.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'g> {
    /// Where the first of them is in cell order.
    pub at: usize,
    /// Bit `lane` set when the slot at `at + lane` is within reach.
    pub lanes: u32,
    /// Their eight tags (padding past the last slot).
    pub tags: &'g [u32],
}

/// The slots of one row of a [`CellRange`], in the grid's sorted order (cell order, then
/// ascending slot), as their tags at the last rebuild; [`InterestGrid::position`] gives their
/// positions.
#[derive(Debug, Clone, Copy)]
pub struct Run<'g> {
    /// Where the first of them is in cell order.
    pub start: usize,
    /// Their tags.
    pub tags: &'g [u32],
}

/// An inclusive range of grid columns and rows: the cells one or more queries read. Only the
/// grid makes them, so they always lie inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRange {
    col_lo: u32,
    col_hi: u32,
    row_lo: u32,
    row_hi: u32,
}

impl CellRange {
    /// The smallest range holding both.
    pub fn union(self, other: CellRange) -> CellRange {
        CellRange {
            col_lo: self.col_lo.min(other.col_lo),
            col_hi: self.col_hi.max(other.col_hi),
            row_lo: self.row_lo.min(other.row_lo),
            row_hi: self.row_hi.max(other.row_hi),
        }
    }
}

/// Finds, in ascending `i < n`, every position `(xs[i], ys[i])` with `dx * dx + dy * dy <= r2`
/// in f32, where `dx = xs[i] - cx` and `dy = ys[i] - cy`: the one distance test of interest
/// management, eight positions at a time. Only `i` below `n` and below both lengths is tested.
///
/// `found(start, lanes)` is called with a bit mask of the positions `start + lane` that pass,
/// once per chunk of eight (with no bit at or past `n`), so a caller can consume a chunk without
/// a branch per position. Where the slices hold readable values past `n` (the grid pads its
/// columns for this), the last few positions are a chunk too; otherwise they are tested one by
/// one, with the same arithmetic, and each that passes is reported as a chunk of one.
#[inline]
pub fn within(
    xs: &[f32],
    ys: &[f32],
    n: usize,
    cx: f32,
    cy: f32,
    r2: f32,
    mut found: impl FnMut(usize, u32),
) {
    let n = n.min(xs.len()).min(ys.len());
    let readable = xs.len().min(ys.len());
    let mut start = 0;
    while start < n {
        if start + LANES > readable {
            for i in start..n {
                let (dx, dy) = (xs[i] - cx, ys[i] - cy);
                if dx * dx + dy * dy <= r2 {
                    found(i, 1);
                }
            }
            return;
        }
        let (dx, dy) = (
            f32x8::new(lanes(&xs[start..start + LANES])) - f32x8::splat(cx),
            f32x8::new(lanes(&ys[start..start + LANES])) - f32x8::splat(cy),
        );
        let wanted = if n - start >= LANES {
            u32::MAX
        } else {
            (1 << (n - start)) - 1
        };
        let inside = (dx * dx + dy * dy).simd_le(f32x8::splat(r2)).to_bitmask() & wanted;
        found(start, inside);
        start += LANES;
    }
}

/// Positions tested together by [`within`].
pub const LANES: usize = 8;

/// Eight consecutive values as a SIMD lane array (callers pass exact chunks of eight).
#[inline]
fn lanes(chunk: &[f32]) -> [f32; 8] {
    let mut lanes = [0.0; 8];
    lanes.copy_from_slice(chunk);
    lanes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(xs: &[f32], ys: &[f32], cx: f32, cy: f32, r: f32) -> Vec<u32> {
        (0..xs.len())
            .filter(|&i| {
                let dx = xs[i] - cx;
                let dy = ys[i] - cy;
                dx * dx + dy * dy <= r * r
            })
            .map(|i| i as u32)
            .collect()
    }

    /// The tag each test attaches to a slot: not the slot itself, so a mixed-up tag shows.
    fn tag_of(slot: u32) -> u32 {
        slot.wrapping_mul(2_654_435_761) ^ 0x5555
    }

    /// The slot a tag was made from (244,002,641 is the inverse of 2,654,435,761 modulo 2³²).
    fn slot_of(tag: u32) -> u32 {
        (tag ^ 0x5555).wrapping_mul(244_002_641)
    }

    fn index(grid: &mut InterestGrid, xs: &[f32], ys: &[f32]) {
        let tags: Vec<u32> = (0..xs.len() as u32).map(tag_of).collect();
        grid.rebuild(xs, ys, &tags);
    }

    /// One slot a query found: its tag and position.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Hit {
        tag: u32,
        x: f32,
        y: f32,
    }

    /// The slots a query finds, in the order its chunks report them.
    fn hits(grid: &InterestGrid, cx: f32, cy: f32, r: f32) -> Vec<Hit> {
        let mut out = Vec::new();
        grid.query_chunks(cx, cy, r, |chunk| {
            for (lane, &tag) in chunk.tags.iter().enumerate() {
                if chunk.lanes >> lane & 1 == 1 {
                    let [x, y] = grid.position(chunk.at + lane);
                    out.push(Hit { tag, x, y });
                }
            }
        });
        out
    }

    /// The slots a query visits, by their tags.
    fn collect(grid: &InterestGrid, cx: f32, cy: f32, r: f32) -> Vec<u32> {
        hits(grid, cx, cy, r).iter().map(|hit| slot_of(hit.tag)).collect()
    }

    /// Checks one query against brute force: same set, no duplicates, repeatable, and in the documented
    /// order (cell, then slot).
    fn check(
        grid: &InterestGrid,
        xs: &[f32],
        ys: &[f32],
        cx: f32,
        cy: f32,
        r: f32,
    ) -> Result<(), TestCaseError> {
        let got = collect(grid, cx, cy, r);
        let again = collect(grid, cx, cy, r);
        // A tag copied apart from its position would show here.
        for hit in hits(grid, cx, cy, r) {
            let slot = slot_of(hit.tag) as usize;
            prop_assert!(slot < xs.len(), "tag {} names no slot", hit.tag);
            prop_assert_eq!(hit.x.to_bits(), xs[slot].to_bits(), "x of slot {}", slot);
            prop_assert_eq!(hit.y.to_bits(), ys[slot].to_bits(), "y of slot {}", slot);
        }
        prop_assert_eq!(&got, &again, "query is not deterministic");

        let mut unique = got.clone();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(unique.len(), got.len(), "a slot was visited twice");

        let mut expected = brute(xs, ys, cx, cy, r);
        prop_assert_eq!(
            &unique,
            &expected,
            "visited set differs from brute force at ({}, {}) r={}",
            cx,
            cy,
            r
        );

        expected.sort_by_key(|&s| (grid.map.cell(xs[s as usize], ys[s as usize]), s));
        prop_assert_eq!(&got, &expected, "visit order is not cell order then slot order");
        Ok(())
    }

    fn coord() -> impl Strategy<Value = f32> {
        prop_oneof![
            6 => -600.0f32..600.0,
            // Integer positions with integer radii and cell sizes produce exact ties on the circle and on
            // cell edges.
            3 => (-600i32..600).prop_map(|v| v as f32),
            1 => -1e5f32..1e5,
            1 => prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY)],
        ]
    }

    fn centre() -> impl Strategy<Value = f32> {
        prop_oneof![-700.0f32..700.0, (-700i32..700).prop_map(|v| v as f32)]
    }

    fn radius() -> impl Strategy<Value = f32> {
        prop_oneof![0.0f32..400.0, (0u32..400).prop_map(|v| v as f32), Just(0.0)]
    }

    fn bounds() -> impl Strategy<Value = GridBounds> {
        (-500.0f32..-1.0, 1.0f32..500.0, -500.0f32..-1.0, 1.0f32..500.0).prop_map(
            |(min_x, max_x, min_y, max_y)| GridBounds {
                min_x,
                min_y,
                max_x,
                max_y,
            },
        )
    }

    fn cell_size() -> impl Strategy<Value = f32> {
        prop_oneof![1.0f32..300.0, (1u32..300).prop_map(|v| v as f32)]
    }

    fn positions() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        prop::collection::vec((coord(), coord()), 0..2000).prop_map(|p| p.into_iter().unzip())
    }

    /// The cells the rebuild computes eight at a time, and the scalar mapping's for the same
    /// positions (queries use the scalar one, so the two must agree everywhere).
    fn lane_and_scalar_cells(grid: &InterestGrid, xs: &[f32], ys: &[f32]) -> (Vec<u32>, Vec<u32>) {
        let mut in_lanes = vec![0; xs.len()];
        grid.map.cells_of(xs, ys, &mut in_lanes);
        let scalar = xs.iter().zip(ys).map(|(&x, &y)| grid.map.cell(x, y)).collect();
        (in_lanes, scalar)
    }

    proptest! {
        #[test]
        fn cells_in_lanes_match_the_scalar_mapping(
            bounds in bounds(),
            cell in cell_size(),
            (xs, ys) in positions(),
        ) {
            let grid = InterestGrid::new(bounds, cell);
            let (in_lanes, scalar) = lane_and_scalar_cells(&grid, &xs, &ys);
            prop_assert_eq!(in_lanes, scalar);
        }

        #[test]
        fn query_matches_brute_force(
            bounds in bounds(),
            cell in cell_size(),
            (xs, ys) in positions(),
            queries in prop::collection::vec((centre(), centre(), radius()), 1..8),
        ) {
            let mut grid = InterestGrid::new(bounds, cell);
            index(&mut grid, &xs, &ys);
            prop_assert_eq!(grid.len(), xs.len());
            for (cx, cy, r) in queries {
                check(&grid, &xs, &ys, cx, cy, r)?;
            }
        }

        #[test]
        fn second_rebuild_replaces_first(
            bounds in bounds(),
            cell in cell_size(),
            (xs1, ys1) in positions(),
            (xs2, ys2) in positions(),
            queries in prop::collection::vec((centre(), centre(), radius()), 1..8),
        ) {
            let mut grid = InterestGrid::new(bounds, cell);
            index(&mut grid, &xs1, &ys1);
            index(&mut grid, &xs2, &ys2);
            prop_assert_eq!(grid.len(), xs2.len());
            for (cx, cy, r) in queries {
                check(&grid, &xs2, &ys2, cx, cy, r)?;
            }
        }

        /// The cell order is every slot once, as a query reaching everything visits them.
        #[test]
        fn cell_order_is_the_order_a_query_of_everything_visits(
            bounds in bounds(),
            cell in cell_size(),
            (xs, ys) in positions(),
        ) {
            let mut grid = InterestGrid::new(bounds, cell);
            index(&mut grid, &xs, &ys);
            let visited: Vec<u32> = collect(&grid, 0.0, 0.0, f32::INFINITY)
                .into_iter()
                .filter(|&slot| !(xs[slot as usize].is_nan() || ys[slot as usize].is_nan()))
                .collect();
            let order = grid.cell_order().to_vec();
            let mut every = order.clone();
            every.sort_unstable();
            prop_assert_eq!(every, (0..xs.len() as u32).collect::<Vec<_>>());
            let without_nan: Vec<u32> = order
                .into_iter()
                .filter(|&slot| !(xs[slot as usize].is_nan() || ys[slot as usize].is_nan()))
                .collect();
            prop_assert_eq!(without_nan, visited);
        }
    }

    fn world() -> GridBounds {
        GridBounds {
            min_x: -500.0,
            min_y: -500.0,
            max_x: 500.0,
            max_y: 500.0,
        }
    }

    #[test]
    fn rebuild_forgets_previous_positions() {
        let mut grid = InterestGrid::new(world(), 10.0);
        let xs1 = vec![100.0; 1000];
        let ys1 = vec![100.0; 1000];
        index(&mut grid, &xs1, &ys1);
        assert_eq!(collect(&grid, 100.0, 100.0, 1.0).len(), 1000);

        let xs2 = [-200.0, -199.0, 300.0];
        let ys2 = [-200.0, -200.0, 300.0];
        index(&mut grid, &xs2, &ys2);
        assert_eq!(grid.len(), 3);
        assert!(collect(&grid, 100.0, 100.0, 50.0).is_empty());
        assert_eq!(collect(&grid, -200.0, -200.0, 1.0), vec![0, 1]);
        assert_eq!(collect(&grid, 300.0, 300.0, 0.0), vec![2]);
    }

    #[test]
    fn rebuild_at_same_size_reuses_buffers() {
        let mut grid = InterestGrid::new(world(), 25.0);
        let n = 5000;
        let xs: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 - 500.0).collect();
        let ys: Vec<f32> = (0..n).map(|i| (i * 7 % 1000) as f32 - 500.0).collect();
        index(&mut grid, &xs, &ys);
        let buffers = |g: &InterestGrid| {
            [
                (g.cell_start.as_ptr() as usize, g.cell_start.capacity()),
                (g.tags.as_ptr() as usize, g.tags.capacity()),
                (g.xs.as_ptr() as usize, g.xs.capacity()),
            ]
        };
        let before = buffers(&grid);
        index(&mut grid, &ys, &xs);
        index(&mut grid, &xs[..n / 2], &ys[..n / 2]);
        index(&mut grid, &xs, &ys);
        assert_eq!(buffers(&grid), before);
    }

    #[test]
    fn empty_and_fresh_grids_answer_nothing() {
        let mut grid = InterestGrid::new(world(), 10.0);
        assert!(grid.is_empty());
        assert_eq!(grid.len(), 0);
        assert!(collect(&grid, 0.0, 0.0, 1e30).is_empty());
        index(&mut grid, &[1.0], &[1.0]);
        assert!(!grid.is_empty());
        index(&mut grid, &[], &[]);
        assert!(grid.is_empty());
        assert!(collect(&grid, 1.0, 1.0, 10.0).is_empty());
    }

    #[test]
    fn special_values_match_brute_force() {
        let specials = [
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            499.999,
            500.0,
            1e20,
            -1e20,
            f32::MAX,
            f32::MIN,
        ];
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for &a in specials
            .iter()
            .chain(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY])
        {
            for &b in &specials {
                xs.push(a);
                ys.push(b);
                xs.push(b);
                ys.push(a);
            }
        }
        let mut grid = InterestGrid::new(world(), 7.0);
        let (in_lanes, scalar) = lane_and_scalar_cells(&grid, &xs, &ys);
        assert_eq!(in_lanes, scalar);
        index(&mut grid, &xs, &ys);
        let centres = [
            0.0,
            1e-30,
            500.0,
            -1e20,
            f32::MAX,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let radii = [
            0.0,
            -3.0,
            1e-25,
            10.0,
            1e19,
            1e20,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
        ];
        for &cx in &centres {
            for &cy in &centres {
                for &r in &radii {
                    check(&grid, &xs, &ys, cx, cy, r).unwrap();
                }
            }
        }
    }

    /// Slots one ulp beyond `cx - r` whose rounded distance still passes, with a cell edge placed exactly
    /// at `cx - r`: an unwidened bounding box would skip their cell.
    #[test]
    fn rounding_at_circle_edge_is_covered() {
        for (cx, r) in [
            (218.95152f32, 207.3611f32),
            (114.80921, 237.3269),
            (64.03851, 91.92498),
        ] {
            let lo = cx - r;
            let outside = f32::from_bits(if lo > 0.0 {
                lo.to_bits() - 1
            } else {
                lo.to_bits() + 1
            });
            let d = outside - cx;
            assert!(d * d <= r * r, "precondition: rounded distance passes");

            let along_x = GridBounds {
                min_x: lo - 1.0,
                min_y: -1000.0,
                max_x: lo + 100.0,
                max_y: 1000.0,
            };
            let mut grid = InterestGrid::new(along_x, 1.0);
            index(&mut grid, &[outside], &[0.0]);
            check(&grid, &[outside], &[0.0], cx, 0.0, r).unwrap();
            assert_eq!(collect(&grid, cx, 0.0, r), vec![0]);

            let along_y = GridBounds {
                min_x: -1000.0,
                min_y: lo - 1.0,
                max_x: 1000.0,
                max_y: lo + 100.0,
            };
            let mut grid = InterestGrid::new(along_y, 1.0);
            index(&mut grid, &[0.0], &[outside]);
            assert_eq!(collect(&grid, 0.0, cx, r), vec![0]);
        }
    }

    #[test]
    fn huge_world_caps_cell_count() {
        let bounds = GridBounds {
            min_x: 0.0,
            min_y: 0.0,
            max_x: 100_000.0,
            max_y: 100_000.0,
        };
        let grid = InterestGrid::new(bounds, 1.0);
        assert!(grid.map.cells() as u64 <= MAX_CELLS);
        assert!(grid.cell_size_m() >= 1.0);

        let strip = GridBounds {
            min_x: 0.0,
            min_y: 0.0,
            max_x: 1e9,
            max_y: 1e-3,
        };
        let mut grid = InterestGrid::new(strip, 1e-4);
        assert!(grid.map.cells() as u64 <= MAX_CELLS);
        let xs: Vec<f32> = (0..1000).map(|i| i as f32 * 1e6).collect();
        let ys: Vec<f32> = (0..1000).map(|i| (i % 10) as f32 * 1e-4).collect();
        index(&mut grid, &xs, &ys);
        for q in 0..50 {
            check(&grid, &xs, &ys, q as f32 * 2e7, 0.0, 3e6).unwrap();
        }
    }

    #[test]
    fn out_of_contract_construction_still_answers_exactly() {
        let odd = [
            (world(), 0.0),
            (world(), -5.0),
            (world(), f32::NAN),
            (world(), f32::INFINITY),
            (world(), 1e-40),
            (
                GridBounds {
                    min_x: 5.0,
                    min_y: 5.0,
                    max_x: -5.0,
                    max_y: -5.0,
                },
                1.0,
            ),
            (
                GridBounds {
                    min_x: f32::NEG_INFINITY,
                    min_y: f32::NAN,
                    max_x: f32::INFINITY,
                    max_y: 0.0,
                },
                1.0,
            ),
            (
                GridBounds {
                    min_x: f32::MIN,
                    min_y: f32::MIN,
                    max_x: f32::MAX,
                    max_y: f32::MAX,
                },
                1.0,
            ),
        ];
        let xs: Vec<f32> = (0..400).map(|i| (i % 40) as f32 * 30.0 - 600.0).collect();
        let ys: Vec<f32> = (0..400).map(|i| (i / 40) as f32 * 120.0 - 600.0).collect();
        for (bounds, cell) in odd {
            let mut grid = InterestGrid::new(bounds, cell);
            assert!(grid.map.cells() as u64 <= MAX_CELLS);
            index(&mut grid, &xs, &ys);
            for &(cx, cy, r) in &[(0.0, 0.0, 100.0), (-600.0, 480.0, 45.0), (1e30, 0.0, 1.0)] {
                check(&grid, &xs, &ys, cx, cy, r).unwrap();
            }
        }
    }

    #[test]
    fn mismatched_slices_do_not_panic() {
        let mut grid = InterestGrid::new(world(), 10.0);
        index(&mut grid, &[1.0, 2.0, 3.0], &[1.0, 2.0]);
        assert_eq!(grid.len(), 2);
        assert_eq!(collect(&grid, 1.0, 1.0, 5.0), vec![0, 1]);
    }
}
