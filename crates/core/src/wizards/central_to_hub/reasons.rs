//! Why a device failed to move, as codes the UI filters on and sentences a person can act on.

pub const NO_ANSWER: &str = "noAnswer";
pub const NO_DEVICE_MOVE: &str = "noDeviceMove";
pub const COMMAND_ERROR: &str = "commandError";
pub const WRONG_KEY: &str = "wrongKey";
pub const NEVER_REGISTERED: &str = "neverRegistered";
pub const ASSIGNED_ELSEWHERE: &str = "assignedElsewhere";
pub const DPS_REFUSED: &str = "dpsRefused";
pub const NOT_CONNECTED: &str = "notConnected";
pub const JOB_ENDED: &str = "jobEnded";

/// The sentence for a reason (`code` or `code:detail`).
pub fn explain(reason: &str) -> String {
    let (code, detail) = reason.split_once(':').unwrap_or((reason, ""));
    match code {
        NO_ANSWER => "The device did not answer DeviceMove (offline or unreachable); it is still on Central. Retry when it is online.".into(),
        NO_DEVICE_MOVE => "The device's firmware does not implement DeviceMove (it answered 501); update the firmware, then retry.".into(),
        COMMAND_ERROR => format!("The device answered DeviceMove with an error (status {detail}); it did not move."),
        WRONG_KEY => "The device answered DeviceMove, but its key is its own rather than derived from the enrollment group's, so the target DPS refused it (401). It is off Central and not in the hub: give it an individual enrollment in the target DPS with its key.".into(),
        NEVER_REGISTERED => "The device answered DeviceMove but never registered with the target DPS; check its firmware's DeviceMove handling and its network path to DPS.".into(),
        ASSIGNED_ELSEWHERE => format!("The target DPS assigned the device to another hub ({detail})."),
        DPS_REFUSED => format!("The target DPS refused the device's registration: {detail}"),
        NOT_CONNECTED => "The device is registered in the target hub but has not connected to it.".into(),
        JOB_ENDED => format!("The Central job ended ({detail}) before sending DeviceMove to the device."),
        other => other.to_string(),
    }
}

/// A few words for a reason code (a tile, a table cell): `wrongKey` → "own key, not the group's".
/// A code without words of its own is spelt out from its camelCase, never shown raw.
pub fn label(reason: &str) -> String {
    let code = reason.split_once(':').map_or(reason, |(code, _)| code);
    let words = match code {
        NO_ANSWER => "did not answer",
        NO_DEVICE_MOVE => "no DeviceMove in firmware",
        COMMAND_ERROR => "answered with an error",
        WRONG_KEY => "own key, not the group's",
        NEVER_REGISTERED => "never registered",
        ASSIGNED_ELSEWHERE => "assigned to another hub",
        DPS_REFUSED => "refused by the DPS",
        NOT_CONNECTED => "not connected to the hub",
        JOB_ENDED => "job ended first",
        "blocked" => "blocked in Central",
        "notProvisioned" => "never connected to Central",
        "attestationMismatch" => "attestation the group cannot take",
        other => return spelt_out(other),
    };
    words.to_string()
}

/// `alreadyInHub` → "already in hub".
fn spelt_out(code: &str) -> String {
    let mut words = String::new();
    for c in code.chars() {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_as_words_never_as_its_code() {
        for code in [NO_ANSWER, NO_DEVICE_MOVE, COMMAND_ERROR, WRONG_KEY, NEVER_REGISTERED, ASSIGNED_ELSEWHERE, DPS_REFUSED, NOT_CONNECTED, JOB_ENDED] {
            let words = label(code);
            assert_ne!(words, code);
            assert!(!words.chars().any(|c| c.is_ascii_uppercase()) || words.contains("DeviceMove") || words.contains("DPS"), "{code}: {words}");
        }
        assert_eq!(label("wrongKey"), "own key, not the group's");
        assert_eq!(label("commandError:500"), "answered with an error");
        assert_eq!(label("blocked"), "blocked in Central");
        assert_eq!(label("alreadyInHub"), "already in hub");
    }
}
