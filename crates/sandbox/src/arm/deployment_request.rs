//! A deployment request (`PUT`, `validate`, `whatIf`, or a nested deployment's `properties`)
//! turned into a checked template: the template inline or fetched from its link (a blob on the
//! sandbox's Azurite, `templateLink.uri`, or `relativePath` beside the parent's), the parameters
//! inline or from `parametersLink`, loaded and planned by the template engine. Refusals are ARM's:
//! InvalidTemplate with the line and column of the field, InvalidContentLink for a link it
//! cannot read.

use super::template::{locate, Loaded, Planned, Scope, TemplateError};
use crate::cloud::Cloud;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A refusal with ARM's full error object (`code`, `message`, `details`, `additionalInfo`).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub error: Value,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Refusal {
        Refusal { status, error: json!({"code": code, "message": message.into()}) }
    }

    pub fn bad(code: &str, message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// ARM's InvalidTemplate: the engine's message, with the line and column of `path` in `text`
    /// (the request, or the linked file the template came from).
    pub fn invalid_template(e: &TemplateError, text: &[u8], linked: bool) -> Refusal {
        // In a linked file the template is the whole document.
        let path_in_text =
            if linked { e.path.strip_prefix("properties.template").unwrap_or(&e.path).trim_start_matches('.').to_string() } else { e.path.clone() };
        let (line, column) = locate::line_and_column(text, &path_in_text);
        let message = e.message.replace("{position}", &format!(" at line '{line}' and column '{column}'"));
        Refusal {
            status: StatusCode::BAD_REQUEST,
            error: json!({
                "code": "InvalidTemplate",
                "message": format!("Deployment template validation failed: '{message}'."),
                "additionalInfo": [{"type": "TemplateViolation", "info": {"lineNumber": line, "linePosition": column, "path": e.path}}],
            }),
        }
    }
}

/// A template ready to deploy, with where it came from.
pub struct Prepared {
    pub loaded: Loaded,
    pub plan: Vec<Planned>,
    pub mode: String,
    /// The template as given or fetched (exportTemplate returns it).
    pub template: Value,
    /// `templateLink` as the deployment shows it, and the full URL (SAS included) its
    /// relativePath children resolve against.
    pub template_link: Option<Value>,
    pub base_uri: Option<String>,
    /// The text the template came in (the request, or the linked file), for error positions.
    pub text: Vec<u8>,
    pub linked: bool,
}

/// Reads a linked template or parameters file from the sandbox's blob storage.
async fn fetch(cloud: &Arc<Cloud>, uri: &str) -> Result<Vec<u8>, Refusal> {
    let unreadable = |why: String| {
        Refusal::bad(
            "InvalidContentLink",
            format!(
                "Unable to download deployment content from '{}': {why}. Please see https://aka.ms/arm-deploy for usage details.",
                uri.split('?').next().unwrap_or(uri)
            ),
        )
    };
    let url = url::Url::parse(uri).map_err(|e| unreadable(format!("not a URL ({e})")))?;
    if url.scheme() != "https" || !matches!(url.host_str(), Some("127.0.0.1" | "localhost")) {
        return Err(unreadable("the sandbox cloud reaches only its own blob storage (Azurite, https://127.0.0.1)".into()));
    }
    let azurite = cloud.azurite().map_err(unreadable)?;
    azurite.ready().await.map_err(unreadable)?;
    let http = reqwest::Client::builder().tls_backend_preconfigured((*azurite.tls).clone()).https_only(true).build().map_err(|e| unreadable(e.to_string()))?;
    let response = http.get(url).header("x-ms-version", crate::storage::VERSION).send().await.map_err(|e| unreadable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(unreadable(format!("the storage answered {}", response.status())));
    }
    Ok(response.bytes().await.map_err(|e| unreadable(e.to_string()))?.to_vec())
}

