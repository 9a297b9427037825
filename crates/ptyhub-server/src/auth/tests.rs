//! Tests of the auth policy: tokens, hosts, origins, cookies and the login page.

use super::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn generated_tokens_are_long_hex_and_differ() {
    let a = generate_token().unwrap();
    let b = generate_token().unwrap();
    assert_eq!(a.len(), 64);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(a, b);
    assert!(token_is_well_formed(&a));
}

#[test]
fn constant_time_compare() {
    assert!(tokens_equal(b"abc", b"abc"));
    assert!(tokens_equal(b"", b""));
    assert!(!tokens_equal(b"abc", b"abd"));
    assert!(!tokens_equal(b"abc", b"ab"));
    assert!(!tokens_equal(b"ab", b"abc"));
    assert!(!tokens_equal(b"", b"a"));
    // A prefix padded with what the loop reads past the end is no match.
    assert!(!tokens_equal(b"abc\0", b"abc"));
}

#[test]
fn well_formed_tokens() {
    assert!(token_is_well_formed("abc-DEF_123.~+/="));
    for bad in ["", "a b", "a;b", "a,b", "a\"b", "a\\b", "é", "a\nb"] {
        assert!(!token_is_well_formed(bad), "{bad:?}");
    }
}

#[test]
fn bearer_header() {
    assert_eq!(token_from_authorization("Bearer abc"), Some("abc"));
    assert_eq!(token_from_authorization("bearer   abc "), Some("abc"));
    assert_eq!(token_from_authorization("BEARER abc"), Some("abc"));
    assert_eq!(token_from_authorization("Basic abc"), None);
    assert_eq!(token_from_authorization("Bearer"), None);
    assert_eq!(token_from_authorization("Bearer "), None);
    assert_eq!(token_from_authorization("abc"), None);
}

#[test]
fn query_tokens_are_decoded() {
    let all = |q| tokens_from_query(q).collect::<Vec<_>>();
    assert_eq!(all("token=abc"), ["abc"]);
    assert_eq!(all("cols=80&token=a%2Bb%3D&rows=24"), ["a+b="]);
    assert_eq!(all("token=a&token=b"), ["a", "b"]);
    assert_eq!(all("tok%65n=x"), ["x"]);
    assert!(all("tokens=abc&xtoken=1&token").is_empty());
    assert!(all("token=%zz").is_empty());
    assert!(all("").is_empty());
}

#[test]
fn cookie_tokens() {
    let all = |c| tokens_from_cookie(c).collect::<Vec<_>>();
    assert_eq!(all("ptyhub_login=abc"), ["abc"]);
    assert_eq!(all("a=1; ptyhub_login=abc; b=2"), ["abc"]);
    assert_eq!(all("ptyhub_login=old;ptyhub_login=new"), ["old", "new"]);
    assert_eq!(all("ptyhub_login=\"abc\""), ["abc"]);
    assert!(all("xptyhub_login=abc; ptyhub_logins=abc").is_empty());
    assert_eq!(
        set_cookie_value("t0k", false),
        format!(
            "ptyhub_login=t0k; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
            LOGIN_TTL.as_secs()
        )
    );
    assert_eq!(
        set_cookie_value("t0k", true),
        format!(
            "ptyhub_login=t0k; HttpOnly; SameSite=Strict; Path=/; Max-Age={}; Secure",
            LOGIN_TTL.as_secs()
        )
    );
    assert!(clear_cookie_value(true).ends_with("Max-Age=0; Secure"));
    assert!(clear_cookie_value(false).ends_with("Max-Age=0"));
}

#[test]
fn percent_coding_round_trips() {
    let raw = "a+b/c=d&e f%";
    assert_eq!(percent_encode(raw), "a%2Bb%2Fc%3Dd%26e%20f%25");
    assert_eq!(percent_decode(&percent_encode(raw)).as_deref(), Some(raw));
    assert_eq!(percent_decode("a+b").as_deref(), Some("a b"));
    assert_eq!(percent_decode("%4"), None);
    assert_eq!(percent_decode("%ff"), None);
}

