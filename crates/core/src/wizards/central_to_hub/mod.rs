//! The Central → Hub wizard: move devices from an IoT Central application to an IoT hub through
//! DPS with the `DeviceMove` command. Plan → dry run → run → verify → report, over the journal.
//! Built so far: the template check every plan starts with.

pub mod template;
