//! The state file against the CLI's own sample (tests/fixtures/az_iot_hub_state_export.json).

use super::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/az_iot_hub_state_export.json")
}

fn sample() -> Value {
    serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap()
}

/// Every item of a file, in order, with the mark after each.
fn items(path: &Path) -> Result<Vec<(StateItem, ReadMark)>, StateFileError> {
    let mut all = Vec::new();
    read(path, None, &mut |item, mark| {
        all.push((item, mark));
        Flow::Continue(())
    })?;
    Ok(all)
}

/// Writes what `items` holds as a state file of the variant.
fn write_all(path: &Path, variant: Variant, all: &[(StateItem, ReadMark)]) -> PathBuf {
    let mut writer = StateWriter::create(path, variant).unwrap();
    for (item, _) in all {
        match item {
            StateItem::Arm(arm) => writer.arm(arm).unwrap(),
            StateItem::Configurations(c) => writer.configurations(c).unwrap(),
            StateItem::Device { id, state } => writer.device(id, state).unwrap(),
        }
    }
    writer.finish().unwrap()
}

fn devices(all: &[(StateItem, ReadMark)]) -> Vec<(String, DeviceState)> {
    all.iter()
        .filter_map(|(item, _)| match item {
            StateItem::Device { id, state } => Some((id.clone(), state.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_clis_sample_reads_field_by_field() {
    let all = items(&sample_path()).unwrap();
    assert!(matches!(&all[0].0, StateItem::Arm(arm) if arm["resources"][0]["type"] == "Microsoft.Devices/IotHubs"));
    let StateItem::Configurations(configurations) = &all[1].0 else { panic!("configurations second") };
    assert_eq!(configurations.adm_configurations["my_config"].target_condition, "tags.environment='test'");
    assert_eq!(configurations.adm_configurations["my_config"].priority, 10);
    let deployment = &configurations.edge_deployments["deployment1"];
    assert!(deployment.is_edge_deployment() && !deployment.is_layered());
    assert_eq!(deployment.service["etag"], "MQ==");

    let devices = devices(&all);
    assert_eq!(devices.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["device1", "edge1", "edge2"]);
    let (_, device1) = &devices[0];
    assert_eq!(device1.parent.as_deref(), Some("edge2"));
    assert_eq!(device1.identity.authentication.kind, AuthKind::SelfSigned);
    assert_eq!(device1.identity.authentication.x509_thumbprint.primary_thumbprint.as_deref(), Some("THUMBPRINT"));
    assert_eq!(device1.modules["module1"].identity.authentication.kind, AuthKind::CertificateAuthority);
    assert_eq!(device1.modules["module1"].twin.tags.as_ref().unwrap()["test"], "4");
    let (_, edge1) = &devices[1];
    assert!(edge1.identity.capabilities.iot_edge);
    let keys = edge1.identity.authentication.symmetric_key.as_ref().unwrap();
    assert_eq!(keys.primary_key.as_ref().unwrap().expose(), "PRIMARYKEY");
    assert!(edge1.modules["$edgeAgent"].is_edge_managed("$edgeAgent"));
    assert!(edge1.modules["SimulatedTemperatureSensor"].is_edge_managed("SimulatedTemperatureSensor"));
    assert!(!edge1.modules["module1"].is_edge_managed("module1"));
    assert_eq!(edge1.modules["$edgeHub"].twin.properties.desired["routes"]["upstream"], "FROM /messages/* INTO $upstream");
    // The marks count devices as they come.
    assert_eq!(all.last().unwrap().1.devices, 3);
}

#[test]
fn the_clis_sample_writes_back_as_it_came_in_both_variants() {
    let all = items(&sample_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = write_all(&dir.path().join("state.json"), Variant::Json, &all);
    let mut written: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(written[VERSION_KEY], 1);
    written.as_object_mut().unwrap().remove(VERSION_KEY);
    assert_eq!(written, sample());
    // Laid out as the CLI lays it out: four spaces a level, one key a line.
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.starts_with("{\n    \"$iotMigratorFormatVersion\": 1,\n    \"arm\": {\n        \"$schema\""), "{}", &text[..120]);
    assert!(text.contains("\n    \"devices\": {\n        \"device1\": {\n            \"identity\": {\n"));

    let lines = write_all(&dir.path().join("state.jsonl"), Variant::Lines, &all);
    assert_eq!(detect(&lines).unwrap(), Variant::Lines);
    assert_eq!(detect(&json).unwrap(), Variant::Json);
    let text = std::fs::read_to_string(&lines).unwrap();
    assert_eq!(text.lines().count(), 1 + 1 + 1 + 3 + 1, "version, arm, configurations, a line per device, end");
    assert!(text.lines().nth(3).unwrap().starts_with("{\"devices\":{\"device1\":{"));
    let again = items(&lines).unwrap();
    assert_eq!(devices(&again), devices(&all));
    // Merged, the lines are the CLI's file.
    let mut merged = serde_json::Map::new();
    for line in text.lines() {
        for (key, value) in serde_json::from_str::<serde_json::Map<String, Value>>(line).unwrap() {
            match (merged.get_mut(&key), value) {
                (Some(Value::Object(into)), Value::Object(more)) => into.extend(more),
                (_, value) => drop(merged.insert(key, value)),
            }
        }
    }
    merged.remove(VERSION_KEY);
    merged.remove(reader::END_KEY);
    assert_eq!(Value::Object(merged), sample());
}

#[test]
fn a_cut_off_file_is_refused_with_the_line_it_ends_on() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample_path()).unwrap();
    let cut = dir.path().join("cut.json");
    let at = text.find("\"edge2\"").unwrap();
    std::fs::write(&cut, &text[..at]).unwrap();
    let line = text[..at].lines().count() as u64;
    match items(&cut) {
        Err(StateFileError::Truncated { line: reported, .. }) => assert!(reported >= line - 1 && reported <= line, "{reported} vs {line}"),
        other => panic!("expected truncated, got {other:?}"),
    }
    // The Lines variant cut at a line boundary: its end line is missing.
    let all = items(&sample_path()).unwrap();
    let lines = write_all(&dir.path().join("full.jsonl"), Variant::Lines, &all);
    let whole = std::fs::read_to_string(&lines).unwrap();
    let kept: Vec<&str> = whole.lines().take(5).collect();
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, kept.join("\n") + "\n").unwrap();
    assert_eq!(items(&short).unwrap_err(), StateFileError::Truncated { file: short.display().to_string(), line: 5 });
    assert_eq!(items(&short).unwrap_err().code(), "hubState.file_truncated");
}

#[test]
fn a_wrong_field_is_named_by_its_line_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample_path()).unwrap();
    // edge2's status, the last `"status": "enabled"` of a device identity.
    let edge2 = text.find("\"edge2\": {").unwrap();
    let at = edge2 + text[edge2..].find("\"status\": \"enabled\"").unwrap();
    let bad = format!("{}\"status\": \"on\"{}", &text[..at], &text[at + "\"status\": \"enabled\"".len()..]);
    let path = dir.path().join("bad.json");
    std::fs::write(&path, &bad).unwrap();
    let line = bad[..at].lines().count() as u64;
    let error = items(&path).unwrap_err();
    let StateFileError::Invalid { line: reported, field, problem, .. } = &error else { panic!("{error:?}") };
    assert_eq!((reported, field.as_str()), (&line, "devices.edge2.identity.status"));
    assert!(problem.starts_with("unknown variant `on`"), "{problem}");
    assert!(error.to_string().contains(&format!("line {line}, devices.edge2.identity.status: unknown variant `on`")), "{error}");

    // In the Lines variant, the line of the device.
    let lines = dir.path().join("bad.jsonl");
    std::fs::write(&lines, "{\"$iotMigratorFormatVersion\":1}\n{\"devices\":{\"d1\":{\"identity\":{\"authentication\":{\"type\":\"sas\"},\"status\":\"enabled\"},\"twin\":{}}}}\n{\"devices\":{\"d2\":{\"identity\":{\"authentication\":{\"type\":\"magic\"},\"status\":\"enabled\"},\"twin\":{}}}}\n").unwrap();
    let error = items(&lines).unwrap_err();
    assert!(matches!(&error, StateFileError::Invalid { line: 3, field, .. } if field == "devices.d2.identity.authentication.type"), "{error:?}");
    assert_eq!(error.code(), "hubState.file_invalid");
}

