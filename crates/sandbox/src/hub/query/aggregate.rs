//! `GROUP BY` and the aggregates (COUNT(), SUM, AVG, MIN, MAX): one row per group of selected
//! twins, each row holding the grouped fields (left out where the twin has none, as the hub leaves
//! out undefined values) and the aggregates under their names. Without GROUP BY an aggregate query
//! is one group, so `SELECT COUNT() AS n FROM devices` answers `[{"n": <count>}]` even for none.

use super::ast::{Aggregate, Query, Selected};
use super::eval::lookup;
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Default, Clone)]
struct Accumulator {
    count: u64,
    /// How many values were numbers, and their sum, least and greatest.
    numbers: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
}

impl Accumulator {
    fn add(&mut self, v: Option<&Value>) {
        self.count += 1;
        if let Some(n) = v.and_then(Value::as_f64) {
            self.numbers += 1;
            self.sum += n;
            self.min = Some(self.min.map_or(n, |m| m.min(n)));
            self.max = Some(self.max.map_or(n, |m| m.max(n)));
        }
    }
    fn result(&self, kind: Aggregate) -> Option<Value> {
        let n = |x: f64| if x.fract() == 0.0 && x.abs() < 9.0e15 { Some(Value::from(x as i64)) } else { serde_json::Number::from_f64(x).map(Value::Number) };
        match kind {
            Aggregate::Count => Some(Value::from(self.count)),
            Aggregate::Sum => n(self.sum),
            Aggregate::Avg if self.numbers > 0 => n(self.sum / self.numbers as f64),
            Aggregate::Avg => None,
            Aggregate::Min => n(self.min?),
            Aggregate::Max => n(self.max?),
        }
    }
}

struct Group {
    key: Vec<Option<Value>>,
    /// One per SELECT item (unused for grouped fields).
    accumulators: Vec<Accumulator>,
}

/// The rows of an aggregate or grouped query over the twins its WHERE clause selected, groups in
/// the order their first twin came.
pub fn rows(query: &Query, twins: impl Iterator<Item = Value>) -> Vec<Value> {
    let fields = query.fields.as_deref().unwrap_or_default();
    let mut groups: Vec<Group> = vec![];
    let mut index: HashMap<String, usize> = HashMap::new();
    if query.group_by.is_empty() {
        groups.push(Group { key: vec![], accumulators: vec![Accumulator::default(); fields.len()] });
        index.insert("[]".into(), 0);
    }
    for twin in twins {
        let key: Vec<Option<Value>> = query.group_by.iter().map(|p| lookup(&twin, p).cloned()).collect();
        let id = serde_json::to_string(&key).unwrap_or_default();
        let at = *index.entry(id).or_insert_with(|| {
            groups.push(Group { key: key.clone(), accumulators: vec![Accumulator::default(); fields.len()] });
            groups.len() - 1
        });
        for (field, acc) in fields.iter().zip(groups[at].accumulators.iter_mut()) {
            if let Selected::Aggregate(_, path) = &field.value {
                acc.add(path.as_ref().and_then(|p| lookup(&twin, p)));
            }
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let mut row = Map::new();
            for (field, acc) in fields.iter().zip(&group.accumulators) {
                let value = match &field.value {
                    Selected::Path(p) => query.group_by.iter().position(|g| g == p).and_then(|i| group.key[i].clone()),
                    Selected::Aggregate(kind, _) => acc.result(*kind),
                };
                if let Some(v) = value {
                    row.insert(field.name.clone(), v);
                }
            }
            Value::Object(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::eval::selects;
    use super::super::parse::parse;
    use super::*;
    use serde_json::json;

    fn fleet() -> Vec<Value> {
        vec![
            json!({"deviceId": "a", "status": "enabled", "tags": {"site": "lyon", "floor": 1}}),
            json!({"deviceId": "b", "status": "enabled", "tags": {"site": "lyon", "floor": 4}}),
            json!({"deviceId": "c", "status": "disabled", "tags": {"site": "paris", "floor": 2}}),
            json!({"deviceId": "d", "status": "enabled", "tags": {}}),
        ]
    }

    fn run(text: &str) -> Vec<Value> {
        let q = parse(text).unwrap();
        rows(&q, fleet().into_iter().filter(|t| selects(q.condition.as_ref(), t)))
    }

    #[test]
    fn count_without_group_by_is_one_row_even_for_none() {
        assert_eq!(run("SELECT COUNT() AS n FROM devices"), vec![json!({"n": 4})]);
        assert_eq!(run("SELECT COUNT() AS n FROM devices WHERE status = 'gone'"), vec![json!({"n": 0})]);
        assert_eq!(run("SELECT COUNT() FROM devices WHERE STARTSWITH(tags.site, 'ly')"), vec![json!({"$1": 2})]);
    }

    #[test]
    fn group_by_counts_and_aggregates_each_group() {
        let rows = run("SELECT tags.site AS site, COUNT() AS n, SUM(tags.floor) AS floors, AVG(tags.floor) AS avg, MAX(tags.floor) AS highest FROM devices GROUP BY tags.site");
        assert_eq!(
            rows,
            vec![
                json!({"site": "lyon", "n": 2, "floors": 5, "avg": 2.5, "highest": 4}),
                json!({"site": "paris", "n": 1, "floors": 2, "avg": 2, "highest": 2}),
                json!({"n": 1, "floors": 0}),
            ]
        );
        assert_eq!(
            run("SELECT status, COUNT() AS n FROM devices GROUP BY status"),
            vec![json!({"status": "enabled", "n": 3}), json!({"status": "disabled", "n": 1})]
        );
        assert!(run("SELECT status FROM devices WHERE status = 'none' GROUP BY status").is_empty());
    }
}
