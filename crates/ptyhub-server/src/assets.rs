//! The web UI, embedded at compile time from the committed bundle in
//! `web/dist` (so `cargo build` needs neither Node nor network), and the
//! static login page.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its bytes.
    pub body: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// `index.html`: the dashboard, the terminal view and the replay page
/// (routed in the page).
pub const INDEX: Asset = Asset {
    body: include_bytes!("../../../web/dist/index.html"),
    content_type: "text/html; charset=utf-8",
};

/// The bundle's hash: the assets' ETag.
pub const HASH: &str = include_str!("../../../web/dist/HASH");

/// `/assets/<name>`.
pub fn asset(name: &str) -> Option<Asset> {
    match name {
        "app.js" => Some(Asset {
            body: include_bytes!("../../../web/dist/assets/app.js"),
            content_type: "text/javascript; charset=utf-8",
        }),
        // asciinema-player (npm), imported by app.js on the replay page
        // only.
        "player.js" => Some(Asset {
            body: include_bytes!("../../../web/dist/assets/player.js"),
            content_type: "text/javascript; charset=utf-8",
        }),
        "app.css" => Some(Asset {
            body: include_bytes!("../../../web/dist/assets/app.css"),
            content_type: "text/css; charset=utf-8",
        }),
        _ => None,
    }
}

/// The page `/` answers without a valid token: how to log in, no data, no
/// script.
pub const LOGIN: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ptyhub: sign in</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#0f1115;color:#e6e6e6;display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}
main{background:#181b22;border:1px solid #2a2f3a;border-radius:10px;padding:28px 32px;max-width:420px}
h1{font-size:20px;margin:0 0 8px}p{color:#a9b0bc;line-height:1.5}
input{width:100%;box-sizing:border-box;padding:9px 10px;border-radius:6px;border:1px solid #3a4150;background:#0f1115;color:#e6e6e6;font-family:ui-monospace,monospace}
button{margin-top:12px;padding:9px 16px;border:0;border-radius:6px;background:#3b82f6;color:white;font-weight:600;cursor:pointer}
code{background:#0f1115;padding:1px 5px;border-radius:4px}
</style></head>
<body><main>
<h1>ptyhub</h1>
<p>This server needs its access token. Open the URL that <code>ptyhub serve</code> printed, or paste the token here.</p>
<form method="get" action="/"><input name="token" type="password" placeholder="token" autocomplete="off" autofocus><button type="submit">Sign in</button></form>
</main></body></html>
"#;
