//! The damage formula, applied to every hit of a tick in one batched pass over structure-of-arrays
//! lanes with `wide::f32x8`, and the scalar reference it must agree with, one [`Hit`] at a time:
//!
//! ```text
//! base  = base_damage × falloff × (1 + attack_power / 100)
//! final = max(0, base × crit × type_multiplier × (1 − resistance / 100) − base × armor / (armor + 100))
//! ```
//!
//! The armour term's fraction depends on the target alone, so characters carry it precomputed
//! ([`armor_mitigation`]) and the per-hit work has no division.

use wide::f32x8;

/// The inputs of one hit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Hit {
    /// Base damage of the weapon, ability or effect, after distance falloff.
    pub base_damage: f32,
    /// The attacker's attack power in percent.
    pub attack_power: f32,
    /// The crit multiplier when the hit crits, else 1.
    pub crit: f32,
    /// The damage type's multiplier.
    pub type_multiplier: f32,
    /// The target's resistance to the damage type, in percent.
    pub resistance_pct: f32,
    /// The target's [`armor_mitigation`].
    pub armor_mitigation: f32,
}

/// The share of a hit's base that `armor` takes: `armor / (armor + 100)`.
pub fn armor_mitigation(armor: f32) -> f32 {
    armor / (armor + 100.0)
}

/// The damage formula for one hit: the scalar reference.
pub fn damage_of(hit: &Hit) -> f32 {
    let base = hit.base_damage * (1.0 + hit.attack_power * 0.01);
    let scaled = base * hit.crit * hit.type_multiplier * (1.0 - hit.resistance_pct * 0.01);
    let mitigated = base * hit.armor_mitigation;
    (scaled - mitigated).max(0.0)
}

/// The reference for a batch: [`damage_of`] for each hit in turn.
pub fn resolve_scalar(hits: &[Hit], damage: &mut [f32]) {
    for (out, hit) in damage.iter_mut().zip(hits) {
        *out = damage_of(hit);
    }
}

/// The inputs of a batch of hits, one lane per hit, all the same length as `damage`.
#[derive(Debug, Default)]
pub struct HitLanes<'a> {
    /// Base damage of the weapon, ability or effect, after distance falloff.
    pub base_damage: &'a [f32],
    /// The attacker's attack power in percent.
    pub attack_power: &'a [f32],
    /// The crit multiplier when the hit crits, else 1.
    pub crit: &'a [f32],
    /// The damage type's multiplier.
    pub type_multiplier: &'a [f32],
    /// The target's resistance to the damage type, in percent.
    pub resistance_pct: &'a [f32],
    /// The target's [`armor_mitigation`].
    pub armor_mitigation: &'a [f32],
}

impl HitLanes<'_> {
    /// Hits in the batch: the shortest lane.
    pub fn len(&self) -> usize {
        [
            self.attack_power.len(),
            self.crit.len(),
            self.type_multiplier.len(),
            self.resistance_pct.len(),
            self.armor_mitigation.len(),
        ]
        .into_iter()
        .fold(self.base_damage.len(), usize::min)
    }

    /// True when the batch holds no hit.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hit `i` of the batch, if there is one.
    pub fn hit(&self, i: usize) -> Option<Hit> {
        Some(Hit {
            base_damage: *self.base_damage.get(i)?,
            attack_power: *self.attack_power.get(i)?,
            crit: *self.crit.get(i)?,
            type_multiplier: *self.type_multiplier.get(i)?,
            resistance_pct: *self.resistance_pct.get(i)?,
            armor_mitigation: *self.armor_mitigation.get(i)?,
        })
    }
}

/// Writes the final damage of each hit of `hits` into `damage`, eight hits at a time.
pub fn resolve_simd(hits: &HitLanes<'_>, damage: &mut [f32]) {
    let n = hits.len().min(damage.len());
    let whole = n - n % 8;
    fn lanes(column: &[f32], whole: usize) -> impl Iterator<Item = f32x8> + '_ {
        column[..whole]
            .chunks_exact(8)
            .map(|chunk| f32x8::new(chunk.try_into().unwrap_or([0.0; 8])))
    }
    let hundredth = f32x8::splat(0.01);
    let one = f32x8::splat(1.0);
    let inputs = lanes(hits.base_damage, whole)
        .zip(lanes(hits.attack_power, whole))
        .zip(lanes(hits.crit, whole))
        .zip(lanes(hits.type_multiplier, whole))
        .zip(lanes(hits.resistance_pct, whole))
        .zip(lanes(hits.armor_mitigation, whole));
    for (out, (((((base, power), crit), multiplier), resistance), armor)) in
        damage[..whole].chunks_exact_mut(8).zip(inputs)
    {
        let base = base * (one + power * hundredth);
        let scaled = base * crit * multiplier * (one - resistance * hundredth);
        let mitigated = base * armor;
        out.copy_from_slice(&(scaled - mitigated).fast_max(f32x8::ZERO).to_array());
    }
    for (i, out) in damage.iter_mut().enumerate().take(n).skip(whole) {
        *out = hits.hit(i).map_or(0.0, |hit| damage_of(&hit));
    }
}