/// `templateLink` → the URL to read: `uri` (+ `queryString`), or `relativePath` beside the
/// parent's link, carrying the parent's query (its SAS), as ARM does.
fn link_url(link: &Value, parent: Option<&str>) -> Result<String, Refusal> {
    if let Some(relative) = link["relativePath"].as_str() {
        let parent = parent.ok_or_else(|| {
            Refusal::bad(
                "InvalidTemplateLink",
                "templateLink.relativePath can be used only in a nested deployment whose parent was deployed from a templateLink.uri.",
            )
        })?;
        let base = url::Url::parse(parent).map_err(|e| Refusal::bad("InvalidTemplateLink", format!("The parent's template link is not a URL: {e}")))?;
        let mut joined = base.join(relative).map_err(|e| Refusal::bad("InvalidTemplateLink", format!("relativePath '{relative}': {e}")))?;
        joined.set_query(base.query());
        return Ok(joined.to_string());
    }
    if link.get("id").is_some() && link.get("uri").is_none() {
        return Err(Refusal::bad("InvalidTemplateLink", "Template specs (templateLink.id) are not served by the sandbox cloud: link the template by uri."));
    }
    let uri =
        link["uri"].as_str().ok_or_else(|| Refusal::bad("InvalidTemplateLink", "templateLink needs a uri (or a relativePath in a nested deployment)."))?;
    Ok(match link["queryString"].as_str() {
        Some(q) if !uri.contains('?') => format!("{uri}?{}", q.trim_start_matches('?')),
        _ => uri.to_string(),
    })
}

fn parse_json(bytes: &[u8], what: &str) -> Result<Value, Refusal> {
    let strict = super::template::jsonc::to_json(bytes);
    let text = String::from_utf8_lossy(&strict);
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        Refusal::bad(
            "InvalidTemplate",
            format!("Deployment template parse failed: '{what} is not valid JSON: {e} (line {}, column {}).'.", e.line(), e.column()),
        )
    })
}

/// Checks and plans a deployment's `properties` (`raw` is the text they came in, for positions).
pub async fn prepare(cloud: &Arc<Cloud>, properties: &Value, raw: &[u8], scope: Scope, parent_uri: Option<&str>) -> Result<Prepared, Refusal> {
    let mode = match properties["mode"].as_str() {
        Some(m) if m.eq_ignore_ascii_case("incremental") => "Incremental",
        Some(m) if m.eq_ignore_ascii_case("complete") => "Complete",
        Some(m) => return Err(Refusal::bad("InvalidDeploymentMode", format!("The deployment mode '{m}' is not valid: use Incremental or Complete."))),
        None => return Err(Refusal::bad("InvalidRequestContent", "The request content was invalid: 'properties.mode' is required (Incremental or Complete).")),
    }
    .to_string();
    let (template, text, linked, link, base_uri) =
        match (properties.get("template").filter(|t| !t.is_null()), properties.get("templateLink").filter(|t| !t.is_null())) {
            (Some(_), Some(_)) => return Err(Refusal::bad("InvalidRequestContent", "A deployment takes either 'template' or 'templateLink', not both.")),
            (None, None) => return Err(Refusal::bad("InvalidRequestContent", "A deployment needs 'template' or 'templateLink'.")),
            (Some(t), None) => (t.clone(), raw.to_vec(), false, None, None),
            (None, Some(l)) => {
                let url = link_url(l, parent_uri)?;
                // Comments and trailing commas are read leniently, as ARM reads them.
                let bytes = super::template::jsonc::to_json(&fetch(cloud, &url).await?);
                let template = parse_json(&bytes, "The linked template")?;
                let mut shown = l.clone();
                shown["uri"] = json!(url.split('?').next().unwrap_or(&url));
                if let Some(v) = template["contentVersion"].as_str() {
                    shown["contentVersion"] = json!(v);
                }
                (template, bytes, true, Some(shown), Some(url))
            }
        };
    let parameters = match properties.get("parametersLink").filter(|p| !p.is_null()) {
        Some(link) => {
            let file = parse_json(&fetch(cloud, &link_url(link, parent_uri)?).await?, "The parameters file")?;
            file.get("parameters").cloned().unwrap_or(Value::Null)
        }
        None => properties.get("parameters").cloned().unwrap_or(Value::Null),
    };
    let mut scope = scope;
    scope.template_link = link.clone();
    let loaded = Loaded::load(&template, &parameters, scope)
        .map_err(|e| Refusal::invalid_template(&e, &text_for(&e, &text, raw, linked), linked && !e.path.starts_with("properties.parameters")))?;
    let plan = loaded.plan().map_err(|e| Refusal::invalid_template(&e, &text, linked))?;
    Ok(Prepared { loaded, plan, mode, template, template_link: link, base_uri, text, linked })
}

