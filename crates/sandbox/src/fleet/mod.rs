//! The simulated device fleet: devices that live inside the sandbox, provisioned into their IoT
//! Central app through DPS, answering direct methods and, on `DeviceMove`, re-registering with the
//! new ID scope and connecting to the hub DPS assigns — each as its persona dictates.

mod device;
mod persona;

pub use device::{MethodOutcome, SimDevice, SimDeviceRecord};
pub use persona::{assign_personas, Persona};

use serde::{Deserialize, Serialize};

/// How long the devices take. Defaults are those of a healthy fleet on a good network.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DeviceTiming {
    /// A device answers a direct method after this long.
    pub answer_ms: u64,
    /// A slow device answers after this long instead.
    pub slow_answer_ms: u64,
    /// After acknowledging DeviceMove, the time to disconnect and reach the new DPS.
    pub reconnect_ms: u64,
    /// How long the service waits for a device's answer before giving up (an offline device never answers).
    pub command_timeout_ms: u64,
}

impl Default for DeviceTiming {
    fn default() -> DeviceTiming {
        DeviceTiming { answer_ms: 300, slow_answer_ms: 20_000, reconnect_ms: 1_500, command_timeout_ms: 30_000 }
    }
}
