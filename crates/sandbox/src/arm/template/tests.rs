//! The template engine on its own: expressions and functions, copy loops, conditions,
//! dependsOn order, cycles, parameter checks, outputs with reference().

use super::eval::{Eval, EvalError};
use super::{Env, Loaded, NoEnv, Scope};
use serde_json::{json, Value};

fn scope() -> Scope {
    Scope {
        subscription_id: "sub-1".into(),
        subscription_name: "Prod".into(),
        tenant_id: "tenant-1".into(),
        resource_group: "rg-a".into(),
        location: "westeurope".into(),
        deployment_name: "dep".into(),
        ..Scope::default()
    }
}

fn template(parameters: Value, variables: Value, resources: Value, outputs: Value) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "variables": variables,
        "resources": resources,
        "outputs": outputs,
    })
}

/// The value of one expression in a template with these parameters and variables.
fn eval(expression: &str, parameters: Value, supplied: Value, variables: Value) -> Eval {
    let loaded = Loaded::load(&template(parameters, variables, json!([]), json!({})), &supplied, scope()).map_err(|e| EvalError::Invalid(e.message))?;
    loaded.evaluator(&NoEnv).string(expression)
}

fn value(expression: &str) -> Value {
    eval(expression, json!({}), json!({}), json!({})).unwrap_or_else(|e| panic!("{expression}: {e:?}"))
}

#[test]
fn string_functions_evaluate_as_arm_documents_them() {
    assert_eq!(value("[concat('a', 'b', string(3))]"), json!("ab3"));
    assert_eq!(value("[format('{0}-{1}-{{x}}', 'hub', 2)]"), json!("hub-2-{x}"));
    assert_eq!(value("[toLower('ABC')]"), json!("abc"));
    assert_eq!(value("[toUpper('abc')]"), json!("ABC"));
    assert_eq!(value("[replace('a-b-c', '-', '.')]"), json!("a.b.c"));
    assert_eq!(value("[split('a,b;c', createArray(',', ';'))]"), json!(["a", "b", "c"]));
    assert_eq!(value("[string(true())]"), json!("True"));
    assert!(eval("[string(true)]", json!({}), json!({}), json!({})).is_err(), "ARM has true(), not a bare true");
    assert_eq!(value("[string(createObject('a', 1))]"), json!("{\"a\":1}"));
    assert_eq!(value("[int('42')]"), json!(42));
    assert_eq!(value("[bool('TRUE')]"), json!(true));
    assert_eq!(value("[json('{\"x\": [1, 2]}').x[1]]"), json!(2));
    assert_eq!(value("[[not an expression]"), json!("[not an expression]"));
    assert_eq!(value("plain text"), json!("plain text"));
}

#[test]
fn logic_and_collections() {
    assert_eq!(value("[if(equals(1, 1), 'yes', 'no')]"), json!("yes"));
    assert_eq!(value("[and(true(), not(false()), or(false(), true()))]"), json!(true));
    assert_eq!(value("[empty('')]"), json!(true));
    assert_eq!(value("[empty(createArray(1))]"), json!(false));
    assert_eq!(value("[length(createArray(1, 2, 3))]"), json!(3));
    assert_eq!(value("[union(createObject('a', 1), createObject('b', 2))]"), json!({"a": 1, "b": 2}));
    assert_eq!(value("[union(createArray(1, 2), createArray(2, 3))]"), json!([1, 2, 3]));
    assert_eq!(value("[contains(createArray('x', 'y'), 'y')]"), json!(true));
    assert_eq!(value("[contains(createObject('Key', 1), 'key')]"), json!(true));
    assert_eq!(value("[coalesce(null(), null(), 'third')]"), json!("third"));
    assert_eq!(value("[first(createArray(7, 8))]"), json!(7));
    assert_eq!(value("[last('abc')]"), json!("c"));
    assert_eq!(value("[take(range(0, 5), 2)]"), json!([0, 1]));
    assert_eq!(value("[skip(range(1, 4), 3)]"), json!([4]));
    assert_eq!(value("[concat(createArray(1), createArray(2))]"), json!([1, 2]));
    // `if` evaluates only the branch it takes.
    assert_eq!(value("[if(false(), parameters('missing'), 'safe')]"), json!("safe"));
}

