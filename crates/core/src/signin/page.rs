//! The small page the browser tab shows once the redirect arrives: signed in, or what went wrong
//! and how to fix it. Self-contained (no script, no external resource), escaped.

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str, ok: bool) -> String {
    let accent = if ok { "#0f7b3a" } else { "#b3261e" };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} — IoT Migrator</title><style>\
         body{{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f6f7f9;color:#1b1d21;display:grid;place-items:center;min-height:100vh;margin:0}}\
         main{{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px 40px;max-width:520px;border-top:4px solid {accent}}}\
         h1{{font-size:20px;margin:0 0 12px;color:{accent}}}p{{line-height:1.5;margin:8px 0}}small{{color:#5f6368}}\
         @media (prefers-color-scheme:dark){{body{{background:#16181c;color:#e8eaed}}main{{background:#202329}}small{{color:#9aa0a6}}}}\
         </style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    )
}

pub fn signed_in() -> String {
    page("Signed in", "<p>You can close this tab and return to IoT Migrator.</p>", true)
}

pub fn failed(meaning: &str, fix: Option<&str>) -> String {
    let fix = fix.map(|f| format!("<p><strong>What to do:</strong> {}</p>", escape(f))).unwrap_or_default();
    page("Sign-in failed", &format!("<p>{}</p>{fix}<p><small>IoT Migrator shows the same message. You can close this tab.</small></p>", escape(meaning)), false)
}

/// For requests that are not this sign-in's redirect (a stale tab, a wrong `state`).
pub fn not_this_sign_in() -> String {
    page("Not this sign-in", "<p>This page does not belong to the sign-in IoT Migrator is waiting for. Return to the app and start again if needed.</p>", false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_page_escapes_what_it_shows() {
        let html = failed("<script>alert(1)</script>", Some("add \"x\""));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;") && html.contains("&quot;x&quot;"));
        assert!(signed_in().contains("You can close this tab"));
    }
}
