//! `GET /metadata/endpoints`: the cloud's own description of its endpoints, served without a token.
//! `az cloud register --endpoint-resource-manager <url>` (through msrestazure) reads the sign-in
//! endpoint and the ARM audience from it (api-version 2015-01-01); azure-cli reads the newer shape
//! when `ARM_CLOUD_METADATA_URL` points at it. The sandbox answers with its own sign-in endpoint, so a
//! CLI registered with nothing but the sandbox's URL signs in against the sandbox's Entra.

use super::errors::ArmError;
use crate::cloud::Cloud;
use axum::http::StatusCode;
use serde_json::{json, Value};

const AUDIENCES: [&str; 2] = ["https://management.core.windows.net/", "https://management.azure.com/"];
/// Graph is not emulated; clouds without it still name one (az requires the setting).
const GRAPH: &str = "https://graph.windows.net/";

/// True when the request is for the metadata document (ARM paths are case-insensitive and az
/// sends the ARM URL with its trailing slash, so the path may start with `//`).
pub fn is_metadata_path(path: &str) -> bool {
    path.trim_matches('/').eq_ignore_ascii_case("metadata/endpoints")
}

pub fn endpoints(cloud: &Cloud, api_version: Option<&str>) -> Result<Value, ArmError> {
    let base = format!("{}/", cloud.base_url().trim_end_matches('/'));
    let legacy = || {
        json!({
            "galleryEndpoint": "",
            "graphEndpoint": GRAPH,
            "portalEndpoint": "",
            "authentication": {"loginEndpoint": base, "audiences": AUDIENCES},
        })
    };
    let current = || {
        json!({
            "name": "IotmSandbox",
            "portal": "",
            "resourceManager": base,
            "graph": GRAPH,
            "graphAudience": GRAPH,
            "authentication": {"loginEndpoint": base, "audiences": AUDIENCES, "tenant": "common", "identityProvider": "AAD"},
            "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net"},
        })
    };
    match api_version {
        None => Err(ArmError::missing_api_version()),
        Some("2015-01-01") => Ok(legacy()),
        Some("2019-05-01") | Some("2020-06-01") => Ok(current()),
        Some("2022-09-01") => Ok(json!([current()])),
        Some(other) => Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!("The api-version '{other}' is invalid. The supported versions are '2022-09-01,2020-06-01,2019-05-01,2015-01-01'."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_path_is_found_with_az_clis_double_slash_and_any_case() {
        assert!(is_metadata_path("//metadata/endpoints"));
        assert!(is_metadata_path("/Metadata/Endpoints"));
        assert!(!is_metadata_path("/metadata/endpoints/more"));
        assert!(!is_metadata_path("/subscriptions"));
    }
}
