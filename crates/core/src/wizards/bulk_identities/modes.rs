//! The nine import modes of IoT Hub's import job (`importMode` on each line of devices.txt), as
//! the service spells them, and what each asks of its line.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ImportMode {
    Create,
    Update,
    UpdateIfMatchETag,
    CreateOrUpdate,
    CreateOrUpdateIfMatchETag,
    Delete,
    DeleteIfMatchETag,
    UpdateTwin,
    UpdateTwinIfMatchETag,
}

impl ImportMode {
    pub const ALL: [ImportMode; 9] = [
        ImportMode::Create,
        ImportMode::Update,
        ImportMode::UpdateIfMatchETag,
        ImportMode::CreateOrUpdate,
        ImportMode::CreateOrUpdateIfMatchETag,
        ImportMode::Delete,
        ImportMode::DeleteIfMatchETag,
        ImportMode::UpdateTwin,
        ImportMode::UpdateTwinIfMatchETag,
    ];

    /// As devices.txt spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Create => "create",
            ImportMode::Update => "update",
            ImportMode::UpdateIfMatchETag => "updateIfMatchETag",
            ImportMode::CreateOrUpdate => "createOrUpdate",
            ImportMode::CreateOrUpdateIfMatchETag => "createOrUpdateIfMatchETag",
            ImportMode::Delete => "delete",
            ImportMode::DeleteIfMatchETag => "deleteIfMatchETag",
            ImportMode::UpdateTwin => "updateTwin",
            ImportMode::UpdateTwinIfMatchETag => "updateTwinIfMatchETag",
        }
    }

    /// The service reads the mode without regard to case.
    pub fn parse(text: &str) -> Option<ImportMode> {
        ImportMode::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(text))
    }

    /// The field a line of this mode must carry to be compared (`eTag` or `twinETag`).
    pub fn etag_field(self) -> Option<&'static str> {
        match self {
            ImportMode::UpdateIfMatchETag | ImportMode::CreateOrUpdateIfMatchETag | ImportMode::DeleteIfMatchETag => Some("eTag"),
            ImportMode::UpdateTwinIfMatchETag => Some("twinETag"),
            _ => None,
        }
    }

    /// Deletes need only the ID; twin updates leave the identity (and its keys) alone.
    pub fn writes_identity(self) -> bool {
        !matches!(self, ImportMode::Delete | ImportMode::DeleteIfMatchETag | ImportMode::UpdateTwin | ImportMode::UpdateTwinIfMatchETag)
    }
}

impl std::fmt::Display for ImportMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