#[test]
fn resource_ids_and_the_deployments_scope() {
    assert_eq!(
        value("[resourceId('Microsoft.Devices/IotHubs', 'hub1')]"),
        json!("/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Devices/IotHubs/hub1")
    );
    assert_eq!(
        value("[resourceId('other-rg', 'Microsoft.IoTOperations/instances/brokers', 'inst', 'default')]"),
        json!("/subscriptions/sub-1/resourceGroups/other-rg/providers/Microsoft.IoTOperations/instances/inst/brokers/default")
    );
    assert_eq!(
        value("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r1')]"),
        json!("/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/r1")
    );
    assert_eq!(
        value("[extensionResourceId(resourceId('Microsoft.Kubernetes/connectedClusters', 'c1'), 'Microsoft.KubernetesConfiguration/extensions', 'iot-ops')]"),
        json!("/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Kubernetes/connectedClusters/c1/providers/Microsoft.KubernetesConfiguration/extensions/iot-ops")
    );
    assert_eq!(value("[resourceGroup().location]"), json!("westeurope"));
    assert_eq!(value("[subscription().subscriptionId]"), json!("sub-1"));
    assert_eq!(value("[deployment().name]"), json!("dep"));
    let refused = eval("[resourceId('Microsoft.Devices/IotHubs/certificates', 'hub1')]", json!({}), json!({}), json!({})).unwrap_err();
    assert!(matches!(refused, EvalError::Invalid(m) if m.contains("requires '2' resource name argument(s)")));
}

#[test]
fn unique_string_and_guid_are_deterministic() {
    let a = value("[uniqueString(resourceGroup().id, 'x')]");
    assert_eq!(a, value("[uniqueString(resourceGroup().id, 'x')]"));
    assert_ne!(a, value("[uniqueString(resourceGroup().id, 'y')]"));
    assert_eq!(a.as_str().unwrap().len(), 13);
    let g = value("[guid('a', 'b')]");
    let g = g.as_str().unwrap();
    assert_eq!((g.len(), &g[14..15], g == value("[guid('a', 'b')]").as_str().unwrap()), (36, "5", true), "a version-5 GUID: {g}");
}

#[test]
fn parameters_and_variables_with_defaults_and_nesting() {
    let parameters = json!({"prefix": {"type": "string", "defaultValue": "[toLower('CONTOSO')]"}, "count": {"type": "int", "defaultValue": 2}});
    let variables = json!({"name": "[concat(parameters('prefix'), '-', variables('suffix'))]", "suffix": "[string(parameters('count'))]"});
    assert_eq!(eval("[variables('name')]", parameters.clone(), json!({}), variables.clone()).unwrap(), json!("contoso-2"));
    assert_eq!(eval("[variables('name')]", parameters, json!({"count": {"value": 5}}), variables).unwrap(), json!("contoso-5"));
    let looped = eval("[variables('a')]", json!({}), json!({}), json!({"a": "[variables('b')]", "b": "[variables('a')]"}));
    assert!(matches!(looped, Err(EvalError::Invalid(m)) if m.contains("refers to itself")), "a loop among variables is refused");
    let copied =
        eval("[variables('disks')]", json!({}), json!({}), json!({"copy": [{"name": "disks", "count": 2, "input": {"lun": "[copyIndex('disks', 10)]"}}]}))
            .unwrap();
    assert_eq!(copied, json!([{"lun": 10}, {"lun": 11}]));
}

#[test]
fn a_parameter_of_the_wrong_type_is_refused_naming_it() {
    let declared = json!({"count": {"type": "int"}, "name": {"type": "string", "minLength": 3, "maxLength": 5}, "sku": {"type": "string", "allowedValues": ["S1", "S2"]}, "units": {"type": "int", "minValue": 1, "maxValue": 10}, "flags": {"type": "object"}, "list": {"type": "array"}, "on": {"type": "bool"}});
    let ok = json!({"count": {"value": 1}, "name": {"value": "abcd"}, "sku": {"value": "S1"}, "units": {"value": 3}, "flags": {"value": {}}, "list": {"value": []}, "on": {"value": true}});
    let t = template(declared, json!({}), json!([]), json!({}));
    assert!(Loaded::load(&t, &ok, scope()).is_ok());
    let with = |name: &str, v: Value| {
        let mut p = ok.clone();
        p[name] = json!({"value": v});
        Loaded::load(&t, &p, scope()).err().unwrap_or_else(|| panic!("{name}={v} should be refused"))
    };
    let e = with("count", json!("three"));
    assert!(e.message.contains("'count'") && e.message.contains("Expected 'Integer'. Actual 'String'"), "{}", e.message);
    assert_eq!(e.path, "properties.parameters.count.value");
    assert!(with("on", json!("yes")).message.contains("Expected 'Boolean'"));
    assert!(with("flags", json!([])).message.contains("Expected 'Object'. Actual 'Array'"));
    assert!(with("list", json!({})).message.contains("Expected 'Array'"));
    assert!(with("sku", json!("S9")).message.contains("not part of the allowed value(s): 'S1,S2'"));
    assert!(with("units", json!(11)).message.contains("greater than the maximum value of '10'"));
    assert!(with("units", json!(0)).message.contains("less than the minimum value of '1'"));
    assert!(with("name", json!("ab")).message.contains("less than the minimum length of '3'"));
    assert!(with("name", json!("abcdef")).message.contains("greater than the maximum length of '5'"));
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("sku");
    let e = Loaded::load(&t, &missing, scope()).err().unwrap();
    assert!(e.message.contains("The value for the template parameter 'sku'") && e.message.contains("{position}"), "{}", e.message);
    let mut extra = ok.clone();
    extra["nope"] = json!({"value": 1});
    assert!(Loaded::load(&t, &extra, scope()).err().unwrap().message.contains("'nope'"));
}

