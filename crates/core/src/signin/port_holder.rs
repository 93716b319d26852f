//! Who holds a port, where the OS tells: on Linux, the process whose socket listens on it
//! (`/proc/net/tcp*` gives the socket's inode, `/proc/<pid>/fd` the process that has it open).
//! Elsewhere, or without permission, nothing is said rather than something guessed.

/// `name (pid N)` of the process listening on `port`, when it can be found.
pub fn holder(port: u16) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        linux::holder(port)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    /// Inodes of sockets in LISTEN (state 0A) on `port`, from /proc/net/tcp and tcp6.
    fn listening_inodes(port: u16) -> Vec<String> {
        let wanted = format!("{port:04X}");
        ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .flat_map(|text| {
                text.lines()
                    .skip(1)
                    .filter_map(|line| {
                        let cols: Vec<&str> = line.split_whitespace().collect();
                        let local_port = cols.get(1)?.rsplit(':').next()?;
                        (local_port == wanted && cols.get(3) == Some(&"0A")).then(|| cols.get(9).map(|s| s.to_string()))?
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn holder(port: u16) -> Option<String> {
        let inodes = listening_inodes(port);
        if inodes.is_empty() {
            return None;
        }
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name().to_string_lossy().to_string();
            if !pid.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else { continue };
                let target = target.to_string_lossy();
                if inodes.iter().any(|inode| target == format!("socket:[{inode}]")) {
                    let name = std::fs::read_to_string(entry.path().join("comm")).map(|c| c.trim().to_string()).unwrap_or_default();
                    return Some(format!("{name} (pid {pid})"));
                }
            }
        }
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_port_this_test_listens_on_is_held_by_this_process() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = super::holder(port).expect("this process holds the port");
        assert!(held.contains(&format!("pid {}", std::process::id())), "{held}");
    }
}