/// Damage factor at `distance` for a weapon with full damage up to `start` and `min_factor` at
/// `range`, linear between.
pub fn falloff(distance: f32, start: f32, range: f32, min_factor: f32) -> f32 {
    if distance <= start || range <= start {
        return 1.0;
    }
    let t = ((distance - start) / (range - start)).clamp(0.0, 1.0);
    1.0 + (min_factor - 1.0) * t
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The damage of one hit by the SIMD pass and by the reference.
    fn both(hit: Hit) -> [f32; 2] {
        let lanes = HitLanes {
            base_damage: &[hit.base_damage],
            attack_power: &[hit.attack_power],
            crit: &[hit.crit],
            type_multiplier: &[hit.type_multiplier],
            resistance_pct: &[hit.resistance_pct],
            armor_mitigation: &[hit.armor_mitigation],
        };
        let mut simd = [0.0];
        resolve_simd(&lanes, &mut simd);
        [simd[0], damage_of(&hit)]
    }

    fn hit(
        base_damage: f32,
        attack_power: f32,
        crit: f32,
        type_multiplier: f32,
        resistance_pct: f32,
        armor: f32,
    ) -> Hit {
        Hit {
            base_damage,
            attack_power,
            crit,
            type_multiplier,
            resistance_pct,
            armor_mitigation: armor_mitigation(armor),
        }
    }

    #[test]
    fn hand_computed_hits() {
        // 100 base, no power, armour 100: half the base is mitigated.
        assert_eq!(both(hit(100.0, 0.0, 1.0, 1.0, 0.0, 100.0)), [50.0, 50.0]);
        // 50 base, +20 % power = 60; fire ×1.2, 25 % resistance: 60 × 1.2 × 0.75 = 54;
        // armour 20: 60 × 20 / 120 = 10 → 44.
        let [simd, scalar] = both(hit(50.0, 20.0, 1.0, 1.2, 25.0, 20.0));
        assert!(
            (simd - 44.0).abs() < 1e-4 && (scalar - 44.0).abs() < 1e-4,
            "{simd} {scalar}"
        );
        // A crit ×2 of 24 against no defences: 48.
        assert_eq!(both(hit(24.0, 0.0, 2.0, 1.0, 0.0, 0.0)), [48.0, 48.0]);
        // Armour above the scaled damage clamps at zero: 10 × 0.5 − 10 × 300 / 400 < 0.
        assert_eq!(both(hit(10.0, 0.0, 1.0, 0.5, 0.0, 300.0)), [0.0, 0.0]);
    }

    #[test]
    fn falloff_is_linear_between_start_and_range() {
        assert_eq!(falloff(10.0, 20.0, 40.0, 0.5), 1.0);
        assert_eq!(falloff(30.0, 20.0, 40.0, 0.5), 0.75);
        assert_eq!(falloff(40.0, 20.0, 40.0, 0.5), 0.5);
    }

    fn hits(n: usize) -> impl Strategy<Value = Vec<Hit>> {
        prop::collection::vec(
            (
                0.0f32..500.0,
                0.0f32..200.0,
                1.0f32..3.0,
                0.5f32..1.5,
                -50.0f32..100.0,
                0.0f32..500.0,
            )
                .prop_map(|(a, b, c, d, e, f)| hit(a, b, c, d, e, f)),
            0..n,
        )
    }

    proptest! {
        #[test]
        fn simd_agrees_with_scalar(hits in hits(200)) {
            let column = |field: fn(&Hit) -> f32| hits.iter().map(field).collect::<Vec<f32>>();
            let columns = [
                column(|h| h.base_damage),
                column(|h| h.attack_power),
                column(|h| h.crit),
                column(|h| h.type_multiplier),
                column(|h| h.resistance_pct),
                column(|h| h.armor_mitigation),
            ];
            let lanes = HitLanes {
                base_damage: &columns[0],
                attack_power: &columns[1],
                crit: &columns[2],
                type_multiplier: &columns[3],
                resistance_pct: &columns[4],
                armor_mitigation: &columns[5],
            };
            let mut simd = vec![0.0; hits.len()];
            let mut scalar = vec![0.0; hits.len()];
            resolve_simd(&lanes, &mut simd);
            resolve_scalar(&hits, &mut scalar);
            for (a, b) in simd.iter().zip(&scalar) {
                prop_assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
                prop_assert!(*a >= 0.0);
            }
        }
    }
}
