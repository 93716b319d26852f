//! The template functions about resources and the deployment: resource IDs in the shapes ARM
//! builds them, `resourceGroup()`, `subscription()`, `deployment()`, `reference()` and `list*()`
//! (answered by the cloud through `Env`), and the deterministic `uniqueString()` and `guid()`.

use super::eval::{invalid, EvalError, Evaluator};
use super::expr::Expr;
use super::functions::{arity, text};
use serde_json::{json, Value};

/// Some(value) when `lower` is one of these functions, None when it is not.
pub fn call(ev: &Evaluator, lower: &str, name: &str, args: &[Expr]) -> Result<Option<Value>, EvalError> {
    let known = matches!(
        lower,
        "resourceid"
            | "subscriptionresourceid"
            | "extensionresourceid"
            | "tenantresourceid"
            | "resourcegroup"
            | "subscription"
            | "tenant"
            | "deployment"
            | "environment"
            | "reference"
            | "uniquestring"
            | "guid"
            | "newguid"
            | "utcnow"
            | "uri"
    ) || lower.starts_with("list");
    if !known {
        return Ok(None);
    }
    let v: Vec<Value> = args.iter().map(|a| ev.expr(a)).collect::<Result<_, _>>()?;
    let s = ev.scope;
    let strings = || v.iter().map(|x| text(x, name)).collect::<Result<Vec<_>, _>>();
    let result = match lower {
        "resourceid" => {
            arity(name, &v, 2, usize::MAX)?;
            let parts = strings()?;
            let at = parts
                .iter()
                .position(|p| p.contains('/'))
                .ok_or_else(|| invalid(format!("The template function '{name}' needs a resource type (Namespace/type).")))?;
            let (sub, group) = match at {
                0 => (s.subscription_id.clone(), s.resource_group.clone()),
                1 => (s.subscription_id.clone(), parts[0].clone()),
                2 => (parts[0].clone(), parts[1].clone()),
                _ => return Err(invalid(format!("The template function '{name}' takes at most a subscription and a resource group before the type."))),
            };
            Value::String(format!("/subscriptions/{sub}/resourceGroups/{group}/providers/{}", typed_names(name, &parts[at], &parts[at + 1..])?))
        }
        "subscriptionresourceid" => {
            arity(name, &v, 2, usize::MAX)?;
            let parts = strings()?;
            let (sub, rest) = if parts[0].contains('/') { (s.subscription_id.clone(), &parts[..]) } else { (parts[0].clone(), &parts[1..]) };
            Value::String(format!("/subscriptions/{sub}/providers/{}", typed_names(name, &rest[0], &rest[1..])?))
        }
        "tenantresourceid" => {
            arity(name, &v, 2, usize::MAX)?;
            let parts = strings()?;
            Value::String(format!("/providers/{}", typed_names(name, &parts[0], &parts[1..])?))
        }
        "extensionresourceid" => {
            arity(name, &v, 3, usize::MAX)?;
            let parts = strings()?;
            Value::String(format!("{}/providers/{}", parts[0].trim_end_matches('/'), typed_names(name, &parts[1], &parts[2..])?))
        }
        "resourcegroup" => json!({
            "id": format!("/subscriptions/{}/resourceGroups/{}", s.subscription_id, s.resource_group),
            "name": s.resource_group,
            "type": "Microsoft.Resources/resourceGroups",
            "location": s.location,
            "properties": {"provisioningState": "Succeeded"},
        }),
        "subscription" => json!({
            "id": format!("/subscriptions/{}", s.subscription_id),
            "subscriptionId": s.subscription_id,
            "tenantId": s.tenant_id,
            "displayName": s.subscription_name,
        }),
        "tenant" => json!({"tenantId": s.tenant_id, "countryCode": "US", "displayName": "Sandbox"}),
        "environment" => {
            json!({"name": "AzureCloud", "resourceManager": "https://management.azure.com/", "authentication": {"audiences": ["https://management.core.windows.net/", "https://management.azure.com/"]}})
        }
        "deployment" => {
            let mut properties = json!({"template": {"contentVersion": s.content_version}, "mode": "Incremental", "provisioningState": "Running"});
            if let Some(link) = &s.template_link {
                properties["templateLink"] = link.clone();
            }
            json!({"name": s.deployment_name, "properties": properties})
        }
        "reference" => {
            arity(name, &v, 1, 3)?;
            let target = text(&v[0], name)?;
            let full = v.get(2).and_then(Value::as_str).is_some_and(|f| f.eq_ignore_ascii_case("full"));
            let version = v.get(1).and_then(Value::as_str);
            ev.env.reference(&target, version, full)?
        }
        "uniquestring" => {
            arity(name, &v, 1, usize::MAX)?;
            Value::String(unique_string(&strings()?))
        }
        "guid" => {
            arity(name, &v, 1, usize::MAX)?;
            Value::String(guid(&strings()?.join("-")))
        }
        "newguid" => Value::String(guid(&format!("{}{}", crate::timestamps::now_rfc3339(), rand::random::<u64>()))),
        "utcnow" => Value::String(chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()),
        "uri" => {
            arity(name, &v, 2, 2)?;
            let base = url::Url::parse(&text(&v[0], name)?).map_err(|e| invalid(format!("The template function 'uri' got a base that is not a URI: {e}.")))?;
            Value::String(base.join(&text(&v[1], name)?).map_err(|e| invalid(format!("The template function 'uri': {e}.")))?.to_string())
        }
        _ => {
            // listKeys, listSecrets, list…: an action on a resource.
            arity(name, &v, 2, 3)?;
            ev.env.list(&text(&v[0], name)?, name, &text(&v[1], name)?)?
        }
    };
    Ok(Some(result))
}

/// `Namespace/t1/t2` with names `n1`, `n2` → `Namespace/t1/n1/t2/n2`; a name may hold several
/// (`parent/child`), as ARM allows.
fn typed_names(function: &str, resource_type: &str, names: &[String]) -> Result<String, EvalError> {
    let types: Vec<&str> = resource_type.trim_matches('/').split('/').collect();
    let names: Vec<&str> = names.iter().flat_map(|n| n.split('/')).collect();
    if types.len() < 2 || names.len() != types.len() - 1 {
        return Err(invalid(format!(
            "Unable to evaluate template language function '{function}': the type '{resource_type}' requires '{}' resource name argument(s), not {}. Please see https://aka.ms/arm-resourceid for usage details.",
            types.len().saturating_sub(1),
            names.len()
        )));
    }
    let mut out = types[0].to_string();
    for (t, n) in types[1..].iter().zip(names) {
        out.push_str(&format!("/{t}/{n}"));
    }
    Ok(out)
}

/// 13 characters of base32 from a 64-bit hash of the arguments: deterministic for the same
/// arguments, as ARM's is (the sandbox's hash is its own, so the strings differ from Azure's).
pub fn unique_string(parts: &[String]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(parts.join("-").as_bytes());
    let mut h = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default());
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    for _ in 0..13 {
        out.push(ALPHABET[(h >> 59) as usize] as char);
        h <<= 5;
    }
    out
}

/// ARM's `guid()`: a name-based (version 5, SHA-1) UUID in ARM's namespace.
pub fn guid(name: &str) -> String {
    const NAMESPACE: [u8; 16] = [0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30];
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&NAMESPACE);
    ctx.update(name.as_bytes());
    let digest = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