#[test]
fn origins_parse_and_normalise() {
    let o = parse_origin("HTTP://LocalHost:7681").unwrap();
    assert_eq!(o.to_string(), "http://localhost:7681");
    assert_eq!(
        normalize_origin("https://dev.example.com").as_deref(),
        Some("https://dev.example.com:443")
    );
    assert_eq!(
        normalize_origin("http://example.com/").as_deref(),
        Some("http://example.com:80")
    );
    assert_eq!(
        normalize_origin("http://[::1]:8080").as_deref(),
        Some("http://[::1]:8080")
    );
    assert_eq!(
        normalize_origin("http://[::FFFF:7f00:1]").as_deref(),
        Some("http://[::ffff:7f00:1]:80")
    );
    for bad in [
        "null",
        "",
        "example.com",
        "ftp://example.com",
        "http://",
        "http://example.com/path",
        "http://example.com?x",
        "http://user@example.com",
        "http://localhost:7681@evil",
        "http://127.0.0.1:7681.evil.com",
        "http://example.com:",
        "http://example.com:99999",
        "http://example.com:-1",
        "http://[::1",
        "http://[nope]:80",
        "http://ex ample.com",
        "http://example.com:80:80",
    ] {
        assert_eq!(parse_origin(bad), None, "{bad:?}");
    }
}

#[test]
fn origin_check_against_own_origin() {
    let none: &[String] = &[];
    let host = Some("127.0.0.1:7681");
    assert!(origin_allowed("http://127.0.0.1:7681", host, "http", none));
    assert!(!origin_allowed("http://127.0.0.1:7682", host, "http", none));
    assert!(!origin_allowed(
        "https://127.0.0.1:7681",
        host,
        "http",
        none
    ));
    assert!(!origin_allowed("http://localhost:7681", host, "http", none));
    assert!(!origin_allowed(
        "http://127.0.0.1:7681.evil.com",
        host,
        "http",
        none
    ));
    assert!(!origin_allowed(
        "http://localhost:7681@evil",
        Some("localhost:7681"),
        "http",
        none
    ));
    assert!(!origin_allowed("null", host, "http", none));
    assert!(!origin_allowed("http://evil.com", host, "http", none));
    assert!(!origin_allowed("http://127.0.0.1:7681", None, "http", none));
    // Case and default ports.
    assert!(origin_allowed(
        "http://LOCALHOST:7681",
        Some("localhost:7681"),
        "http",
        none
    ));
    assert!(origin_allowed(
        "http://localhost:7681",
        Some("LocalHost:7681"),
        "http",
        none
    ));
    assert!(origin_allowed(
        "http://example.com",
        Some("example.com"),
        "http",
        none
    ));
    assert!(origin_allowed(
        "http://example.com:80",
        Some("example.com"),
        "http",
        none
    ));
    assert!(origin_allowed(
        "http://example.com",
        Some("example.com:80"),
        "http",
        none
    ));
    assert!(!origin_allowed(
        "http://example.com",
        Some("example.com:8080"),
        "http",
        none
    ));
    assert!(origin_allowed(
        "https://example.com",
        Some("example.com"),
        "https",
        none
    ));
    // IPv6.
    assert!(origin_allowed(
        "http://[::1]:7681",
        Some("[::1]:7681"),
        "http",
        none
    ));
    assert!(!origin_allowed(
        "http://[::1]:7681",
        Some("[::2]:7681"),
        "http",
        none
    ));
    // A Host header that is not a host does not make an own origin.
    assert!(!origin_allowed("http://a@b", Some("a@b"), "http", none));
}

#[test]
fn origin_check_against_allowed_origins() {
    let allowed = vec![normalize_origin("https://dev.example.com").unwrap()];
    let host = Some("127.0.0.1:7681");
    assert!(origin_allowed(
        "https://dev.example.com",
        host,
        "http",
        &allowed
    ));
    assert!(origin_allowed(
        "https://DEV.example.com:443",
        host,
        "http",
        &allowed
    ));
    assert!(!origin_allowed(
        "http://dev.example.com",
        host,
        "http",
        &allowed
    ));
    assert!(!origin_allowed(
        "https://dev.example.com:8443",
        host,
        "http",
        &allowed
    ));
    assert!(!origin_allowed(
        "https://dev.example.com.evil.com",
        host,
        "http",
        &allowed
    ));
    assert!(!origin_allowed(
        "https://evil.dev.example.com",
        host,
        "http",
        &allowed
    ));
}

