use super::super::parse::{parse, parse_condition, Dialect};
use super::*;
use serde_json::json;

fn twin() -> Value {
    json!({"deviceId": "dev-1", "status": "enabled", "connectionState": "Connected", "version": 4,
           "tags": {"site": "lyon", "floor": 3, "nothing": null, "list": [1]}, "capabilities": {"iotEdge": false},
           "properties": {"reported": {"fw": "1.2.0"}, "desired": {}}})
}

fn matches(query: &str) -> bool {
    let q = parse(&format!("SELECT * FROM devices WHERE {query}")).unwrap();
    selects(q.condition.as_ref(), &twin())
}

#[test]
fn comparisons_on_each_type() {
    assert!(matches("deviceId = 'dev-1'") && matches("status != \"disabled\"") && matches("status <> 'disabled'"));
    assert!(matches("tags.floor > 2") && matches("tags.floor >= 3") && matches("tags.floor < 3.5") && matches("tags.floor <= 3"));
    assert!(matches("properties.reported.fw > '1.10'") && matches("capabilities.iotEdge = false") && !matches("capabilities.iotEdge = true"));
    assert!(!matches("tags.floor = '3'"), "a number is not a string");
    assert!(!matches("tags.floor > 'a'"));
    assert!(!matches("deviceId = 'DEV-1'"), "values compare case-sensitively");
}

#[test]
fn missing_fields_are_undefined_not_false() {
    assert!(!matches("tags.gone = 'x'") && !matches("tags.gone != 'x'"));
    assert!(!matches("NOT tags.gone = 'x'"), "NOT undefined stays undefined");
    assert!(matches("tags.gone = 'x' OR status = 'enabled'"));
    assert!(!matches("tags.gone = 'x' AND status = 'enabled'"));
    assert!(!matches("IS_DEFINED(tags.gone)") && matches("NOT IS_DEFINED(tags.gone)") && matches("is_defined(properties.reported.fw)"));
    assert!(matches("IS_DEFINED(tags.nothing)"), "a null is defined");
    assert!(!matches("tags.site = undefined"));
}

#[test]
fn type_checks_and_string_functions() {
    assert!(matches("IS_STRING(deviceId)") && !matches("IS_STRING(tags.floor)") && !matches("IS_STRING(tags.gone)"));
    assert!(matches("IS_NUMBER(tags.floor)") && matches("IS_BOOL(capabilities.iotEdge)") && matches("IS_NULL(tags.nothing)"));
    assert!(matches("IS_OBJECT(tags)") && matches("IS_ARRAY(tags.list)") && !matches("IS_PRIMITIVE(tags)") && matches("IS_PRIMITIVE(tags.nothing)"));
    assert!(matches("STARTSWITH(deviceId, 'dev')") && !matches("STARTSWITH(deviceId, 'Dev')") && matches("ENDSWITH(deviceId, '-1')"));
    assert!(!matches("STARTSWITH(tags.floor, '3')"), "not a string: undefined");
    assert!(!matches("NOT STARTSWITH(tags.gone, 'x')"));
}

#[test]
fn arithmetic_in_conditions() {
    assert!(matches("tags.floor * 2 + 1 = 7") && matches("tags.floor % 2 = 1") && matches("(tags.floor - 1) / 2 = 1") && matches("-tags.floor = -3"));
    assert!(!matches("tags.floor / 0 = 1"), "division by zero is undefined");
}

#[test]
fn route_functions_on_message_properties() {
    let message = json!({"level": "critical", "severity": "2", "source": "Pump-7"});
    let holds = |c: &str| evaluate(&parse_condition(c, Dialect::Routes).unwrap(), &message) == Some(true);
    assert!(holds("level = 'critical' AND as_number(severity) <= 2"));
    assert!(holds("CONTAINS(LOWER(source), 'pump') AND LENGTH(source) = 6 AND UPPER(level) = 'CRITICAL'"));
    assert!(holds("SUBSTRING(source, 0, 4) = 'Pump' AND INDEX_OF(source, '-') = 4 AND CONCAT(level, '!') = 'critical!'"));
    assert!(holds("ABS(-2) = 2 AND POWER(2, 3) = 8 AND SQUARE(3) = 9 AND CEILING(1.2) = 2 AND FLOOR(1.8) = 1 AND SIGN(-5) = -1 AND SQRT(16) = 4"));
    assert!(!holds("as_number(level) = 1"));
}

#[test]
fn projection_keeps_the_listed_fields_that_exist() {
    let q = parse("SELECT deviceId, connectionState, properties.reported.fw, tags.gone FROM devices").unwrap();
    assert_eq!(project(q.fields.as_deref(), twin()), json!({"deviceId": "dev-1", "connectionState": "Connected", "fw": "1.2.0"}));
    assert_eq!(project(None, twin()), twin());
}
