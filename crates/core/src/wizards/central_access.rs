//! How a wizard reaches an IoT Central application — as the signed-in account, or with a saved
//! API token — shared by every wizard that reads or writes Central (Central → Hub today; Central →
//! Central and Hub → Central next). A plan names the token by its saved connection, never the token.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum CentralAccess {
    #[default]
    SignedIn,
    ApiToken {
        connection_id: String,
    },
}