#[test]
fn a_file_from_a_newer_format_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("newer.json");
    std::fs::write(&json, "{\n    \"$iotMigratorFormatVersion\": 2,\n    \"devices\": {}\n}\n").unwrap();
    let mut handed = 0;
    let error = read(&json, None, &mut |_, _| {
        handed += 1;
        Flow::Continue(())
    })
    .unwrap_err();
    assert_eq!(error, StateFileError::NewerVersion { file: json.display().to_string(), found: 2, supported: 1 });
    assert_eq!(handed, 0);
    assert_eq!(error.code(), "hubState.file_newer_version");
    let lines = dir.path().join("newer.jsonl");
    std::fs::write(&lines, "{\"$iotMigratorFormatVersion\":3}\n{\"$end\":{\"devices\":0}}\n").unwrap();
    assert!(matches!(items(&lines), Err(StateFileError::NewerVersion { found: 3, .. })));
}

#[test]
fn a_read_resumes_after_the_last_device_handed_on_in_either_variant() {
    let all = items(&sample_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for variant in [Variant::Json, Variant::Lines] {
        let path = write_all(&dir.path().join(format!("state-{variant:?}")), variant, &all);
        let mut stopped_at = None;
        read(&path, None, &mut |item, mark| {
            if let StateItem::Device { id, .. } = item {
                assert_eq!(id, "device1");
                stopped_at = Some(mark);
                return Flow::Break(());
            }
            Flow::Continue(())
        })
        .unwrap();
        let mark = stopped_at.unwrap();
        let mut rest = Vec::new();
        let summary = read(&path, Some(mark), &mut |item, _| {
            if let StateItem::Device { id, .. } = item {
                rest.push(id);
            }
            Flow::Continue(())
        })
        .unwrap();
        assert_eq!(rest, ["edge1", "edge2"], "{variant:?}");
        assert_eq!((summary.devices, summary.finished), (3, true));
    }
}

#[test]
fn a_killed_write_resumes_from_its_mark_with_nothing_written_twice() {
    let all = items(&sample_path()).unwrap();
    let devices = devices(&all);
    let dir = tempfile::tempdir().unwrap();
    for variant in [Variant::Json, Variant::Lines] {
        let target = dir.path().join(format!("resumed-{variant:?}"));
        let mut writer = StateWriter::create(&target, variant).unwrap();
        writer.configurations(&ConfigurationsState::default()).unwrap();
        writer.device(&devices[0].0, &devices[0].1).unwrap();
        let mark = writer.mark().unwrap();
        writer.device(&devices[1].0, &devices[1].1).unwrap();
        writer.mark().unwrap();
        drop(writer); // killed: edge1 written after the last checkpoint
        assert!(!target.exists(), "nothing under the file's name until it is complete");
        let mut writer = StateWriter::resume(&target, variant, mark).unwrap();
        for (id, state) in &devices[1..] {
            writer.device(id, state).unwrap();
        }
        writer.finish().unwrap();
        let again = items(&target).unwrap();
        assert_eq!(self::devices(&again), devices, "{variant:?}");
        assert!(!partial_path(&target).exists());
    }
}

#[test]
fn keys_are_in_the_file_but_never_in_debug_output() {
    let all = items(&sample_path()).unwrap();
    let edge1 = &devices(&all)[1].1;
    assert!(!format!("{edge1:?}").contains("PRIMARYKEY"));
    assert!(serde_json::to_string(edge1).unwrap().contains("\"primaryKey\":\"PRIMARYKEY\""));
}
