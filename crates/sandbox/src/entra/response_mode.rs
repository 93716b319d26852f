//! How `/authorize` hands its answer (a code, or an error) back to the app: Entra's three
//! `response_mode`s. `query` (the default for `response_type=code`) and `fragment` redirect with the
//! parameters in the query or after `#`; `form_post` answers a page whose form posts them to the
//! redirect URI at once, as Entra does — what msal's desktop sign-in asks for, since its loopback
//! listener takes only a POST. The OpenID configuration advertises exactly `SUPPORTED`.

use super::errors::AadError;
use axum::response::{Html, IntoResponse, Redirect, Response};
use url::Url;

pub const SUPPORTED: &[&str] = &["query", "fragment", "form_post"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    /// The mode asked for; none means `query`. An unknown mode is Entra's AADSTS70007.
    pub fn parse(asked: Option<&str>) -> Result<ResponseMode, AadError> {
        match asked.unwrap_or("query") {
            "query" => Ok(ResponseMode::Query),
            "fragment" => Ok(ResponseMode::Fragment),
            "form_post" => Ok(ResponseMode::FormPost),
            other => Err(AadError::bad_request(
                "invalid_request",
                70007,
                format!("'{other}' is not a supported value of 'response_mode' when requesting a token. Supported values: query, fragment, form_post."),
            )),
        }
    }

    /// The answer that takes `params` to `redirect_uri` (already checked against the registration).
    pub fn deliver(self, redirect_uri: &str, params: &[(&str, &str)]) -> Response {
        let mut url = Url::parse(redirect_uri).expect("redirect URI was validated");
        match self {
            ResponseMode::Query => {
                url.query_pairs_mut().extend_pairs(params);
                Redirect::to(url.as_str()).into_response()
            }
            ResponseMode::Fragment => {
                let fragment = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
                url.set_fragment(Some(&fragment));
                Redirect::to(url.as_str()).into_response()
            }
            ResponseMode::FormPost => Html(form_post(url.as_str(), params)).into_response(),
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Entra's own form_post page: hidden fields, a submit button for browsers without scripts, and
/// the one line of script that posts it.
fn form_post(action: &str, params: &[(&str, &str)]) -> String {
    let fields: String = params.iter().map(|(name, value)| format!(r#"<input type="hidden" name="{}" value="{}" />"#, esc(name), esc(value))).collect();
    format!(
        r#"<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="{}">{fields}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form><script language="javascript">document.forms[0].submit();</script></body></html>"#,
        esc(action)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};

    fn location(response: &Response) -> String {
        response.headers()[header::LOCATION].to_str().unwrap().to_string()
    }

    #[test]
    fn query_is_the_default_and_unknown_modes_are_aadsts70007() {
        assert_eq!(ResponseMode::parse(None).unwrap(), ResponseMode::Query);
        assert_eq!(ResponseMode::parse(Some("form_post")).unwrap(), ResponseMode::FormPost);
        assert_eq!(ResponseMode::parse(Some("fragment")).unwrap(), ResponseMode::Fragment);
        assert_eq!(ResponseMode::parse(Some("post")).unwrap_err().code, 70007);
    }

    #[test]
    fn query_and_fragment_redirect_with_the_parameters_where_asked() {
        let params = [("code", "c&1"), ("state", "s 1")];
        let query = ResponseMode::Query.deliver("http://localhost:3000/cb", &params);
        assert_eq!(query.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&query), "http://localhost:3000/cb?code=c%261&state=s+1");
        let fragment = ResponseMode::Fragment.deliver("http://localhost:3000/cb", &params);
        assert_eq!(location(&fragment), "http://localhost:3000/cb#code=c%261&state=s+1");
    }

    #[test]
    fn form_post_is_a_page_whose_form_posts_the_escaped_parameters_to_the_redirect_uri() {
        let html = form_post("http://localhost:3000/", &[("code", "c\"1"), ("state", "<s>")]);
        assert!(html.contains(r#"<form method="POST" name="hiddenform" action="http://localhost:3000/">"#), "{html}");
        assert!(html.contains(r#"<input type="hidden" name="code" value="c&quot;1" />"#), "{html}");
        assert!(html.contains(r#"name="state" value="&lt;s&gt;""#) && html.contains("document.forms[0].submit()"), "{html}");
    }
}
