//! Sessions: one program in a PTY read once, its server-side screen, its
//! byte-offset scrollback and the bounded fan-out to its clients; the
//! registry that owns them. No HTTP here.
