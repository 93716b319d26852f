include!("src/command_list.rs");

fn main() {
    // App commands get permissions of their own so capabilities/ can grant exactly these.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS))).expect("tauri build script");
}
