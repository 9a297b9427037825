//! Property tests: every decoder survives any input, and every message
//! survives an encode/decode round trip.

use std::collections::BTreeMap;

use proptest::prelude::*;
use ptyhub_protocol::api::{
    self, CreateSessionRequest, ErrorDetail, ExitInfo, ExitReason, ResizePolicy, Resources,
    SessionInfo, SessionStatus,
};
use ptyhub_protocol::tty::{self, AuthMessage, TtyClientMessage, TtyServerMessage};
use ptyhub_protocol::v1::{self, ClientMessage, ServerEvent};
use serde_json::Value;

/// Text that looks enough like JSON to reach serde's deeper paths.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"[{}\[\]":,\\ a-z0-9.\-]{0,64}"#,
        r#"\{"type":"(input|resize|signal|pause|ping|command|status|hello|exit|lagged)"[ -~]{0,40}"#,
    ]
}

/// Finite floats that serde_json writes and reads back exactly.
fn float() -> impl Strategy<Value = f64> {
    (0u32..100_000_000).prop_map(|n| f64::from(n) / 100.0)
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(any::<String>())
}

fn status() -> impl Strategy<Value = SessionStatus> {
    prop_oneof![
        Just(SessionStatus::Starting),
        Just(SessionStatus::Active),
        Just(SessionStatus::Idle),
        Just(SessionStatus::Exited),
        Just(SessionStatus::Terminated),
        Just(SessionStatus::Error),
    ]
}

fn exit_info() -> impl Strategy<Value = ExitInfo> {
    let reason = prop_oneof![
        Just(ExitReason::Exited),
        Just(ExitReason::Deleted),
        Just(ExitReason::IdleTimeout),
        Just(ExitReason::Lifetime),
        Just(ExitReason::MemoryLimit),
        Just(ExitReason::CpuLimit),
        Just(ExitReason::ProcessLimit),
        Just(ExitReason::GuardLost),
        Just(ExitReason::NodeLost),
        Just(ExitReason::Shutdown),
    ];
    (any::<Option<i32>>(), opt_string(), reason).prop_map(|(code, signal, reason)| ExitInfo {
        code,
        signal,
        reason,
    })
}

fn resize_policy() -> impl Strategy<Value = ResizePolicy> {
    prop_oneof![
        Just(ResizePolicy::Latest),
        Just(ResizePolicy::Smallest),
        Just(ResizePolicy::Largest),
        Just(ResizePolicy::Fixed),
    ]
}

fn resources() -> impl Strategy<Value = Resources> {
    (any::<u64>(), float(), float(), any::<u64>(), any::<u64>()).prop_map(
        |(rss_bytes, cpu_seconds, cpu_percent, threads, processes)| Resources {
            rss_bytes,
            cpu_seconds,
            cpu_percent,
            threads,
            processes,
            program_started_at: None,
            sampled_at: Some("2026-11-25T18:00:00Z".to_owned()),
        },
    )
}

fn session() -> impl Strategy<Value = SessionInfo> {
    let ids = (
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        opt_string(),
        proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        opt_string(),
        proptest::collection::vec(any::<String>(), 0..4),
        any::<String>(),
    );
    let state = (
        any::<Option<i32>>(),
        status(),
        proptest::option::of(exit_info()),
        any::<String>(),
        opt_string(),
        opt_string(),
    );
    let terminal = (
        any::<u16>(),
        any::<u16>(),
        resize_policy(),
        any::<u32>(),
        resources(),
        opt_string(),
    );
    (ids, state, terminal).prop_map(
        |(
            (id, name, labels, provider, command, cwd),
            (pid, status, exit, created_at, last_input_at, last_output_at),
            (cols, rows, resize_policy, clients, resources, title),
        )| SessionInfo {
            id,
            name,
            labels,
            provider,
            command,
            cwd,
            pid,
            status,
            exit,
            created_at,
            last_input_at,
            last_output_at,
            cols,
            rows,
            resize_policy,
            clients,
            bytes_in: u64::from(clients) * 7,
            bytes_out: u64::from(cols) << 20,
            resources,
            node: title.clone().map(|t| format!("node-{}", t.len())),
            title,
            agent: Default::default(),
            recording: None,
        },
    )
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        any::<String>().prop_map(|data| ClientMessage::Input { data }),
        (any::<u32>(), any::<u32>()).prop_map(|(cols, rows)| ClientMessage::Resize { cols, rows }),
        any::<String>().prop_map(|signal| ClientMessage::Signal { signal }),
        Just(ClientMessage::Pause),
        Just(ClientMessage::Resume),
        Just(ClientMessage::Ping),
        any::<String>().prop_map(|content| ClientMessage::Command { content }),
        Just(ClientMessage::Interrupt),
        Just(ClientMessage::Status),
    ]
}