fn resource(name: &str, extra: Value) -> Value {
    let mut r = json!({"type": "Microsoft.IoTOperations/instances", "apiVersion": "2025-04-01", "name": name, "location": "[resourceGroup().location]", "properties": {}});
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn plan_names(resources: Value, supplied: Value, parameters: Value) -> Result<Vec<String>, String> {
    let loaded = Loaded::load(&template(parameters, json!({}), resources, json!({})), &supplied, scope()).map_err(|e| e.message)?;
    loaded.plan().map(|p| p.iter().filter(|r| r.condition).map(|r| r.name.clone()).collect()).map_err(|e| format!("{} @ {}", e.message, e.path))
}

#[test]
fn depends_on_orders_resources_by_id_name_and_copy_loop() {
    let resources = json!([
        resource("c", json!({"dependsOn": ["[resourceId('Microsoft.IoTOperations/instances', 'b')]"]})),
        resource("b", json!({"dependsOn": ["loop"]})),
        resource("[concat('a', copyIndex())]", json!({"copy": {"name": "loop", "count": 2}})),
        resource("d", json!({"dependsOn": ["c"]})),
    ]);
    assert_eq!(plan_names(resources, json!({}), json!({})).unwrap(), ["a0", "a1", "b", "c", "d"]);
}

#[test]
fn a_dependency_cycle_or_an_unknown_dependency_is_invalid() {
    let cycle = json!([resource("x", json!({"dependsOn": ["y"]})), resource("y", json!({"dependsOn": ["z"]})), resource("z", json!({"dependsOn": ["x"]}))]);
    let e = plan_names(cycle, json!({}), json!({})).unwrap_err();
    assert!(e.contains("Circular dependency detected on resource") && e.contains("Microsoft.IoTOperations/instances/"), "{e}");
    let unknown = json!([resource("x", json!({"dependsOn": ["[resourceId('Microsoft.Storage/storageAccounts', 'ghost')]"]}))]);
    let e = plan_names(unknown, json!({}), json!({})).unwrap_err();
    assert!(e.contains("storageAccounts/ghost' is not defined in the template") && e.contains("resources[0].dependsOn"), "{e}");
}

#[test]
fn copy_loops_and_conditions_expand_with_parameters() {
    let parameters = json!({"n": {"type": "int"}, "withExtra": {"type": "bool", "defaultValue": false}});
    let resources = json!([
        resource("[format('asset-{0}', copyIndex(1))]", json!({"copy": {"name": "assets", "count": "[parameters('n')]"}})),
        resource("extra", json!({"condition": "[parameters('withExtra')]"})),
    ]);
    assert_eq!(plan_names(resources.clone(), json!({"n": {"value": 3}}), parameters.clone()).unwrap(), ["asset-1", "asset-2", "asset-3"]);
    assert_eq!(plan_names(resources, json!({"n": {"value": 0}, "withExtra": {"value": true}}), parameters).unwrap(), ["extra"]);
}

#[test]
fn child_resources_and_segment_counts() {
    let resources = json!([{
        "type": "Microsoft.IoTOperations/instances", "apiVersion": "2025-04-01", "name": "inst", "properties": {},
        "resources": [{"type": "brokers", "apiVersion": "2025-04-01", "name": "default", "properties": {}}],
    }]);
    let loaded = Loaded::load(&template(json!({}), json!({}), resources, json!({})), &json!({}), scope()).unwrap();
    let plan = loaded.plan().unwrap();
    assert_eq!(plan[1].id, "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.IoTOperations/instances/inst/brokers/default");
    assert_eq!(plan[1].depends_on, vec![0], "a child declared in its parent deploys after it");
    let wrong = json!([{"type": "Microsoft.IoTOperations/instances/brokers", "apiVersion": "2025-04-01", "name": "only-one"}]);
    assert!(plan_names(wrong, json!({}), json!({})).unwrap_err().contains("incorrect segment lengths"));
    let no_version = json!([{"type": "Microsoft.IoTOperations/instances", "name": "x"}]);
    assert!(plan_names(no_version, json!({}), json!({})).unwrap_err().contains("Required property 'apiVersion'"));
}

/// A cloud with one hub, answering reference() and listKeys().
struct OneHub;

impl Env for OneHub {
    fn reference(&self, target: &str, _: Option<&str>, full: bool) -> Eval {
        if !target.ends_with("/IotHubs/hub1") && target != "hub1" {
            return Err(EvalError::Invalid(format!("no {target}")));
        }
        let body = json!({"id": "/x/IotHubs/hub1", "properties": {"hostName": "localhost:1234"}});
        Ok(if full { body } else { body["properties"].clone() })
    }
    fn list(&self, _: &str, action: &str, _: &str) -> Eval {
        assert_eq!(action, "listKeys");
        Ok(json!({"value": [{"keyName": "iothubowner", "primaryKey": "k1"}]}))
    }
}

#[test]
fn bodies_and_outputs_use_what_the_cloud_answers_and_keep_deferred_expressions_for_validation() {
    let resources = json!([resource(
        "user",
        json!({"properties": {"hub": "[reference(resourceId('Microsoft.Devices/IotHubs', 'hub1'), '2023-06-30').hostName]", "copy": [{"name": "ports", "count": 2, "input": "[add(8883, copyIndex('ports'))]"}]}})
    )]);
    let outputs = json!({
        "host": {"type": "string", "value": "[reference('hub1').hostName]"},
        "key": {"type": "securestring", "value": "[listKeys(resourceId('Microsoft.Devices/IotHubs', 'hub1'), '2023-06-30').value[0].primaryKey]"},
        "names": {"type": "array", "copy": {"count": 2, "input": "[concat('n', copyIndex())]"}},
        "skipped": {"type": "string", "condition": "[equals(1, 2)]", "value": "x"},
    });
    let loaded = Loaded::load(&template(json!({}), json!({}), resources, outputs), &json!({}), scope()).unwrap();
    let plan = loaded.plan().unwrap();
    let validated = loaded.body(&plan[0], &NoEnv).unwrap();
    assert!(validated["properties"]["hub"].as_str().unwrap().starts_with("[reference("), "kept as written: {validated}");
    let deployed = loaded.body(&plan[0], &OneHub).unwrap();
    assert_eq!(deployed["properties"], json!({"hub": "localhost:1234", "ports": [8883, 8884]}));
    assert_eq!(deployed["location"], json!("westeurope"));
    let out = loaded.outputs(&OneHub).unwrap();
    assert_eq!(out["host"], json!({"type": "String", "value": "localhost:1234"}));
    assert_eq!(out["key"], json!({"type": "SecureString"}), "a secure output's value is never shown");
    assert_eq!(out["names"]["value"], json!(["n0", "n1"]));
    assert!(out.get("skipped").is_none());
}

#[test]
fn malformed_templates_are_refused_with_the_path() {
    let no_schema = json!({"contentVersion": "1.0.0.0", "resources": []});
    assert!(Loaded::load(&no_schema, &json!({}), scope()).err().unwrap().message.contains("'$schema'"));
    let bad_fn = template(json!({}), json!({"v": "[nosuchfunction(1)]"}), json!([]), json!({}));
    let e = Loaded::load(&bad_fn, &json!({}), scope()).err().unwrap();
    assert!(e.message.contains("'nosuchfunction' is not valid") && e.path == "properties.template.variables.v", "{e:?}");
    let unparsable = template(json!({}), json!({"v": "[concat('a']"}), json!([]), json!({}));
    assert!(Loaded::load(&unparsable, &json!({}), scope()).err().unwrap().message.contains("Unable to parse language expression"));
}

#[test]
fn shown_parameters_hide_secure_values() {
    let declared = json!({"password": {"type": "securestring"}, "name": {"type": "string"}});
    let loaded =
        Loaded::load(&template(declared, json!({}), json!([]), json!({})), &json!({"password": {"value": "s3cret"}, "name": {"value": "n"}}), scope()).unwrap();
    let shown = loaded.shown_parameters();
    assert_eq!(shown["password"], json!({"type": "SecureString"}));
    assert_eq!(shown["name"], json!({"type": "String", "value": "n"}));
    assert!(!shown.to_string().contains("s3cret"));
}

#[test]
fn a_reference_to_a_resource_of_the_template_orders_it_first() {
    let resources = json!([
        resource(
            "user",
            json!({"properties": {"host": "[reference(resourceId('Microsoft.IoTOperations/instances', 'made')).host]", "outside": "[reference('/subscriptions/x/resourceGroups/y/providers/A/b/c').v]"}})
        ),
        resource("made", json!({})),
    ]);
    assert_eq!(plan_names(resources, json!({}), json!({})).unwrap(), ["made", "user"], "a reference outside the template adds nothing");
}
