//! Topic names and filters (MQTT 3.1.1 section 4.7). The server delivers a message only when one of
//! the client's filters matches it, as a broker would: the SDKs subscribe to `…/res/#` or
//! `$iothub/methods/POST/#` and would drop, or be confused by, anything else.

/// A filter is valid when `#` stands alone as its last level and `+` stands alone in a level.
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == levels.len() - 1,
        "+" => true,
        other => !other.contains(['#', '+']),
    })
}

/// A topic a client publishes to is non-empty and has no wildcards.
pub fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['#', '+'])
}

/// Whether `topic` falls under `filter`. `+` matches one level, `#` the rest (including none, so
/// `a/#` matches `a`); a topic starting with `$` is not matched by a leading wildcard (4.7.2).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['#', '+']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        match (level, topic_levels.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (exact, Some(t)) if exact == t => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_filters_match_their_replies() {
        assert!(matches("$dps/registrations/res/#", "$dps/registrations/res/202/?$rid=1&retry-after=3"));
        assert!(matches("$iothub/methods/POST/#", "$iothub/methods/POST/reboot/?$rid=5"));
        assert!(matches("devices/d1/messages/devicebound/#", "devices/d1/messages/devicebound/%24.to=%2Fdevices%2Fd1"));
        assert!(!matches("$dps/registrations/res/#", "$iothub/methods/POST/reboot/?$rid=5"));
        assert!(!matches("devices/d1/messages/devicebound/#", "devices/d2/messages/devicebound/x"));
    }

    #[test]
    fn wildcards_follow_the_spec() {
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("#", "a/b"));
        assert!(matches("a/+/c", "a/b/c"));
        assert!(matches("a/+", "a/"));
        assert!(matches("+/+", "/x"));
        assert!(!matches("a/+/c", "a/b/c/d"));
        assert!(!matches("a/+", "a"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("+/x", "$dps/x"));
        assert!(matches("$dps/+", "$dps/x"));
    }

    #[test]
    fn filters_and_topics_are_validated() {
        for good in ["#", "+", "a/#", "a/+/b", "$dps/registrations/res/#", "/"] {
            assert!(valid_filter(good), "{good}");
        }
        for bad in ["", "a/#/b", "a#", "a/b+", "#/a", "a/+x"] {
            assert!(!valid_filter(bad), "{bad}");
        }
        assert!(valid_topic("$dps/registrations/PUT/iotdps-register/?$rid=1"));
        assert!(!valid_topic("a/+"));
        assert!(!valid_topic(""));
    }
}
