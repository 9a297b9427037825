//! ptyhub's HTTP API and WebSocket attach on warp: routes, auth and origin
//! checks, the WebSocket client loops, the embedded web assets, metrics.
