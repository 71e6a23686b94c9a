//! Requests to routes: a pure function of the method, the path and the
//! query, so the fuzz target can throw any bytes at it. hyper has parsed
//! the HTTP already; what is ours is the path, percent-decoding, the ids
//! and `k`.

/// The longest user id accepted, in bytes after decoding.
pub const MAX_ID: usize = 256;
/// The longest path plus query accepted.
pub const MAX_TARGET: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Recommendations { user: String, k: Option<usize> },
    NextBestAction { user: String },
    Health,
    Ready,
    Metrics,
}

impl Route {
    /// The name requests are counted under.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Recommendations { .. } => "recommendations",
            Route::NextBestAction { .. } => "next_best_action",
            Route::Health => "healthz",
            Route::Ready => "readyz",
            Route::Metrics => "metrics",
        }
    }
}

/// Why a request has no route: the status and the words for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub message: String,
    /// For 405: the methods the path allows.
    pub allow: Option<&'static str>,
}

fn refuse(status: u16, error: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error,
        message: message.into(),
        allow: None,
    }
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn user_id(raw: &str) -> Result<String, Refusal> {
    let id = percent_decode(raw).ok_or_else(|| {
        refuse(
            400,
            "bad_user_id",
            "the user id has a bad percent-escape or is not UTF-8",
        )
    })?;
    if id.is_empty() {
        return Err(refuse(400, "bad_user_id", "the user id is empty"));
    }
    if id.len() > MAX_ID {
        return Err(refuse(
            400,
            "bad_user_id",
            format!(
                "the user id is {} bytes; at most {MAX_ID} are accepted",
                id.len()
            ),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(refuse(
            400,
            "bad_user_id",
            "the user id holds a control character",
        ));
    }
    Ok(id)
}

fn parse_k(query: Option<&str>) -> Result<Option<usize>, Refusal> {
    let mut k = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "k" => {
                let v = percent_decode(value).unwrap_or_default();
                let n: usize = v.parse().map_err(|_| {
                    refuse(
                        400,
                        "bad_k",
                        format!("k={v:?} is not a whole number; use 1 to 1000"),
                    )
                })?;
                if n == 0 || n > 1000 {
                    return Err(refuse(400, "bad_k", format!("k={n}: use 1 to 1000")));
                }
                k = Some(n);
            }
            _ => {
                return Err(refuse(
                    400,
                    "bad_query",
                    format!(
                        "unknown query parameter {:?}; the only one is k",
                        percent_decode(key).unwrap_or_else(|| key.to_string())
                    ),
                ));
            }
        }
    }
    Ok(k)
}

/// The route of a request, or why there is none.
pub fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, Refusal> {
    if path.len() + query.map_or(0, str::len) > MAX_TARGET {
        return Err(refuse(
            414,
            "uri_too_long",
            format!("the request target is over {MAX_TARGET} bytes"),
        ));
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let found = match parts.as_slice() {
        ["healthz"] => Ok(Route::Health),
        ["readyz"] => Ok(Route::Ready),
        ["metrics"] => Ok(Route::Metrics),
        ["v1", "users", id, "recommendations"] => Ok(Route::Recommendations {
            user: user_id(id)?,
            k: parse_k(query)?,
        }),
        ["v1", "users", id, "next-best-action"] => {
            if query.is_some_and(|q| !q.is_empty()) {
                return Err(refuse(
                    400,
                    "bad_query",
                    "next-best-action takes no query parameters",
                ));
            }
            Ok(Route::NextBestAction { user: user_id(id)? })
        }
        _ => Err(refuse(
            404,
            "not_found",
            "no such endpoint; try GET /v1/users/{id}/recommendations?k=10, GET /v1/users/{id}/next-best-action, /healthz, /readyz or /metrics",
        )),
    }?;
    if method != "GET" && method != "HEAD" {
        return Err(Refusal {
            status: 405,
            error: "method_not_allowed",
            message: format!("{method} is not allowed here; use GET"),
            allow: Some("GET, HEAD"),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("GET", "/v1/users/u%201/recommendations", Some("k=5")),
            Ok(Route::Recommendations {
                user: "u 1".into(),
                k: Some(5)
            })
        );
        assert_eq!(
            route("GET", "/v1/users/u1/recommendations", None),
            Ok(Route::Recommendations {
                user: "u1".into(),
                k: None
            })
        );
        assert_eq!(
            route("GET", "/v1/users/x/next-best-action", None),
            Ok(Route::NextBestAction { user: "x".into() })
        );
        assert_eq!(route("GET", "/healthz", None), Ok(Route::Health));
        assert_eq!(route("HEAD", "/readyz", None), Ok(Route::Ready));
    }

    #[test]
    fn refusals() {
        let status = |m: &str, p: &str, q: Option<&str>| route(m, p, q).unwrap_err().status;
        assert_eq!(status("GET", "/nope", None), 404);
        assert_eq!(status("POST", "/healthz", None), 405);
        assert_eq!(status("DELETE", "/v1/users/a/recommendations", None), 405);
        assert_eq!(
            status("GET", "/v1/users/a/recommendations", Some("k=0")),
            400
        );
        assert_eq!(
            status("GET", "/v1/users/a/recommendations", Some("k=-1")),
            400
        );
        assert_eq!(
            status("GET", "/v1/users/a/recommendations", Some("k=1001")),
            400
        );
        assert_eq!(
            status("GET", "/v1/users/a/recommendations", Some("k=ten")),
            400
        );
        assert_eq!(
            status("GET", "/v1/users/a/recommendations", Some("x=1")),
            400
        );
        assert_eq!(status("GET", "/v1/users/%ff/recommendations", None), 400);
        assert_eq!(status("GET", "/v1/users/%zz/recommendations", None), 400);
        assert_eq!(status("GET", "/v1/users/%0a/recommendations", None), 400);
        assert_eq!(status("GET", "/v1/users//recommendations", None), 400);
        let long = "a".repeat(300);
        assert_eq!(
            status("GET", &format!("/v1/users/{long}/recommendations"), None),
            400
        );
        let huge = "a".repeat(3000);
        assert_eq!(
            status("GET", &format!("/v1/users/{huge}/recommendations"), None),
            414
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%C3"), None);
    }
}
