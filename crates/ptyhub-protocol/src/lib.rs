//! ptyhub's wire types: the JSON shapes of the HTTP API and the WebSocket
//! framings (`ptyhub.v1`, raw, `tty`) as pure encode/decode functions, with
//! no I/O, so that they can be property-tested and fuzzed.
