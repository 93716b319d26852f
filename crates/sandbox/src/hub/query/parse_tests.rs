use super::*;

fn path(p: &str) -> Vec<String> {
    p.split('.').map(str::to_string).collect()
}

fn star(condition: Option<Condition>) -> Query {
    Query { top: None, fields: None, source: Source::Devices, condition, group_by: vec![] }
}

#[test]
fn select_star_and_field_lists() {
    assert_eq!(parse("SELECT * FROM devices").unwrap(), star(None));
    let q = parse("select deviceId, properties.reported.fw AS firmware, devices.status from DEVICES").unwrap();
    let fields = q.fields.unwrap();
    assert_eq!(fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["deviceId", "firmware", "status"]);
    assert_eq!(fields[1].value, Selected::Path(path("properties.reported.fw")));
    assert_eq!(fields[2].value, Selected::Path(path("status")));
}

#[test]
fn collections_top_aggregates_and_group_by() {
    let q = parse("SELECT COUNT() AS n FROM devices").unwrap();
    assert_eq!(q.fields.unwrap(), vec![Field { value: Selected::Aggregate(Aggregate::Count, None), name: "n".into() }]);
    let q = parse("SELECT tags.site AS site, COUNT(), max(tags.floor) FROM devices WHERE status = 'enabled' GROUP BY tags.site").unwrap();
    let names: Vec<_> = q.fields.as_ref().unwrap().iter().map(|f| f.name.clone()).collect();
    assert_eq!((names, q.group_by), (vec!["site".to_string(), "$2".into(), "$3".into()], vec![path("tags.site")]));
    let q = parse("SELECT * FROM devices.modules WHERE devices.modules.moduleId = 'm1'").unwrap();
    assert_eq!(q.source, Source::Modules);
    assert_eq!(q.condition, Some(Condition::Compare(Operand::Path(path("moduleId")), Comparison::Eq, Operand::Literal(Literal::String("m1".into())))));
    let q = parse("SELECT TOP 5 * FROM devices.jobs WHERE devices.jobs.jobId = 'j'").unwrap();
    assert_eq!((q.top, q.source), (Some(5), Source::Jobs));
}

#[test]
fn what_the_hub_documents_it_refuses() {
    for (query, says) in [
        ("SELECT deviceId FROM devices.jobs", "SELECT * only"),
        ("SELECT COUNT() FROM devices.jobs", "SELECT * only"),
        ("SELECT moduleId, COUNT() FROM devices.modules GROUP BY moduleId", "device twins"),
        ("SELECT deviceId, COUNT() AS n FROM devices", "neither in the GROUP BY"),
        ("SELECT * FROM devices GROUP BY status", "SELECT * cannot be grouped"),
        ("SELECT * FROM devices WHERE STARTS_WITH(deviceId, 'a')", "not a function"),
        ("SELECT * FROM devices WHERE LOWER(deviceId) = 'a'", "route conditions only"),
        ("SELECT * FROM devices WHERE IS_STRING(deviceId, 1)", "takes 1 argument"),
        ("SELECT * FROM devices.twins", "devices, devices.modules or devices.jobs"),
        ("SELECT FOO() FROM devices", "not an aggregate"),
    ] {
        let e = parse(query).unwrap_err();
        assert!(e.message.contains(says), "{query}: {e}");
    }
}

#[test]
fn functions_and_arithmetic_parse() {
    let q = parse("SELECT * FROM devices WHERE STARTSWITH(deviceId, 'dev') AND is_string(tags.site) AND tags.floor * 2 + 1 > 0x5").unwrap();
    let Some(Condition::And(left, right)) = q.condition else { panic!() };
    assert!(matches!(*left, Condition::And(..)));
    let Condition::Compare(Operand::Arithmetic(_, '+', _), Comparison::Gt, Operand::Literal(Literal::Number(n))) = *right else { panic!("{right:?}") };
    assert_eq!(n, 5.0);
    assert!(parse("SELECT * FROM devices WHERE (tags.a + 1) > 2 AND (status = 'x' OR NOT IS_NULL(tags.b))").is_ok());
    let c = parse_condition("level = 'critical' AND as_number(severity) <= 2 AND CONTAINS(LOWER(source), 'pump')", Dialect::Routes).unwrap();
    assert!(matches!(c, Condition::And(..)));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let q = parse("SELECT * FROM devices WHERE a = 1 OR NOT b = 'x' AND c IN ['p', \"q\"]").unwrap();
    let eq = |p: &str, l: Literal| Condition::Compare(Operand::Path(path(p)), Comparison::Eq, Operand::Literal(l));
    let expected = Condition::Or(
        Box::new(eq("a", Literal::Number(1.0))),
        Box::new(Condition::And(
            Box::new(Condition::Not(Box::new(eq("b", Literal::String("x".into()))))),
            Box::new(Condition::In { operand: Operand::Path(path("c")), list: vec![Literal::String("p".into()), Literal::String("q".into())], negated: false }),
        )),
    );
    assert_eq!(q.condition.unwrap(), expected);
}

#[test]
fn every_operator_and_literal_parses() {
    for op in ["=", "!=", "<>", "<", "<=", ">", ">="] {
        parse(&format!("SELECT * FROM devices WHERE tags.n {op} -2.5")).unwrap();
    }
    let q = parse("SELECT * FROM devices WHERE (capabilities.iotEdge = true OR tags.x = null) AND status NOT IN ['disabled'] AND IS_DEFINED(tags.site) AND NOT is_defined(tags.gone) AND tags.y NIN [-1, 'a\\u0041']").unwrap();
    assert!(matches!(q.condition, Some(Condition::And(..))));
}

#[test]
fn errors_name_the_position_and_token() {
    let e = parse("SELECT * FROM devices WHERE status == 'x'").unwrap_err();
    assert_eq!(e.position, 37);
    assert!(e.message.contains("'='"), "{e}");
    let e = parse("SELECT * FORM devices").unwrap_err();
    assert_eq!((e.position, e.message.as_str()), (10, "expected FROM, found 'FORM'"));
    assert!(parse("SELECT * FROM devices WHERE tags.site = 'x").unwrap_err().message.contains("not closed"));
    assert!(parse("SELECT * FROM devices WHERE status IN 'x'").unwrap_err().message.contains("'['"));
    assert!(parse("SELECT * FROM devices WHERE").unwrap_err().message.contains("the end of the query"));
    assert!(parse("SELECT * FROM devices status = 'x'").unwrap_err().message.contains("WHERE"));
}

#[test]
fn hostile_nesting_and_length_are_refused_not_recursed_into() {
    for query in [
        format!("SELECT * FROM devices WHERE {}a = 1", "(".repeat(5000)),
        format!("SELECT * FROM devices WHERE {}a = 1", "NOT ".repeat(5000)),
        format!("SELECT * FROM devices WHERE a = {}1", "- ".repeat(5000)),
        format!("SELECT * FROM devices WHERE {}", vec!["a = 1"; 5000].join(" AND ")),
        format!("SELECT * FROM devices WHERE a = {}", vec!["1"; 5000].join(" + ")),
        format!("SELECT * FROM devices WHERE {}a) = 1", "IS_STRING(".repeat(5000)),
    ] {
        let e = parse(&query).unwrap_err();
        assert!(e.message.contains("levels") || e.message.contains("operators"), "{e}");
    }
    let deep = format!("SELECT * FROM devices WHERE {}a = 1{}", "(".repeat(30), ")".repeat(30));
    assert!(parse(&deep).is_ok(), "ordinary nesting still parses");
}