#[test]
fn host_check_on_loopback() {
    let none: &[String] = &[];
    for ok in [
        "localhost",
        "localhost:7681",
        "LOCALHOST:1",
        "127.0.0.1",
        "127.0.0.1:7681",
        "[::1]",
        "[::1]:7681",
    ] {
        assert!(host_allowed(Some(ok), true, none), "{ok:?}");
    }
    for bad in [
        "evil.com",
        "evil.com:7681",
        "localhost.evil.com",
        "127.0.0.1.nip.io",
        "localhost:7681@evil",
        "127.0.0.1:7681.evil.com",
        "[::2]:7681",
        "",
        "localhost:",
        "localhost:x",
    ] {
        assert!(!host_allowed(Some(bad), true, none), "{bad:?}");
    }
    assert!(!host_allowed(None, true, none));
    let allowed = s(&["dev.box"]);
    assert!(host_allowed(Some("dev.box:7681"), true, &allowed));
    assert!(host_allowed(Some("DEV.BOX"), true, &allowed));
    assert!(!host_allowed(Some("dev.box.evil"), true, &allowed));
    // Off loopback every host passes; the token guards.
    assert!(host_allowed(Some("anything.example"), false, none));
    assert!(host_allowed(None, false, none));
}

#[test]
fn hosts_normalise() {
    assert_eq!(normalize_host("Dev.Box:7681").as_deref(), Some("dev.box"));
    assert_eq!(normalize_host("[::1]").as_deref(), Some("[::1]"));
    assert_eq!(normalize_host("http://x"), None);
    assert_eq!(normalize_host("a b"), None);
}

fn policy(token: Option<&str>) -> AuthPolicy {
    let options = Options {
        allowed_origins: vec!["https://dev.example.com:443".into()],
        ..Options::default()
    };
    AuthPolicy::new(&options, token.map(str::to_owned))
}

fn req<'a>() -> RequestAuth<'a> {
    RequestAuth {
        host: Some("127.0.0.1:7681"),
        ..RequestAuth::default()
    }
}

#[test]
fn authorize_finds_the_token_anywhere() {
    let p = policy(Some("sekrit"));
    let bearer = RequestAuth {
        authorization: Some("Bearer sekrit"),
        ..req()
    };
    assert_eq!(
        p.authorize(&bearer).unwrap().source,
        Some(CredentialSource::Bearer)
    );
    let query = RequestAuth {
        query: Some("token=sekrit"),
        ..req()
    };
    assert_eq!(
        p.authorize(&query).unwrap().source,
        Some(CredentialSource::Query)
    );
    let login = format!("ptyhub_login={}", p.logins().create().unwrap());
    let cookie = RequestAuth {
        cookie: Some(&login),
        ..req()
    };
    assert_eq!(
        p.authorize(&cookie).unwrap().source,
        Some(CredentialSource::Cookie)
    );
    // The token itself is no login: a browser never holds it.
    let token_cookie = RequestAuth {
        cookie: Some("ptyhub_login=sekrit"),
        ..req()
    };
    assert!(matches!(
        p.authorize(&token_cookie),
        Err(ApiError::Unauthorized)
    ));
    // A revoked login is refused.
    p.logins().revoke(login.trim_start_matches("ptyhub_login="));
    assert!(matches!(p.authorize(&cookie), Err(ApiError::Unauthorized)));
    // A stale cookie next to a good query token.
    let both = RequestAuth {
        cookie: Some("ptyhub_login=old"),
        query: Some("token=sekrit"),
        ..req()
    };
    assert_eq!(
        p.authorize(&both).unwrap().source,
        Some(CredentialSource::Query)
    );
}

