//! The hubs and DPSs of a saved state take their ports again; a port taken meanwhile by another
//! program gets a fresh one, and its host name is rewritten everywhere the state mentions it
//! (DPS linked hubs and their connection strings, registration records, devices' links,
//! enrollment groups naming hubs), so the services still agree with one another.

use serde_json::Value;
use std::net::TcpListener;

/// A listener for a saved `localhost:<port>` host: on that port when free, else on a fresh one.
/// Returns the listener and the host it serves.
pub fn reserve(host: &str) -> std::io::Result<(TcpListener, String)> {
    let saved = host.strip_prefix("localhost:").and_then(|p| p.parse::<u16>().ok()).filter(|p| *p != 0);
    let listener = match saved.map(|port| TcpListener::bind(("127.0.0.1", port))) {
        Some(Ok(listener)) => {
            listener.set_nonblocking(true)?;
            listener
        }
        Some(Err(e)) => {
            tracing::info!(%host, "the saved port is taken ({e}); the resource moves to another port");
            crate::live::reserve_port()?
        }
        None => crate::live::reserve_port()?,
    };
    let host = format!("localhost:{}", listener.local_addr()?.port());
    Ok((listener, host))
}

/// Every string of `value` with each `old` host replaced by its `new` one (whole host names only:
/// `localhost:443` is not rewritten inside `localhost:4431`).
pub fn rewrite(value: &mut Value, renames: &[(String, String)]) {
    if renames.is_empty() {
        return;
    }
    match value {
        Value::String(s) => {
            for (old, new) in renames {
                if s.contains(old.as_str()) {
                    *s = replace_host(s, old, new);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, renames)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite(v, renames)),
        _ => {}
    }
}

fn replace_host(text: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(old) {
        let after = &rest[at + old.len()..];
        out.push_str(&rest[..at]);
        out.push_str(if after.starts_with(|c: char| c.is_ascii_digit()) { old } else { new });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_host_is_rewritten_in_every_string_but_not_inside_a_longer_port() {
        let mut state = json!({
            "linked": [{"name": "localhost:443", "connectionString": "HostName=localhost:443;SharedAccessKeyName=iothubowner"}],
            "other": "localhost:4431", "hub": "localhost:443",
        });
        rewrite(&mut state, &[("localhost:443".into(), "localhost:5000".into())]);
        assert_eq!(
            state,
            json!({
                "linked": [{"name": "localhost:5000", "connectionString": "HostName=localhost:5000;SharedAccessKeyName=iothubowner"}],
                "other": "localhost:4431", "hub": "localhost:5000",
            })
        );
    }

    #[test]
    fn a_free_saved_port_is_taken_again_and_a_taken_one_is_replaced() {
        let free = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let (_listener, host) = reserve(&format!("localhost:{port}")).unwrap();
        assert_eq!(host, format!("localhost:{port}"));
        let (_other, moved) = reserve(&format!("localhost:{port}")).unwrap();
        assert_ne!(moved, host, "the port is held by the first listener");
    }
}
