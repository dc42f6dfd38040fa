//! Which bot plays which role: the scenario's weights turned into whole counts (fighters in
//! complete groups of two teams), interleaved so that a ramp brings every role in at once.

use serde::Serialize;

use crate::scenario::Mix;

/// What one bot does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Moves around and reads snapshots.
    Roaming,
    /// Fights in group `group` at seat `seat` (seat 0 creates the sessions; even seats are
    /// team 0, odd seats team 1).
    Fighting {
        /// The fight group.
        group: u32,
        /// The seat in the group.
        seat: u32,
    },
    /// Trades on the market.
    Trading,
    /// Sends pipelined transfers.
    Transferring,
}

/// The roles of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Roaming bots.
    pub roaming: u32,
    /// Fighting bots.
    pub fighting: u32,
    /// Trading bots.
    pub trading: u32,
    /// Transferring bots.
    pub transferring: u32,
    /// Players per team in the fights (0: no fights).
    pub team_size: u32,
    /// Fight groups (two teams each).
    pub groups: u32,
    /// Every bot's role, by index.
    #[serde(skip)]
    pub roles: Vec<Role>,
}

/// The roles of `clients` bots under `mix`, fights of at most `team_size` a side.
pub fn plan(clients: u32, mix: &Mix, team_size: u16) -> Plan {
    let total = mix.roaming + mix.fighting + mix.trading + mix.transferring;
    let share = |weight: f64| {
        if total > 0.0 {
            (f64::from(clients) * weight / total).round() as u32
        } else {
            0
        }
    };
    let wanted_fighters = share(mix.fighting).min(clients);
    let team = u32::from(team_size).min(wanted_fighters / 2);
    let groups = if team == 0 {
        0
    } else {
        wanted_fighters / (2 * team)
    };
    let fighting = groups * 2 * team;
    let trading = share(mix.trading).min(clients - fighting);
    let transferring = share(mix.transferring).min(clients - fighting - trading);
    let roaming = clients - fighting - trading - transferring;
    let targets = [roaming, fighting, trading, transferring];
    let mut assigned = [0u32; 4];
    let mut roles = Vec::with_capacity(clients as usize);
    for _ in 0..clients {
        // The role furthest behind its share goes next.
        let next = (0..4)
            .filter(|&r| assigned[r] < targets[r])
            .min_by(|&a, &b| {
                let behind = |r: usize| f64::from(assigned[r]) / f64::from(targets[r]);
                behind(a).total_cmp(&behind(b))
            })
            .unwrap_or(0);
        roles.push(match next {
            1 => Role::Fighting {
                group: assigned[1] / (2 * team),
                seat: assigned[1] % (2 * team),
            },
            2 => Role::Trading,
            3 => Role::Transferring,
            _ => Role::Roaming,
        });
        assigned[next] += 1;
    }
    Plan {
        roaming,
        fighting,
        trading,
        transferring,
        team_size: team,
        groups,
        roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_twenty_makes_one_two_a_side_fight() {
        let mix = Mix::default();
        let plan = plan(20, &mix, 5);
        assert_eq!((plan.roaming, plan.fighting, plan.trading), (14, 4, 2));
        assert_eq!((plan.team_size, plan.groups), (2, 1));
        assert_eq!(plan.roles.len(), 20);
        let seats: Vec<u32> = plan
            .roles
            .iter()
            .filter_map(|r| match r {
                Role::Fighting { seat, .. } => Some(*seat),
                _ => None,
            })
            .collect();
        assert_eq!(seats, vec![0, 1, 2, 3]);
    }

    #[test]
    fn fighters_come_in_whole_groups() {
        let plan = plan(1000, &Mix::default(), 5);
        assert_eq!(plan.fighting % 10, 0);
        assert_eq!(
            plan.roaming + plan.fighting + plan.trading + plan.transferring,
            1000
        );
        let one = super::plan(1, &Mix::default(), 5);
        assert_eq!((one.fighting, one.roaming), (0, 1));
    }
}