#[test]
fn authorize_refuses() {
    let p = policy(Some("sekrit"));
    assert!(matches!(p.authorize(&req()), Err(ApiError::Unauthorized)));
    let wrong = RequestAuth {
        authorization: Some("Bearer sekrit2"),
        query: Some("token=sekri"),
        cookie: Some("ptyhub_login=x"),
        ..req()
    };
    assert!(matches!(p.authorize(&wrong), Err(ApiError::Unauthorized)));
    // DNS rebinding: right token, wrong Host.
    let rebound = RequestAuth {
        host: Some("evil.com:7681"),
        authorization: Some("Bearer sekrit"),
        ..req()
    };
    let err = p.authorize(&rebound).unwrap_err();
    assert_eq!(err.code(), "forbidden_host");
    // Cross-site: right cookie, foreign Origin.
    let login = format!("ptyhub_login={}", p.logins().create().unwrap());
    let cross = RequestAuth {
        origin: Some("http://evil.com"),
        cookie: Some(&login),
        websocket: true,
        ..req()
    };
    assert_eq!(p.authorize(&cross).unwrap_err().code(), "forbidden_origin");
    let null = RequestAuth {
        origin: Some("null"),
        authorization: Some("Bearer sekrit"),
        ..req()
    };
    assert_eq!(p.authorize(&null).unwrap_err().code(), "forbidden_origin");
}

#[test]
fn websocket_without_origin_needs_more_than_a_cookie() {
    let p = policy(Some("sekrit"));
    let login = format!("ptyhub_login={}", p.logins().create().unwrap());
    let cookie_only = RequestAuth {
        cookie: Some(&login),
        websocket: true,
        ..req()
    };
    assert!(matches!(
        p.authorize(&cookie_only),
        Err(ApiError::Unauthorized)
    ));
    let same_origin = RequestAuth {
        origin: Some("http://127.0.0.1:7681"),
        ..cookie_only
    };
    assert!(p.authorize(&same_origin).is_ok());
    let allowed_origin = RequestAuth {
        origin: Some("https://dev.example.com"),
        ..cookie_only
    };
    assert!(p.authorize(&allowed_origin).is_ok());
    let with_query = RequestAuth {
        query: Some("token=sekrit"),
        ..cookie_only
    };
    assert!(p.authorize(&with_query).is_ok());
}

#[test]
fn no_auth_still_checks_host_and_origin() {
    let p = policy(None);
    assert_eq!(p.authorize(&req()).unwrap(), AuthInfo { source: None });
    let rebound = RequestAuth {
        host: Some("evil.com"),
        ..req()
    };
    assert!(p.authorize(&rebound).is_err());
    let cross = RequestAuth {
        origin: Some("http://evil.com"),
        ..req()
    };
    assert!(p.authorize(&cross).is_err());
}

#[test]
fn debug_hides_the_token() {
    let text = format!("{:?}", policy(Some("sekrit")));
    assert!(!text.contains("sekrit"), "{text}");
}

#[tokio::test]
async fn warp_filter() {
    let policy = Arc::new(policy(Some("sekrit")));
    let login = format!("ptyhub_login={}", policy.logins().create().unwrap());
    let filter = with_auth(policy).map(|info: AuthInfo| format!("{:?}", info.source));
    let ok = warp::test::request()
        .path("/x?token=sekrit")
        .header("host", "localhost:7681")
        .filter(&filter)
        .await
        .unwrap();
    assert_eq!(ok, "Some(Query)");
    let ok = warp::test::request()
        .path("/x")
        .header("host", "localhost:7681")
        .header("cookie", "a=b")
        .header("cookie", &login)
        .filter(&filter)
        .await
        .unwrap();
    assert_eq!(ok, "Some(Cookie)");
    let ws_cookie_only = warp::test::request()
        .path("/x")
        .header("host", "localhost:7681")
        .header("upgrade", "websocket")
        .header("cookie", &login)
        .filter(&filter)
        .await
        .unwrap_err();
    assert!(matches!(
        ws_cookie_only.find::<ApiError>(),
        Some(ApiError::Unauthorized)
    ));

    let reply = warp::test::request()
        .path("/x")
        .header("host", "evil.com")
        .header("authorization", "Bearer sekrit")
        .reply(&filter.recover(crate::error::recover))
        .await;
    assert_eq!(reply.status(), 403);
    let body: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
    assert_eq!(body["error"]["code"], "forbidden_host");
}
