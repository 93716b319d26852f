//! Personas: how a simulated device behaves when asked to move. Mixed by percentage per fleet,
//! assigned by a hash of the device ID so every kind is spread across the fleet, not bunched at
//! its end, and the same scenario always gives the same devices the same persona.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Persona {
    /// Answers, re-registers with the new scope and connects to the assigned hub.
    Healthy,
    /// Never answers: the command times out.
    Offline,
    /// Firmware without the DeviceMove handler: answers 501.
    NoDeviceMove,
    /// Enrolled in Central with its own individual symmetric key, not one its group derives: its
    /// app's DPS knows it, but a DPS given the app's group keys refuses it (401) after it answers
    /// DeviceMove. Set when the fleet is created; a persona changed later keeps the device's key.
    WrongKey,
    /// Answers after the slow delay, then moves.
    Slow,
    /// Answers 200 and then never moves.
    NeverMoves,
}

impl Persona {
    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Healthy => "healthy",
            Persona::Offline => "offline",
            Persona::NoDeviceMove => "noDeviceMove",
            Persona::WrongKey => "wrongKey",
            Persona::Slow => "slow",
            Persona::NeverMoves => "neverMoves",
        }
    }
}

/// One persona per ID: `round(share% × n)` of each listed persona, the rest healthy.
pub fn assign_personas(ids: &[String], mix: &BTreeMap<Persona, f64>) -> Vec<Persona> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_cached_key(|&i| Sha256::digest(ids[i].as_bytes()));
    let mut personas = vec![Persona::Healthy; ids.len()];
    let mut next = 0;
    for (persona, share) in mix {
        let n = ((share.clamp(0.0, 100.0) / 100.0) * ids.len() as f64).round() as usize;
        for &i in order.iter().skip(next).take(n) {
            personas[i] = *persona;
        }
        next += n;
    }
    personas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_become_exact_counts_spread_over_the_fleet() {
        let ids: Vec<String> = (1..=200).map(|n| format!("dev-{n:03}")).collect();
        let mix = BTreeMap::from([(Persona::Offline, 5.0), (Persona::Slow, 10.0)]);
        let personas = assign_personas(&ids, &mix);
        let count = |p| personas.iter().filter(|x| **x == p).count();
        assert_eq!((count(Persona::Offline), count(Persona::Slow), count(Persona::Healthy)), (10, 20, 170));
        // Spread: the offline ones are not all in one end of the fleet.
        let first_half = personas[..100].iter().filter(|p| **p == Persona::Offline).count();
        assert!((1..10).contains(&first_half), "offline devices bunched: {first_half} of 10 in the first half");
        assert_eq!(personas, assign_personas(&ids, &mix), "the same scenario must give the same personas");
    }
}