fn server_event() -> impl Strategy<Value = ServerEvent> {
    prop_oneof![
        (
            session(),
            any::<bool>(),
            any::<u64>(),
            any::<bool>(),
            any::<u64>()
        )
            .prop_map(|(session, readonly, offset, resumed, snapshot_bytes)| {
                ServerEvent::Hello {
                    session,
                    readonly,
                    offset,
                    resumed,
                    snapshot_bytes,
                }
            }),
        (any::<u16>(), any::<u16>()).prop_map(|(cols, rows)| ServerEvent::Resize { cols, rows }),
        any::<String>().prop_map(|title| ServerEvent::Title { title }),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(dropped_bytes, offset, snapshot_bytes)| ServerEvent::Lagged {
                dropped_bytes,
                offset,
                snapshot_bytes,
            }
        ),
        exit_info().prop_map(|exit| ServerEvent::Exit { exit }),
        (any::<String>(), any::<String>()).prop_map(|(code, message)| ServerEvent::Error {
            error: ErrorDetail::new(code, message),
        }),
        Just(ServerEvent::Pong),
        session().prop_map(|session| ServerEvent::Status { session }),
    ]
}

/// JSON values without floats (those need not round-trip bit for bit).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn tty_client_message() -> impl Strategy<Value = TtyClientMessage> {
    prop_oneof![
        any::<Vec<u8>>().prop_map(|data| TtyClientMessage::Input { data }),
        (any::<u32>(), any::<u32>())
            .prop_map(|(columns, rows)| TtyClientMessage::Resize { columns, rows }),
        Just(TtyClientMessage::Pause),
        Just(TtyClientMessage::Resume),
    ]
}

fn tty_server_message() -> impl Strategy<Value = TtyServerMessage> {
    prop_oneof![
        any::<Vec<u8>>().prop_map(|data| TtyServerMessage::Output { data }),
        any::<String>().prop_map(|title| TtyServerMessage::Title { title }),
        json_value().prop_map(|preferences| TtyServerMessage::Preferences { preferences }),
    ]
}

proptest! {
    #[test]
    fn decoders_never_panic_on_text(text in jsonish()) {
        let _ = v1::decode_client(&text);
        let _ = v1::decode_event(&text);
        let _ = tty::decode_auth(text.as_bytes());
        let _ = api::decode_body::<CreateSessionRequest>(text.as_bytes());
        let _ = api::decode_body::<api::ResizeRequest>(text.as_bytes());
    }

    #[test]
    fn decoders_never_panic_on_bytes(bytes in any::<Vec<u8>>(), prefix in b'0'..=b'4') {
        let _ = tty::decode_auth(&bytes);
        let _ = tty::decode_client(&bytes);
        let _ = tty::decode_server(&bytes);
        let _ = api::decode_body::<api::WaitRequest>(&bytes);
        let mut framed = vec![prefix];
        framed.extend_from_slice(&bytes);
        let _ = tty::decode_client(&framed);
        let _ = tty::decode_server(&framed);
    }

    #[test]
    fn client_message_round_trips(message in client_message()) {
        let text = v1::encode_client(&message);
        prop_assert_eq!(v1::decode_client(&text), Ok(message));
    }

    #[test]
    fn client_message_with_an_extra_field_is_refused(
        message in client_message(),
        key in "[a-z_]{1,12}",
    ) {
        let mut value: Value = serde_json::from_str(&v1::encode_client(&message)).unwrap();
        let object = value.as_object_mut().unwrap();
        prop_assume!(!object.contains_key(&key));
        object.insert(key, Value::from(1));
        prop_assert!(v1::decode_client(&value.to_string()).is_err());
    }

    #[test]
    fn server_event_round_trips(event in server_event()) {
        let text = v1::encode_event(&event);
        prop_assert_eq!(v1::decode_event(&text), Ok(event));
    }

    #[test]
    fn tty_client_message_round_trips(message in tty_client_message()) {
        let frame = tty::encode_client(&message);
        prop_assert_eq!(tty::decode_client(&frame), Ok(message));
    }

    #[test]
    fn tty_server_message_round_trips(message in tty_server_message()) {
        let frame = tty::encode_server(&message);
        prop_assert_eq!(tty::decode_server(&frame), Ok(message));
    }

    #[test]
    fn tty_auth_round_trips(
        auth_token in opt_string(),
        columns in any::<u32>(),
        rows in any::<u32>(),
    ) {
        let auth = AuthMessage { auth_token, columns, rows };
        prop_assert_eq!(tty::decode_auth(&tty::encode_auth(&auth)), Ok(auth));
    }

    #[test]
    fn create_request_round_trips(
        provider in opt_string(),
        command in proptest::option::of(proptest::collection::vec(any::<String>(), 0..3)),
        env in proptest::option::of(
            proptest::collection::btree_map(any::<String>(), any::<String>(), 0..3)
        ),
        cols in any::<Option<u32>>(),
        resize_policy in proptest::option::of(resize_policy()),
    ) {
        let request = CreateSessionRequest {
            provider,
            command,
            env,
            cols,
            resize_policy,
            labels: Some(BTreeMap::new()),
            ..CreateSessionRequest::default()
        };
        let text = serde_json::to_vec(&request).unwrap();
        prop_assert_eq!(api::decode_body::<CreateSessionRequest>(&text), Ok(request));
    }
}
