//! Lists that come a page at a time, read the same way for every service: ARM and IoT Central put
//! the next page's URL in the body (`nextLink`); IoT Hub and DPS queries answer with an
//! `x-ms-continuation` header that goes back as a request header. Every next link is a URL the
//! service chose, so it passes the cloud's allow-list like any other request, and it must stay on
//! the host of the list's first request (`request::same_host`): the credential goes nowhere else.
//! A list stops after `MAX_PAGES` pages: a service that keeps sending new links never ends it.
//!
//! A pager resumes: after any page, `continuation()` gives a `PageToken` (the next link, or the
//! continuation header's value) that a wizard keeps in its journal checkpoint, and `Pager::resume`
//! starts again from it, so a listing of 100,000 devices interrupted at page 80 does not start over.
//! A token is never a secret: a next link that carries a signature is refused as a token (see
//! `continuation`), and a resumed link passes the allow-list and the same-host rule (against the
//! first request the resumed pager is given, not against anything in the token) before it is followed.

use crate::auth::Credential;
use crate::error::AzureError;
use crate::pipeline::Pipeline;
use crate::request::{with_api_version, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;
use url::Url;

/// How a service says there is more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuation {
    /// `{"value": [...], "nextLink": "https://…"}`: GET the link.
    NextLink,
    /// A JSON array, and `x-ms-continuation` in the response headers: send the same request again
    /// with that header.
    Header,
}

const CONTINUATION: &str = "x-ms-continuation";

/// Pages one pager reads at most: 10 million items at 100 a page, ten times the largest fleet a
/// Central app or hub holds. A service past it is going round in a loop of fresh links, which the
/// check for a link back to the same page cannot see.
pub const MAX_PAGES: usize = 100_000;

/// Where a list stopped, to read the rest later: the next page's link as the service gave it (ARM,
/// Central), or the `x-ms-continuation` value to send back (hub and DPS queries). Serialised as
/// `{"nextLink": "…"}` or `{"continuation": "…"}` for journal checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PageToken {
    NextLink(String),
    Continuation(String),
}

/// What to read next: a request ready to go, or a link still to be checked (checked when it is
/// followed, so the page that carried it is delivered first).
enum Next {
    Request(Request),
    Link { after: Request, link: String },
}

#[derive(Deserialize)]
struct LinkedPage<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "nextLink", alias = "@odata.nextLink")]
    next_link: Option<String>,
}

