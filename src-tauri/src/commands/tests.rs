//! The command list is written once (`command_list.rs`); the handlers registered here, the
//! permissions the window is granted and the calls the UI makes must name exactly those commands.

use crate::command_list::COMMANDS;
use std::collections::BTreeSet;

fn listed() -> BTreeSet<String> {
    COMMANDS.iter().map(|c| c.to_string()).collect()
}

fn words_after(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    let body = &text[text.find(start).expect("start marker") + start.len()..];
    let body = &body[..body.find(end).expect("end marker")];
    body.split(',').filter_map(|entry| entry.trim().rsplit("::").next()).filter(|name| !name.is_empty()).map(str::to_string).collect()
}

#[test]
fn every_listed_command_has_a_handler_and_no_handler_is_unlisted() {
    let handlers = words_after(include_str!("mod.rs"), "tauri::generate_handler![", "]");
    assert_eq!(handlers, listed());
}

#[test]
fn the_window_is_granted_exactly_the_listed_commands() {
    let capabilities: serde_json::Value = serde_json::from_str(include_str!("../../capabilities/default.json")).unwrap();
    let granted: BTreeSet<String> = capabilities["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().strip_prefix("allow-").expect("an allow- permission").replace('-', "_"))
        .collect();
    assert_eq!(granted, listed());
}

#[test]
fn the_ui_calls_exactly_the_listed_commands() {
    let api = include_str!("../../../ui/src/lib/api.ts");
    let called: BTreeSet<String> = api
        .match_indices("call<")
        .filter_map(|(at, _)| {
            let rest = &api[at..];
            let open = rest.find("(\"")?;
            let name = &rest[open + 2..];
            Some(name[..name.find('"')?].to_string())
        })
        .collect();
    assert_eq!(called, listed());
}