/// Parameter errors point into the request, template errors into the template's own text.
fn text_for(e: &TemplateError, template_text: &[u8], request: &[u8], linked: bool) -> Vec<u8> {
    if linked && e.path.starts_with("properties.parameters") {
        request.to_vec()
    } else {
        template_text.to_vec()
    }
}

/// Whether a value still holds an expression only the deployment can evaluate (`reference()`).
fn waits_on_deployment(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with('[') && s.ends_with(']') && !s.starts_with("[["),
        Value::Array(items) => items.iter().any(waits_on_deployment),
        Value::Object(map) => map.values().any(waits_on_deployment),
        _ => false,
    }
}

/// The resources a prepared deployment deploys, its nested deployments' included: each nested
/// template, inline or linked, is checked as its own deployment would be, so a broken one is
/// refused before anything is deployed. One whose parameters wait on `reference()` is checked
/// when it deploys, as ARM short-circuits it too.
pub fn expand<'a>(cloud: &'a Arc<Cloud>, prepared: &'a Prepared) -> Pin<Box<dyn Future<Output = Result<Vec<String>, Refusal>> + Send + 'a>> {
    Box::pin(async move {
        let mut ids = Vec::new();
        for p in prepared.plan.iter().filter(|p| p.condition) {
            ids.push(p.id.clone());
            if !p.is_deployment() {
                continue;
            }
            let properties = super::deployment_run::nested_properties(&prepared.loaded, p, &super::template::NoEnv)
                .map_err(|e| Refusal::invalid_template(&e, &prepared.text, prepared.linked))?;
            if waits_on_deployment(&properties["parameters"]) {
                continue;
            }
            let mut scope = prepared.loaded.scope.clone();
            scope.resource_group = p.resource_group.clone();
            scope.deployment_name = p.name.clone();
            let raw = serde_json::to_vec(&json!({"properties": properties})).unwrap_or_default();
            let inline = properties.get("template").is_some();
            let child = prepare(cloud, &properties, &raw, scope, prepared.base_uri.as_deref()).await.map_err(|r| nested(r, p, inline, prepared))?;
            ids.extend(expand(cloud, &child).await?);
        }
        Ok(ids)
    })
}

/// A nested deployment's refusal, said of the nested deployment; for an inline template, its
/// position is where the field is in the parent's text.
fn nested(mut r: Refusal, p: &Planned, inline: bool, parent: &Prepared) -> Refusal {
    let message = r.error["message"].as_str().unwrap_or_default().to_string();
    r.error["message"] = json!(format!("The nested deployment '{}' is not valid: {message}", p.name));
    if let (true, Some(path)) = (inline, r.error["additionalInfo"][0]["info"]["path"].as_str().map(str::to_string)) {
        let full = format!("{}.{path}", p.path);
        let in_text = if parent.linked { full.strip_prefix("properties.template.").unwrap_or(&full).to_string() } else { full.clone() };
        let (line, column) = locate::line_and_column(&parent.text, &in_text);
        r.error["additionalInfo"][0]["info"] = json!({"lineNumber": line, "linePosition": column, "path": full});
    }
    r
}