pub struct Pager<T> {
    pipeline: Pipeline,
    credential: Arc<dyn Credential>,
    next: Option<Next>,
    style: Continuation,
    /// What the items are, in words, for decode errors ("Central devices").
    items: &'static str,
    pages: usize,
    max_pages: usize,
    /// The list's first request: every next link must stay on its host.
    started: Url,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pager<T> {
    pub fn new(pipeline: Pipeline, credential: Arc<dyn Credential>, first: Request, style: Continuation, items: &'static str) -> Pager<T> {
        let started = first.url.clone();
        Pager { pipeline, credential, next: Some(Next::Request(first)), style, items, pages: 0, max_pages: MAX_PAGES, started, _items: PhantomData }
    }

    /// Reads at most `max` pages (`MAX_PAGES` unless told).
    pub fn with_max_pages(mut self, max: usize) -> Pager<T> {
        self.max_pages = max;
        self
    }

    /// A pager that reads what is left of a list from `token` (taken by `continuation()` from a
    /// pager built with the same `first` request and `style`, maybe in another process).
    pub fn resume(
        pipeline: Pipeline,
        credential: Arc<dyn Credential>,
        first: Request,
        style: Continuation,
        items: &'static str,
        token: &PageToken,
    ) -> Result<Pager<T>, AzureError> {
        Pager::new(pipeline, credential, first, style, items).resumed_from(token)
    }

    /// This pager, not yet read, moved on to where `token` stopped: for a list a typed client
    /// builds (`central.devices()?.resumed_from(&token)?`).
    pub fn resumed_from(mut self, token: &PageToken) -> Result<Pager<T>, AzureError> {
        let Some(Next::Request(first)) = self.next.take().filter(|_| self.pages == 0) else {
            return Err(AzureError::InvalidInput { what: format!("This list of {}", self.items), problem: "was already read; resume a new one".into() });
        };
        let next = match (self.style, token) {
            // The link is checked (allow-list, api-version) when it is followed, as any other.
            (Continuation::NextLink, PageToken::NextLink(link)) => Next::Link { after: first, link: link.clone() },
            (Continuation::Header, PageToken::Continuation(value)) => Next::Request(first.header(CONTINUATION, value)?),
            _ => {
                return Err(AzureError::InvalidInput {
                    what: format!("The saved place in the list of {}", self.items),
                    problem: "was taken from a list paged another way".into(),
                })
            }
        };
        self.next = Some(next);
        Ok(self)
    }

    /// Where to resume: the place of the next page to read. `None` before the first page of a list
    /// read from its start (start anew) and once the last page was read (nothing is left; `pages()`
    /// tells which); a resumed pager gives its token back until it reads on. A next link that
    /// carries a signature or key (a SAS `sig`, a `code`…) is an error, never a token: it would put
    /// a secret in the journal. No service paged here sends one (ARM and Central links hold a
    /// `$skiptoken` cursor); such a list is read again from its start instead.
    pub fn continuation(&self) -> Result<Option<PageToken>, AzureError> {
        match &self.next {
            None => Ok(None),
            Some(Next::Link { after, link }) => {
                // Saved whole: a relative link means nothing without the page that carried it.
                let url = self.link_url(after, link)?;
                if crate::redact::carries_secret(&url) {
                    return Err(AzureError::InvalidInput {
                        what: format!("The next page's link in the list of {}", self.items),
                        problem: "carries a signature, which is never saved; read the list again from its start".into(),
                    });
                }
                Ok(Some(PageToken::NextLink(url.to_string())))
            }
            // The first request of a list carries no continuation; every later one does.
            Some(Next::Request(request)) => {
                Ok(request.headers.iter().find(|(n, _)| n == CONTINUATION).and_then(|(_, v)| v.to_str().ok()).map(|v| PageToken::Continuation(v.to_string())))
            }
        }
    }

    /// Pages read so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The next page's items, `None` once the list is done.
    pub async fn next_page(&mut self) -> Option<Result<Vec<T>, AzureError>> {
        if let Some(Next::Request(Request { service, .. }) | Next::Link { after: Request { service, .. }, .. }) = &self.next {
            if self.pages >= self.max_pages {
                // The place is kept, so `continuation()` still says where the list stopped.
                return Some(Err(self.endless(*service)));
            }
        }
        let request = match self.next.take()? {
            Next::Request(request) => request,
            Next::Link { after, link } => match self.follow(&after, &link) {
                Ok(request) => request,
                Err(e) => return Some(Err(e)),
            },
        };
        Some(self.read(request).await)
    }

    async fn read(&mut self, request: Request) -> Result<Vec<T>, AzureError> {
        let response = self.pipeline.send(&request, Some(self.credential.as_ref())).await?;
        self.pages += 1;
        let expected = format!("a page of {}", self.items);
        match self.style {
            Continuation::NextLink => {
                let page: LinkedPage<T> = response.json(&expected)?;
                if let Some(link) = page.next_link.filter(|l| !l.is_empty()) {
                    self.next = Some(Next::Link { after: request, link });
                }
                Ok(page.value)
            }
            Continuation::Header => {
                let items: Vec<T> = response.json(&expected)?;
                if let Some(token) = response.header(CONTINUATION).filter(|t| !t.is_empty()) {
                    if request.headers.iter().any(|(n, v)| n == CONTINUATION && v.to_str().ok() == Some(token)) {
                        return Err(self.stuck(request.service));
                    }
                    self.next = Some(Next::Request(request.clone().header(CONTINUATION, token)?));
                }
                Ok(items)
            }
        }
    }

    /// The request for a `nextLink`: checked against the allow-list, and keeping the api-version
    /// when the service left it out.
    fn follow(&self, current: &Request, link: &str) -> Result<Request, AzureError> {
        let url = self.link_url(current, link)?;
        self.pipeline.cloud().allows(&url)?;
        crate::request::same_host(&self.started, &url, &format!("The next page's link in the list of {}", self.items))?;
        if url == current.url {
            return Err(self.stuck(current.service));
        }
        let version = current.url.query_pairs().find(|(k, _)| k == "api-version").map(|(_, v)| v.into_owned());
        let url = match version {
            Some(v) if !has_param(&url, "api-version") => with_api_version(url, &v),
            _ => url,
        };
        Ok(Request::get(current.service, current.operation, url).partition(current.partition.clone()))
    }

    /// A next link made absolute against the request whose page carried it.
    fn link_url(&self, current: &Request, link: &str) -> Result<Url, AzureError> {
        current.url.join(link).map_err(|e| AzureError::Decode {
            service: current.service,
            expected: format!("a nextLink URL in a page of {}", self.items),
            detail: e.to_string(),
        })
    }

    fn endless(&self, service: crate::cloud::Service) -> AzureError {
        AzureError::Decode {
            service,
            expected: format!("a list of {} that ends within {} pages", self.items, self.max_pages),
            detail: "the service kept sending a next page".into(),
        }
    }

    fn stuck(&self, service: crate::cloud::Service) -> AzureError {
        AzureError::Decode {
            service,
            expected: format!("a next page of {} that moves on", self.items),
            detail: "the service pointed back at the page it just sent".into(),
        }
    }

    /// Every item of every page.
    pub async fn all(mut self) -> Result<Vec<T>, AzureError> {
        let mut items = Vec::new();
        while let Some(page) = self.next_page().await {
            items.extend(page?);
        }
        Ok(items)
    }
}

fn has_param(url: &Url, name: &str) -> bool {
    url.query_pairs().any(|(k, _)| k == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_place_reads_plainly_in_a_checkpoint_and_round_trips() {
        for (token, json) in [
            (
                PageToken::NextLink("https://x.azureiotcentral.com/api/devices?$skiptoken=100".into()),
                r#"{"nextLink":"https://x.azureiotcentral.com/api/devices?$skiptoken=100"}"#,
            ),
            (PageToken::Continuation("eyJhZnRlciI6ImQtMyJ9".into()), r#"{"continuation":"eyJhZnRlciI6ImQtMyJ9"}"#),
        ] {
            assert_eq!(serde_json::to_string(&token).unwrap(), json);
            assert_eq!(serde_json::from_str::<PageToken>(json).unwrap(), token);
        }
    }
}
