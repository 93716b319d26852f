//! `Subscriptions_ListLocations`: the public cloud's physical regions an IoT deployment commonly
//! uses (names and display names as ARM gives them), plus every region the scenario places
//! something in, so a picker fed from it can offer any region a resource group holds.

use super::errors::ArmError;
use super::subscriptions::{check_version, readable, SUBSCRIPTION_VERSIONS};
use super::{json, Ctx};
use axum::response::Response;
use serde_json::{json as j, Value};
use std::collections::BTreeSet;

/// Name, display name, the geography ARM writes in `regionalDisplayName`'s brackets, and the
/// geography group of `metadata`.
const REGIONS: &[(&str, &str, &str, &str)] = &[
    ("eastus", "East US", "US", "US"),
    ("eastus2", "East US 2", "US", "US"),
    ("centralus", "Central US", "US", "US"),
    ("southcentralus", "South Central US", "US", "US"),
    ("westus2", "West US 2", "US", "US"),
    ("westus3", "West US 3", "US", "US"),
    ("canadacentral", "Canada Central", "Canada", "Canada"),
    ("brazilsouth", "Brazil South", "South America", "South America"),
    ("northeurope", "North Europe", "Europe", "Europe"),
    ("westeurope", "West Europe", "Europe", "Europe"),
    ("uksouth", "UK South", "Europe", "Europe"),
    ("francecentral", "France Central", "Europe", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe", "Europe"),
    ("swedencentral", "Sweden Central", "Europe", "Europe"),
    ("switzerlandnorth", "Switzerland North", "Europe", "Europe"),
    ("norwayeast", "Norway East", "Europe", "Europe"),
    ("southafricanorth", "South Africa North", "Africa", "Middle East and Africa"),
    ("uaenorth", "UAE North", "Middle East", "Middle East and Africa"),
    ("centralindia", "Central India", "Asia Pacific", "Asia Pacific"),
    ("southeastasia", "Southeast Asia", "Asia Pacific", "Asia Pacific"),
    ("eastasia", "East Asia", "Asia Pacific", "Asia Pacific"),
    ("japaneast", "Japan East", "Asia Pacific", "Asia Pacific"),
    ("koreacentral", "Korea Central", "Asia Pacific", "Asia Pacific"),
    ("australiaeast", "Australia East", "Asia Pacific", "Asia Pacific"),
];

fn location_json(subscription: &str, name: &str, display: &str, geography: &str, group: &str) -> Value {
    j!({
        "id": format!("/subscriptions/{subscription}/locations/{name}"),
        "name": name,
        "type": "Region",
        "displayName": display,
        "regionalDisplayName": format!("({geography}) {display}"),
        "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": group},
    })
}

pub fn list(ctx: &Ctx, id: &str, version: Option<&str>) -> Result<Response, ArmError> {
    check_version(version, "locations", SUBSCRIPTION_VERSIONS)?;
    let scenario = ctx.cloud.scenario();
    let sub = readable(ctx, &scenario.subscriptions, id, "Microsoft.Resources/subscriptions/locations/read", &format!("/subscriptions/{id}"))?;
    let mut items: Vec<Value> = REGIONS.iter().map(|(name, display, geography, group)| location_json(&sub.id, name, display, geography, group)).collect();
    let known: BTreeSet<&str> = REGIONS.iter().map(|r| r.0).collect();
    let placed: BTreeSet<String> =
        sub.resource_groups.iter().map(|g| g.location.to_ascii_lowercase()).filter(|l| !l.is_empty() && !known.contains(l.as_str())).collect();
    items.extend(placed.iter().map(|name| location_json(&sub.id, name, name, "Other", "Other")));
    // Not pageable: ARM answers every location in one `value`.
    Ok(json(ctx.cloud, j!({ "value": items })))
}
