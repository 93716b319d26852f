//! Connection strings as people paste them: the sandbox hub's real one works, and each way of
//! getting one wrong is named precisely, without the key in the message.

mod common;

use common::{TestCloud, GROUP, PRODUCTION};
use iotm_azure::hub::HubClient;
use iotm_azure::{AzureError, ConnectionString};

#[tokio::test]
async fn each_malformed_connection_string_names_the_part_that_is_wrong() {
    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let host = arm.iot_hub(PRODUCTION, GROUP, "contoso-hub-neu").await.unwrap().properties.host_name.unwrap();
    let owner = arm.iot_hub_key(PRODUCTION, GROUP, "contoso-hub-neu", "iothubowner").await.unwrap();
    let key = owner.primary_key.unwrap().expose().clone();
    let good = format!("HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}");

    // The real one, as the portal shows it (and with stray spaces and a trailing ';'), opens the hub.
    for text in [good.clone(), format!("  {}; ", good.replace(';', " ; "))] {
        let parsed = ConnectionString::parse(&text).unwrap();
        assert_eq!((parsed.host_name.as_str(), parsed.key_name.as_deref()), (host.as_str(), Some("iothubowner")));
        let hub = HubClient::from_connection_string(cloud.pipeline.clone(), parsed);
        assert!(hub.devices(10).await.unwrap().is_empty());
    }

    let cases: Vec<(String, &str, &str)> = vec![
        (String::new(), "text", "is empty"),
        ("  ".into(), "text", "is empty"),
        (format!("SharedAccessKeyName=iothubowner;SharedAccessKey={key}"), "HostName", "is missing"),
        (format!("HostName={host};SharedAccessKey={key}"), "SharedAccessKeyName", "is missing"),
        (format!("HostName={host};SharedAccessKeyName=iothubowner"), "SharedAccessKey", "is missing"),
        (format!("HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey=not base64!"), "SharedAccessKey", "is not a base64 key"),
        (format!("HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey=****"), "SharedAccessKey", "is masked"),
        (format!("HostName={host};SharedAccessKeyName=;SharedAccessKey={key}"), "SharedAccessKeyName", "is empty"),
        // An unknown part is named by its place, never by its text (which may be a pasted key).
        (format!("{good};Colour=blue"), "part 4", "is not a part of an IoT Hub or DPS connection string"),
        (format!("{good};HostName=other.azure-devices.net"), "HostName", "appears twice"),
        (format!("HostName=https://{host}/;SharedAccessKeyName=iothubowner;SharedAccessKey={key}"), "HostName", "must be a host name"),
        (format!("{host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}"), "part 1", "has no '='"),
    ];
    for (text, part, problem) in &cases {
        match ConnectionString::parse(text) {
            Err(error @ AzureError::ConnectionString { .. }) => {
                assert_eq!(error.code(), "azure.connection_string");
                let AzureError::ConnectionString { part: named, problem: why } = &error else { unreachable!() };
                assert_eq!(named, part, "{text:?}");
                assert!(why.contains(problem), "{text:?}: {why}");
                assert!(!error.to_string().contains(&key), "the key leaked into: {error}");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}
