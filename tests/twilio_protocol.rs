//! Twilio Media Streams messages, request signatures and TwiML
//! (`consentline::protocol::twilio`).
//!
//! Fixtures in `tests/fixtures/twilio/` have the exact shapes of Twilio's reference messages
//! (protocols.md §1.2, §1.3). `cargo test --release --test twilio_protocol -- --nocapture`
//! prints the cost of parsing and decoding one media message.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// ---------------------------------------------------------------------------------------
// A counting allocator, per thread (tests run in parallel).

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Everything lives in `protocol` so that `cargo test --test twilio_protocol --lib protocol`
/// selects it.
mod protocol {
    use super::allocations;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use consentline::protocol::twilio::{
        self, decode_payload, parse, parse_outbound, parse_outbound_for, sim, Dtmf, Inbound, Mark,
        Media, Outbound, ProtocolError, Start, Stop, Track,
    };
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use std::collections::BTreeMap;
    use std::hint::black_box;
    use std::time::Instant;

    // ---------------------------------------------------------------------------------------
    // Fixtures.

    const STREAM: &str = "MZ18ad3ab5a668481ce02b83e7395059f0";
    const CALL: &str = "CA9d2f7c1e4b8a6d3f0e5c2b9a8d7e6f5c";
    const ACCOUNT: &str = "AC3f1e0c6a9b2d4e8f7a6b5c4d3e2f1a0b";

    const CONNECTED: &str = include_str!("fixtures/twilio/connected.json");
    const START: &str = include_str!("fixtures/twilio/start.json");
    const MEDIA: &str = include_str!("fixtures/twilio/media.json");
    const MEDIA_DOC: &str = include_str!("fixtures/twilio/media-doc-example.json");
    const DTMF: &str = include_str!("fixtures/twilio/dtmf.json");
    const MARK: &str = include_str!("fixtures/twilio/mark.json");
    const STOP: &str = include_str!("fixtures/twilio/stop.json");
    const OUT_MEDIA: &str = include_str!("fixtures/twilio/outbound-media.json");
    const OUT_MARK: &str = include_str!("fixtures/twilio/outbound-mark.json");
    const OUT_CLEAR: &str = include_str!("fixtures/twilio/outbound-clear.json");

    const INBOUND: [&str; 6] = [CONNECTED, START, MEDIA, DTMF, MARK, STOP];
    const OUTBOUND: [&str; 3] = [OUT_MEDIA, OUT_MARK, OUT_CLEAR];

    /// The fixture's payload: 20 ms of a 440 Hz tone in μ-law.
    const PAYLOAD: &str = "/87Aure3ur/M809BOzg3Oj5La9HCu7i3ub7J5lRDPDg3OT1IYNfEvLi3ub3H3VpGPDg3ODxGWt3Hvbm3uLzE12BIPTk3ODxDVObJvrm3uLvC0WtLPjo3ODtBT/PMv7q3t7rAzv9OQDo3Nzo/THPPwbu4t7q+y+tRQjs4Nzk+SWbUw7y4t7m9yOBXRDw4Nzk9R13axry4t7i8xtpdRz05Nw==";

    fn tone() -> Vec<u8> {
        STANDARD.decode(PAYLOAD).unwrap()
    }

    /// `text` with the value at JSON pointer `at` replaced (`Some`) or removed (`None`).
    fn edit(text: &str, at: &str, value: Option<Value>) -> String {
        let mut v: Value = serde_json::from_str(text).unwrap();
        let (parent, key) = at.rsplit_once('/').unwrap();
        let parent = v.pointer_mut(parent).unwrap();
        match (parent, value) {
            (Value::Object(map), Some(value)) => {
                map.insert(key.to_owned(), value);
            }
            (Value::Object(map), None) => {
                map.remove(key);
            }
            (Value::Array(items), Some(value)) => items[key.parse::<usize>().unwrap()] = value,
            (Value::Array(items), None) => {
                items.remove(key.parse::<usize>().unwrap());
            }
            _ => panic!("{at} is not inside an object or array"),
        }
        serde_json::to_string(&v).unwrap()
    }

    fn set(text: &str, at: &str, value: Value) -> String {
        edit(text, at, Some(value))
    }

    fn remove(text: &str, at: &str) -> String {
        edit(text, at, None)
    }

    fn err(text: &str) -> ProtocolError {
        match parse(text) {
            Ok(m) => panic!("accepted {text}: {m:?}"),
            Err(e) => {
                assert!(e.to_string().len() <= ProtocolError::MAX_DISPLAY_LEN, "{e}");
                e
            }
        }
    }

    fn out_err(text: &str) -> ProtocolError {
        match parse_outbound(text) {
            Ok(m) => panic!("accepted {text}: {m:?}"),
            Err(e) => {
                assert!(e.to_string().len() <= ProtocolError::MAX_DISPLAY_LEN, "{e}");
                e
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Every inbound message type, from Twilio's reference shapes.

    #[test]
    fn connected_fixture() {
        assert_eq!(
            parse(CONNECTED),
            Ok(Inbound::Connected {
                protocol: "Call".into(),
                version: "1.0.0".into()
            })
        );
    }

    #[test]
    fn start_fixture() {
        let params = [
            ("FirstName", "Jane"),
            ("LastName", "Doe"),
            ("RemoteParty", "Bob"),
        ];
        let expected = Start {
            stream_sid: STREAM.into(),
            call_sid: CALL.into(),
            account_sid: ACCOUNT.into(),
            tracks: vec!["inbound".into()],
            custom_parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sequence_number: 1,
        };
        let m = parse(START).unwrap();
        assert_eq!(
            (m.event(), m.stream_sid(), m.sequence_number()),
            ("start", Some(STREAM), Some(1))
        );
        assert_eq!(m, Inbound::Start(expected));
    }

    #[test]
    fn media_fixture_borrows_its_payload() {
        let m = parse(MEDIA).unwrap();
        let Inbound::Media(media) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            media,
            Media {
                stream_sid: STREAM,
                sequence_number: 4,
                track: Track::Inbound,
                chunk: 2,
                timestamp_ms: 5,
                payload: PAYLOAD,
            }
        );
        // Borrowed from the message text, not copied.
        let range = MEDIA.as_bytes().as_ptr_range();
        assert!(range.contains(&media.payload.as_ptr()));
        assert!(range.contains(&media.stream_sid.as_ptr()));
        let mut frame = [0u8; 160];
        assert_eq!(decode_payload(media.payload, &mut frame), Ok(160));
        assert_eq!(frame.to_vec(), tone());
    }

    #[test]
    fn the_documented_media_example_parses_but_its_elided_payload_does_not_decode() {
        let Ok(Inbound::Media(media)) = parse(MEDIA_DOC) else {
            panic!()
        };
        assert_eq!(media.payload, "no+JhoaJjpzS...");
        assert_eq!(
            decode_payload(media.payload, &mut [0u8; 4096]),
            Err(ProtocolError::InvalidBase64)
        );
    }

    #[test]
    fn dtmf_fixture() {
        assert_eq!(
            parse(DTMF),
            Ok(Inbound::Dtmf(Dtmf {
                stream_sid: STREAM.into(),
                sequence_number: 5,
                digit: '1',
                track: Track::Inbound,
            }))
        );
    }

    #[test]
    fn mark_fixture() {
        assert_eq!(
            parse(MARK),
            Ok(Inbound::Mark(Mark {
                stream_sid: STREAM.into(),
                sequence_number: 4,
                name: "my label".into(),
            }))
        );
    }

    #[test]
    fn stop_fixture() {
        assert_eq!(
            parse(STOP),
            Ok(Inbound::Stop(Stop {
                stream_sid: STREAM.into(),
                sequence_number: 5,
                call_sid: CALL.into(),
                account_sid: ACCOUNT.into(),
            }))
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_custom_parameters_may_be_absent() {
        let extra = set(
            MEDIA,
            "/media/extra",
            json!({"nested": [1, {"a": null}], "b": 1.5}),
        );
        let extra = set(&extra, "/future", json!([true, "x"]));
        assert!(matches!(parse(&extra), Ok(Inbound::Media(_))));
        let Ok(Inbound::Start(start)) = parse(&remove(START, "/start/customParameters")) else {
            panic!()
        };
        assert!(start.custom_parameters.is_empty());
        let Ok(Inbound::Start(start)) = parse(&set(START, "/start/tracks", json!([]))) else {
            panic!()
        };
        assert!(start.tracks.is_empty());
    }

    // ---------------------------------------------------------------------------------------
    // Strictness.

    #[test]
    fn string_typed_numbers_are_strict() {
        let bad = |text: &str, field: &'static str| {
            assert_eq!(err(text), ProtocolError::InvalidNumber { field }, "{text}");
        };
        // JSON numbers where Twilio sends strings.
        bad(&set(MEDIA, "/sequenceNumber", json!(4)), "sequenceNumber");
        bad(&set(MEDIA, "/media/chunk", json!(2)), "media.chunk");
        bad(&set(MEDIA, "/media/timestamp", json!(5)), "media.timestamp");
        bad(&set(START, "/sequenceNumber", json!(1)), "sequenceNumber");
        bad(&set(DTMF, "/sequenceNumber", json!(5.0)), "sequenceNumber");
        bad(&set(MARK, "/sequenceNumber", json!(true)), "sequenceNumber");
        bad(&set(STOP, "/sequenceNumber", json!([5])), "sequenceNumber");
        // Strings that are not plain decimal u64.
        for s in [
            "",
            "x",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "0x1f",
            "½",
            "18446744073709551616",
        ] {
            bad(&set(MEDIA, "/media/chunk", json!(s)), "media.chunk");
            bad(&set(MEDIA, "/media/timestamp", json!(s)), "media.timestamp");
            bad(&set(MEDIA, "/sequenceNumber", json!(s)), "sequenceNumber");
        }
        let max = set(MEDIA, "/media/timestamp", json!("18446744073709551615"));
        let Ok(Inbound::Media(m)) = parse(&max) else {
            panic!()
        };
        assert_eq!(m.timestamp_ms, u64::MAX);
        assert_eq!(
            err(&set(MEDIA, "/media/chunk", json!("two"))).to_string(),
            "field media.chunk must be a string of decimal digits (u64)"
        );
    }

    #[test]
    fn unknown_events() {
        assert_eq!(
            err(r#"{"event":"party","streamSid":"MZ1"}"#),
            ProtocolError::UnknownEvent("party".into())
        );
        assert!(err(r#"{"event":"party"}"#).to_string().contains("party"));
        // Our own messages are not Twilio's.
        for event in ["clear", "Media", "MEDIA", " media", ""] {
            assert_eq!(
                err(&set(MEDIA, "/event", json!(event))),
                ProtocolError::UnknownEvent(event.into())
            );
        }
        let long = "x".repeat(10_000);
        let e = err(&set(MEDIA, "/event", json!(long)));
        assert!(matches!(e, ProtocolError::UnknownEvent(ref s) if s.len() < 64));
        assert_eq!(
            err(&remove(MEDIA, "/event")),
            ProtocolError::MissingField("event")
        );
        assert_eq!(
            err(&set(MEDIA, "/event", json!(null))),
            ProtocolError::MissingField("event")
        );
        assert_eq!(
            err(&set(MEDIA, "/event", json!(7))),
            ProtocolError::WrongType {
                field: "event",
                expected: "string",
                found: "number"
            }
        );
    }

    #[test]
    fn invalid_json() {
        let deep = "[".repeat(100_000);
        let deep_inside = format!(r#"{{"event":"media","x":{}}}"#, deep);
        let cases = [
            "",
            "   ",
            "{not json",
            "{\"event\":\"media\"",
            "[]",
            "null",
            "\"media\"",
            "42",
            &format!("{MEDIA} trailing"),
            r#"{"event":"mark","event":"mark","streamSid":"MZ1","sequenceNumber":"1","mark":{"name":"a"}}"#,
            r#"{"event":"media","media":{"chunk":"1","chunk":"2"}}"#,
            "{\"event\":\"mark\u{0}\"}",
            &deep,
            &deep_inside,
        ];
        for text in cases {
            let e = err(text);
            assert!(
                matches!(e, ProtocolError::InvalidJson(_)),
                "{text:.80}: {e:?}"
            );
        }
        assert_eq!(
            err("[]"),
            ProtocolError::InvalidJson("expected an object, found array".into())
        );
        assert!(err("{not json").to_string().starts_with("invalid JSON: "));
    }

    #[test]
    fn bad_base64_and_oversized_payloads() {
        let mut buf = [0u8; 160];
        for bad in [
            "no+JhoaJjpzS...",
            "abc",
            "YQ",
            "ab=c",
            "AB==",
            "YR==",
            "====",
            "Y Q=",
            "YQ==\n",
            "YQ==YQ==",
            "-_-_",
            "éé",
        ] {
            assert_eq!(
                decode_payload(bad, &mut buf),
                Err(ProtocolError::InvalidBase64),
                "{bad:?}"
            );
        }
        assert_eq!(decode_payload("", &mut buf), Ok(0));
        assert_eq!(decode_payload("YQ==", &mut buf), Ok(1));
        assert_eq!(buf[0], b'a');
        // 160 bytes fit exactly; 161 do not, whatever the buffer held before.
        assert_eq!(decode_payload(PAYLOAD, &mut buf), Ok(160));
        let big = STANDARD.encode([0xFFu8; 161]);
        assert_eq!(
            decode_payload(&big, &mut buf),
            Err(ProtocolError::PayloadTooLarge {
                bytes: 161,
                max: 160
            })
        );
        assert_eq!(
            decode_payload(PAYLOAD, &mut []),
            Err(ProtocolError::PayloadTooLarge { bytes: 160, max: 0 })
        );
        // A JSON-escaped payload cannot be borrowed: refused by parse, not silently copied.
        let escaped = MEDIA.replacen(PAYLOAD, &PAYLOAD.replace('/', "\\/"), 1);
        assert_eq!(
            err(&escaped),
            ProtocolError::InvalidValue {
                field: "media.payload",
                reason: "JSON escape sequences are not allowed here"
            }
        );
    }

    #[test]
    fn only_mulaw_8000_mono_is_accepted() {
        let unsupported = |at: &str, value: Value, enc: &str, rate: u64, ch: u64| {
            assert_eq!(
                err(&set(START, at, value)),
                ProtocolError::UnsupportedMediaFormat {
                    encoding: enc.into(),
                    sample_rate: rate,
                    channels: ch
                }
            );
        };
        let f = "/start/mediaFormat";
        unsupported(
            &format!("{f}/encoding"),
            json!("audio/x-alaw"),
            "audio/x-alaw",
            8000,
            1,
        );
        unsupported(
            &format!("{f}/encoding"),
            json!("audio/x-l16"),
            "audio/x-l16",
            8000,
            1,
        );
        unsupported(
            &format!("{f}/encoding"),
            json!("AUDIO/X-MULAW"),
            "AUDIO/X-MULAW",
            8000,
            1,
        );
        unsupported(
            &format!("{f}/sampleRate"),
            json!(16000),
            "audio/x-mulaw",
            16000,
            1,
        );
        unsupported(&format!("{f}/sampleRate"), json!(0), "audio/x-mulaw", 0, 1);
        unsupported(&format!("{f}/channels"), json!(2), "audio/x-mulaw", 8000, 2);
        assert_eq!(
            err(&set(START, &format!("{f}/sampleRate"), json!("8000"))),
            ProtocolError::WrongType {
                field: "start.mediaFormat.sampleRate",
                expected: "non-negative integer",
                found: "string"
            }
        );
        assert_eq!(
            err(&set(START, &format!("{f}/channels"), json!(1.5))),
            ProtocolError::WrongType {
                field: "start.mediaFormat.channels",
                expected: "non-negative integer",
                found: "number"
            }
        );
        assert_eq!(
            err(&set(START, f, json!("audio/x-mulaw"))),
            ProtocolError::WrongType {
                field: "start.mediaFormat",
                expected: "object",
                found: "string"
            }
        );
        let e = err(&set(
            START,
            &format!("{f}/encoding"),
            json!("x".repeat(500)),
        ));
        assert!(e.to_string().len() <= ProtocolError::MAX_DISPLAY_LEN);
        assert_eq!(
            err(&set(START, &format!("{f}/encoding"), json!("audio/x-alaw"))).to_string(),
            "media format audio/x-alaw/8000/1 unsupported: need audio/x-mulaw/8000/1"
        );
    }

    /// Every documented field of every message, by JSON pointer.
    const REQUIRED: &[(&str, &[&str])] = &[
        (CONNECTED, &["/protocol", "/version"]),
        (
            START,
            &[
                "/sequenceNumber",
                "/streamSid",
                "/start",
                "/start/accountSid",
                "/start/streamSid",
                "/start/callSid",
                "/start/tracks",
                "/start/mediaFormat",
                "/start/mediaFormat/encoding",
                "/start/mediaFormat/sampleRate",
                "/start/mediaFormat/channels",
            ],
        ),
        (
            MEDIA,
            &[
                "/sequenceNumber",
                "/streamSid",
                "/media",
                "/media/track",
                "/media/chunk",
                "/media/timestamp",
                "/media/payload",
            ],
        ),
        (
            DTMF,
            &[
                "/streamSid",
                "/sequenceNumber",
                "/dtmf",
                "/dtmf/track",
                "/dtmf/digit",
            ],
        ),
        (
            MARK,
            &["/sequenceNumber", "/streamSid", "/mark", "/mark/name"],
        ),
        (
            STOP,
            &[
                "/sequenceNumber",
                "/streamSid",
                "/stop",
                "/stop/accountSid",
                "/stop/callSid",
            ],
        ),
    ];

    #[test]
    fn every_documented_field_is_required() {
        for (fixture, fields) in REQUIRED {
            for at in *fields {
                let name = at[1..].replace('/', ".");
                for text in [remove(fixture, at), set(fixture, at, Value::Null)] {
                    match err(&text) {
                        ProtocolError::MissingField(f) => assert_eq!(f, name, "{text}"),
                        e => panic!("{text}: {e:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn every_documented_field_has_its_type() {
        for (fixture, fields) in REQUIRED {
            for at in *fields {
                let original: Value = serde_json::from_str(fixture).unwrap();
                let is_section = original.pointer(at).is_some_and(Value::is_object);
                for wrong in [json!(true), json!({"a": 1}), json!([1, 2])] {
                    if is_section && wrong.is_object() {
                        continue; // an object without the fields: see the test above
                    }
                    let text = set(fixture, at, wrong);
                    let e = err(&text);
                    assert!(
                        matches!(
                            e,
                            ProtocolError::WrongType { .. } | ProtocolError::InvalidNumber { .. }
                        ),
                        "{text}: {e:?}"
                    );
                }
            }
        }
        assert_eq!(
            err(&set(START, "/start/tracks/0", json!(1))),
            ProtocolError::WrongType {
                field: "start.tracks",
                expected: "array of strings",
                found: "number"
            }
        );
        assert_eq!(
            err(&set(
                START,
                "/start/customParameters/FirstName",
                json!(null)
            )),
            ProtocolError::WrongType {
                field: "start.customParameters",
                expected: "object of strings",
                found: "null"
            }
        );
    }

    #[test]
    fn sids_tracks_and_digits() {
        let empty = |field| ProtocolError::InvalidValue {
            field,
            reason: "must not be empty",
        };
        for fixture in [START, MEDIA, DTMF, MARK, STOP] {
            assert_eq!(
                err(&set(fixture, "/streamSid", json!(""))),
                empty("streamSid")
            );
        }
        assert_eq!(
            err(&set(START, "/start/callSid", json!(""))),
            empty("start.callSid")
        );
        assert_eq!(
            err(&set(STOP, "/stop/accountSid", json!(""))),
            empty("stop.accountSid")
        );
        assert_eq!(
            err(&set(START, "/start/streamSid", json!("MZother"))),
            ProtocolError::StreamSidMismatch
        );
        // Tracks: both spellings, both directions.
        for (track, want) in [
            ("inbound", Track::Inbound),
            ("inbound_track", Track::Inbound),
            ("outbound", Track::Outbound),
            ("outbound_track", Track::Outbound),
        ] {
            let text = set(MEDIA, "/media/track", json!(track));
            let Ok(Inbound::Media(m)) = parse(&text) else {
                panic!()
            };
            assert_eq!(m.track, want);
            let Ok(Inbound::Dtmf(d)) = parse(&set(DTMF, "/dtmf/track", json!(track))) else {
                panic!()
            };
            assert_eq!(d.track, want);
        }
        for track in ["both_tracks", "", "Inbound"] {
            assert_eq!(
                err(&set(MEDIA, "/media/track", json!(track))),
                ProtocolError::InvalidValue {
                    field: "media.track",
                    reason: "must be inbound or outbound"
                }
            );
        }
        // Digits: exactly one of the sixteen keys.
        for digit in "0123456789*#ABCD".chars() {
            let Ok(Inbound::Dtmf(d)) = parse(&set(DTMF, "/dtmf/digit", json!(digit.to_string())))
            else {
                panic!("{digit}")
            };
            assert_eq!(d.digit, digit);
        }
        for bad in ["", "12", "E", "a", "d", "w", " 1", "1 ", "١", "😀", "\u{0}"] {
            assert_eq!(
                err(&set(DTMF, "/dtmf/digit", json!(bad))),
                ProtocolError::InvalidDigit,
                "{bad:?}"
            );
        }
        assert!(matches!(
            err(&set(DTMF, "/dtmf/digit", json!(1))),
            ProtocolError::WrongType { .. }
        ));
    }

    // ---------------------------------------------------------------------------------------
    // Round trips: the simulated Twilio into our parser, our writers into the strict Twilio.

    /// Strings a careless serializer would break.
    const AWKWARD: &[&str] = &[
        "",
        "plain",
        "quote \" backslash \\ slash /",
        "controls \u{0}\u{1}\n\r\t\u{1f}\u{7f}",
        "unicode é € 😀 \u{2028}",
        "</Stream>&amp;",
    ];

    #[test]
    fn sim_messages_parse_back() {
        assert_eq!(parse(&sim::connected()), parse(CONNECTED));
        let params: Vec<(&str, &str)> = AWKWARD
            .iter()
            .enumerate()
            .map(|(i, v)| (["a", "b\"", "c\\", "d\n", "é", "f"][i], *v))
            .collect();
        let Ok(Inbound::Start(start)) = parse(&sim::start(STREAM, CALL, ACCOUNT, &params)) else {
            panic!()
        };
        assert_eq!(
            (
                start.stream_sid.as_str(),
                start.call_sid.as_str(),
                start.account_sid.as_str()
            ),
            (STREAM, CALL, ACCOUNT)
        );
        assert_eq!(
            (start.sequence_number, start.tracks.clone()),
            (1, vec!["inbound".to_string()])
        );
        let want: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(start.custom_parameters, want);
        // The fixture's start, from the simulator.
        let doc = [
            ("FirstName", "Jane"),
            ("LastName", "Doe"),
            ("RemoteParty", "Bob"),
        ];
        assert_eq!(
            parse(&sim::start(STREAM, CALL, ACCOUNT, &doc)),
            parse(START)
        );
        assert_eq!(
            parse(&sim::media(STREAM, 4, 2, 5, &tone())),
            parse(MEDIA),
            "same message as the fixture"
        );
        assert_eq!(parse(&sim::dtmf(STREAM, 5, '1')), parse(DTMF));
        assert_eq!(parse(&sim::mark(STREAM, 4, "my label")), parse(MARK));
        assert_eq!(parse(&sim::stop(STREAM, 5, CALL, ACCOUNT)), parse(STOP));
        for name in AWKWARD {
            let Ok(Inbound::Mark(m)) = parse(&sim::mark("MZ\"odd\\sid", 9, name)) else {
                panic!("{name:?}")
            };
            assert_eq!(
                (m.name.as_str(), m.stream_sid.as_str()),
                (*name, "MZ\"odd\\sid")
            );
        }
        // The simulated caller's messages are exactly Twilio's shape: every field is a string
        // except the media format numbers.
        let v: Value = serde_json::from_str(&sim::media(STREAM, 7, 6, 100, &[1, 2, 3])).unwrap();
        assert_eq!(
            v,
            json!({"event": "media", "sequenceNumber": "7", "streamSid": STREAM,
               "media": {"track": "inbound", "chunk": "6", "timestamp": "100", "payload": "AQID"}})
        );
        let v: Value = serde_json::from_str(&sim::start(STREAM, CALL, ACCOUNT, &doc)).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(START).unwrap());
        for (ours, fixture) in [
            (sim::connected(), CONNECTED),
            (sim::dtmf(STREAM, 5, '1'), DTMF),
            (sim::mark(STREAM, 4, "my label"), MARK),
            (sim::stop(STREAM, 5, CALL, ACCOUNT), STOP),
        ] {
            let ours: Value = serde_json::from_str(&ours).unwrap();
            assert_eq!(ours, serde_json::from_str::<Value>(fixture).unwrap());
        }
    }

    #[test]
    fn our_messages_satisfy_the_strict_twilio() {
        let mut out = String::new();
        twilio::write_media(&mut out, STREAM, &tone());
        assert_eq!(
            out,
            format!(
                r#"{{"event":"media","streamSid":"{STREAM}","media":{{"payload":"{PAYLOAD}"}}}}"#
            )
        );
        assert_eq!(
            parse_outbound(&out),
            Ok(Outbound::Media { payload: tone() })
        );
        assert_eq!(
            parse_outbound_for(&out, STREAM),
            Ok(Outbound::Media { payload: tone() })
        );
        assert_eq!(
            parse_outbound_for(&out, "MZother"),
            Err(ProtocolError::StreamSidMismatch)
        );

        let prepared = twilio::media_payload_base64(&tone());
        assert_eq!(prepared, PAYLOAD);
        let mut again = String::new();
        twilio::write_media_prepared(&mut again, STREAM, &prepared);
        assert_eq!(again, out);

        for name in AWKWARD {
            out.clear();
            twilio::write_mark(&mut out, STREAM, name);
            assert_eq!(
                parse_outbound_for(&out, STREAM),
                Ok(Outbound::Mark {
                    name: name.to_string()
                })
            );
            // And Twilio's echo of it comes back to us with the same name.
            let Ok(Inbound::Mark(m)) = parse(&sim::mark(STREAM, 3, name)) else {
                panic!()
            };
            assert_eq!(m.name, *name);
        }
        out.clear();
        twilio::write_clear(&mut out, STREAM);
        assert_eq!(
            out,
            format!(r#"{{"event":"clear","streamSid":"{STREAM}"}}"#)
        );
        assert_eq!(parse_outbound_for(&out, STREAM), Ok(Outbound::Clear));

        // Sids are escaped too.
        out.clear();
        twilio::write_clear(&mut out, "MZ\"}\\");
        assert_eq!(parse_outbound_for(&out, "MZ\"}\\"), Ok(Outbound::Clear));

        // The reference shapes (§1.3).
        assert_eq!(
            parse_outbound(OUT_MEDIA),
            Ok(Outbound::Media { payload: tone() })
        );
        assert_eq!(
            parse_outbound(OUT_MARK),
            Ok(Outbound::Mark {
                name: "my label".into()
            })
        );
        assert_eq!(parse_outbound(OUT_CLEAR), Ok(Outbound::Clear));
    }

    #[test]
    fn the_strict_twilio_refuses_anything_else() {
        // Only media, mark and clear exist in this direction.
        for event in [
            "connected",
            "start",
            "stop",
            "dtmf",
            "clearAll",
            "Media",
            "play",
        ] {
            assert_eq!(
                out_err(&format!(r#"{{"event":"{event}","streamSid":"MZ1"}}"#)),
                ProtocolError::UnknownEvent(event.into())
            );
        }
        // Twilio's own inbound messages carry fields we must not send.
        for fixture in INBOUND {
            assert!(parse_outbound(fixture).is_err(), "{fixture}");
        }
        assert_eq!(
            out_err(&remove(OUT_CLEAR, "/streamSid")),
            ProtocolError::MissingField("streamSid")
        );
        assert_eq!(
            out_err(&remove(OUT_MEDIA, "/streamSid")),
            ProtocolError::MissingField("streamSid")
        );
        assert_eq!(
            out_err(&remove(OUT_MARK, "/streamSid")),
            ProtocolError::MissingField("streamSid")
        );
        assert_eq!(
            out_err(&set(OUT_CLEAR, "/streamSid", json!(""))),
            ProtocolError::InvalidValue {
                field: "streamSid",
                reason: "must not be empty"
            }
        );
        assert_eq!(
            out_err(&remove(OUT_MEDIA, "/event")),
            ProtocolError::MissingField("event")
        );
        assert_eq!(
            out_err(&remove(OUT_MEDIA, "/media")),
            ProtocolError::MissingField("media")
        );
        assert_eq!(
            out_err(&remove(OUT_MEDIA, "/media/payload")),
            ProtocolError::MissingField("media.payload")
        );
        assert_eq!(
            out_err(&remove(OUT_MARK, "/mark/name")),
            ProtocolError::MissingField("mark.name")
        );
        assert_eq!(
            out_err(&set(OUT_MEDIA, "/media/payload", json!("a3242sa..."))),
            ProtocolError::InvalidBase64
        );
        assert_eq!(
            out_err(&set(OUT_MEDIA, "/media/payload", json!(""))),
            ProtocolError::InvalidValue {
                field: "media.payload",
                reason: "must not be empty"
            }
        );
        assert!(matches!(
            out_err(&set(OUT_MEDIA, "/media/payload", json!([1]))),
            ProtocolError::WrongType { .. }
        ));
        // No fields beyond Twilio's, and no section of another event.
        for (text, at) in [
            (OUT_CLEAR, "/sequenceNumber"),
            (OUT_MEDIA, "/media/track"),
            (OUT_MARK, "/mark/extra"),
        ] {
            let e = out_err(&set(text, at, json!("1")));
            assert!(
                matches!(e, ProtocolError::InvalidJson(ref s) if s.contains("unknown field")),
                "{e:?}"
            );
        }
        assert_eq!(
            out_err(&set(OUT_CLEAR, "/mark", json!({"name": "x"}))),
            ProtocolError::InvalidValue {
                field: "mark",
                reason: "not allowed in this event"
            }
        );
        assert_eq!(
            out_err(&set(OUT_MARK, "/media", json!({"payload": PAYLOAD}))),
            ProtocolError::InvalidValue {
                field: "media",
                reason: "not allowed in this event"
            }
        );
        assert_eq!(
            out_err(&set(OUT_MEDIA, "/mark", json!({"name": "x"}))),
            ProtocolError::InvalidValue {
                field: "mark",
                reason: "not allowed in this event"
            }
        );
        assert!(matches!(out_err("[]"), ProtocolError::InvalidJson(_)));
        assert!(matches!(out_err(""), ProtocolError::InvalidJson(_)));
    }

    // ---------------------------------------------------------------------------------------
    // The hot path allocates nothing.

    #[test]
    fn media_parse_decode_and_writes_allocate_nothing() {
        let text = sim::media(STREAM, 1234, 1233, 24_640, &tone());
        let mut frame = [0u8; 4096];
        let mut out = String::with_capacity(4096);
        let prepared = twilio::media_payload_base64(&[0xFF; 160]);
        let audio = [0x7Fu8; 160];
        let before = allocations();
        for _ in 0..1000 {
            let Ok(Inbound::Media(m)) = parse(black_box(&text)) else {
                panic!()
            };
            assert_eq!(decode_payload(m.payload, &mut frame), Ok(160));
            out.clear();
            twilio::write_media_prepared(&mut out, STREAM, &prepared);
            out.clear();
            twilio::write_media(&mut out, STREAM, &audio);
            out.clear();
            twilio::write_mark(&mut out, STREAM, "p12");
            out.clear();
            twilio::write_clear(&mut out, STREAM);
        }
        assert_eq!(allocations() - before, 0, "allocations on the media path");
    }

    #[test]
    fn media_parse_and_decode_cost() {
        // What the server sees 50 times a second per call: compact, as Twilio sends it.
        let text = sim::media(STREAM, 1234, 1233, 24_640, &tone());
        let mut frame = [0u8; 4096];
        // Best of several rounds: the figure of an unloaded core.
        let best = |f: &mut dyn FnMut()| {
            let n = 50_000u32;
            (0..8)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..n {
                        f();
                    }
                    t.elapsed().as_nanos() as f64 / f64::from(n)
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut total = 0usize;
        let both = best(&mut || {
            if let Ok(Inbound::Media(m)) = parse(black_box(&text)) {
                total += decode_payload(m.payload, &mut frame).unwrap_or(0);
            }
        });
        assert_eq!(total, 160 * 8 * 50_000);
        let parse_only = best(&mut || {
            black_box(parse(black_box(&text)).is_ok());
        });
        let decode_only = best(&mut || {
            black_box(decode_payload(black_box(PAYLOAD), &mut frame).ok());
        });
        println!(
            "media message ({} bytes, 160-byte payload): parse + decode {both:.0} ns \
             (parse {parse_only:.0} ns, decode {decode_only:.0} ns)",
            text.len()
        );
    }

    // ---------------------------------------------------------------------------------------
    // Signatures.

    fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's worked example (https://www.twilio.com/docs/usage/security), checked
    /// independently with Python's hmac module.
    const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const DOC_SIGNATURE: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    fn doc_params() -> Vec<(String, String)> {
        // Deliberately out of order: the signature sorts them.
        owned(&[
            ("To", "+18005551212"),
            ("Digits", "1234"),
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+12349013030"),
            ("Caller", "+12349013030"),
        ])
    }

    #[test]
    fn twilios_documented_signature() {
        assert_eq!(
            twilio::signature("12345", DOC_URL, &doc_params()),
            DOC_SIGNATURE
        );
        assert!(twilio::validate_signature(
            "12345",
            DOC_URL,
            &doc_params(),
            DOC_SIGNATURE
        ));
        let mut tampered = doc_params();
        tampered[1].1 = "1235".into();
        assert!(!twilio::validate_signature(
            "12345",
            DOC_URL,
            &tampered,
            DOC_SIGNATURE
        ));
        assert!(!twilio::validate_signature(
            "12346",
            DOC_URL,
            &doc_params(),
            DOC_SIGNATURE
        ));
        assert!(!twilio::validate_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &doc_params(),
            DOC_SIGNATURE
        ));
        assert!(!twilio::validate_signature(
            "12345",
            DOC_URL,
            &[],
            DOC_SIGNATURE
        ));
        for header in [
            "",
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ",
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ==",
            "x",
        ] {
            assert!(!twilio::validate_signature(
                "12345",
                DOC_URL,
                &doc_params(),
                header
            ));
        }
        // A parameter moved into the URL is a different request.
        let mut fewer = doc_params();
        fewer.retain(|(k, _)| k != "Digits");
        assert!(!twilio::validate_signature(
            "12345",
            &format!("{DOC_URL}&Digits=1234"),
            &fewer,
            DOC_SIGNATURE
        ));
    }

    #[test]
    fn signature_is_hmac_sha1_over_url_and_sorted_pairs() {
        use hmac::{Hmac, Mac};
        let manual = |token: &str, data: &str| {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
            mac.update(data.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        };
        // The Media Stream upgrade: the wss:// URL alone.
        let ws = "wss://ivr.example.com/twilio/media";
        let sig = twilio::signature("tok", ws, &[]);
        assert_eq!(sig, manual("tok", ws));
        assert!(twilio::validate_signature("tok", ws, &[], &sig));
        assert!(!twilio::validate_signature(
            "tok",
            "https://ivr.example.com/twilio/media",
            &[],
            &sig
        ));
        // Sorted by name, then by value for a repeated name; no separators.
        let params = owned(&[("b", "2"), ("a", "z"), ("a", "y"), ("B", "0")]);
        assert_eq!(
            twilio::signature("tok", "https://h/p", &params),
            manual("tok", "https://h/pB0ayazb2")
        );
        // Twilio may sign with or without the scheme's default port.
        let with_port = twilio::signature("tok", "https://h.example:443/p?x=1", &params);
        assert!(twilio::validate_signature(
            "tok",
            "https://h.example/p?x=1",
            &params,
            &with_port
        ));
        let without = twilio::signature("tok", "wss://h.example/m", &[]);
        assert!(twilio::validate_signature(
            "tok",
            "wss://h.example:443/m",
            &[],
            &without
        ));
        let other_port = twilio::signature("tok", "https://h.example:8443/p", &[]);
        assert!(!twilio::validate_signature(
            "tok",
            "https://h.example/p",
            &[],
            &other_port
        ));
        // Unicode is signed as UTF-8.
        let p = owned(&[("Body", "¡hola! 😀")]);
        assert_eq!(
            twilio::signature("tok", "https://h/p", &p),
            manual("tok", "https://h/pBody¡hola! 😀")
        );
    }

    // ---------------------------------------------------------------------------------------
    // TwiML.

    /// A small well-formedness check for the TwiML we emit: declaration, one root, balanced
    /// tags, quoted attributes without raw `<`, `>` or bare `&`, text without raw `<`, `>` or bare
    /// `&`, only characters XML 1.0 allows.
    fn check_xml(xml: &str) -> Result<(), String> {
        fn check_chars(s: &str) -> Result<(), String> {
            let mut rest = s;
            while let Some(i) = rest.find(['&', '<', '>']) {
                let tail = &rest[i..];
                if !tail.starts_with('&') {
                    return Err(format!("raw {:?} in {s:?}", &tail[..1]));
                }
                let end = tail.find(';').ok_or_else(|| format!("bare & in {s:?}"))?;
                let entity = &tail[1..end];
                let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                    || entity
                        .strip_prefix('#')
                        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
                if !ok {
                    return Err(format!("bad entity &{entity}; in {s:?}"));
                }
                rest = &tail[end + 1..];
            }
            match s.chars().find(|&c| {
                !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                    && c < '\u{10000}'
            }) {
                Some(c) => Err(format!("character {c:?} not allowed in XML")),
                None => Ok(()),
            }
        }
        let mut rest = xml
            .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            .ok_or("no XML declaration")?;
        let mut open: Vec<&str> = Vec::new();
        let mut roots = 0;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("</") {
                let end = r.find('>').ok_or("unterminated end tag")?;
                if open.pop() != Some(&r[..end]) {
                    return Err(format!("unbalanced </{}>", &r[..end]));
                }
                rest = &r[end + 1..];
            } else if let Some(r) = rest.strip_prefix('<') {
                let name_len = r
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .ok_or("unterminated tag")?;
                let name = &r[..name_len];
                if name.is_empty() {
                    return Err("empty tag name".into());
                }
                if open.is_empty() {
                    roots += 1;
                }
                let mut r = &r[name_len..];
                let mut names = Vec::new();
                loop {
                    if let Some(x) = r.strip_prefix("/>") {
                        r = x;
                        break;
                    }
                    if let Some(x) = r.strip_prefix('>') {
                        open.push(name);
                        r = x;
                        break;
                    }
                    r = r
                        .strip_prefix(' ')
                        .ok_or_else(|| format!("junk in <{name}>: {r:.20}"))?;
                    let eq = r.find('=').ok_or("attribute without =")?;
                    let attr = &r[..eq];
                    if attr.is_empty() || !attr.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        return Err(format!("bad attribute name {attr:?}"));
                    }
                    if names.contains(&attr) {
                        return Err(format!("duplicate attribute {attr}"));
                    }
                    names.push(attr);
                    r = r[eq + 1..].strip_prefix('"').ok_or("unquoted attribute")?;
                    let close = r.find('"').ok_or("unterminated attribute")?;
                    check_chars(&r[..close])?;
                    r = &r[close + 1..];
                }
                rest = r;
            } else {
                if open.is_empty() {
                    return Err("text outside the root".into());
                }
                let end = rest.find('<').unwrap_or(rest.len());
                check_chars(&rest[..end])?;
                rest = &rest[end..];
            }
        }
        if !open.is_empty() || roots != 1 {
            return Err(format!("unclosed {open:?} or {roots} roots"));
        }
        Ok(())
    }

    fn xml_unescape(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let end = rest[i..].find(';').unwrap() + i;
            let entity = &rest[i + 1..end];
            out.push(match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => char::from_u32(entity[1..].parse().unwrap()).unwrap(),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Every `name="value"` of every `<element …>` in document order, unescaped.
    fn attributes(xml: &str, element: &str) -> Vec<Vec<(String, String)>> {
        let mut found = Vec::new();
        let open = format!("<{element} ");
        let mut rest = xml;
        while let Some(i) = rest.find(&open) {
            let tag = &rest[i + open.len()..];
            let tag = &tag[..tag.find('>').unwrap()];
            let mut attrs = Vec::new();
            let mut t = tag;
            while let Some(eq) = t.find("=\"") {
                let name = t[..eq].trim().to_string();
                let v = &t[eq + 2..];
                let close = v.find('"').unwrap();
                attrs.push((name, xml_unescape(&v[..close])));
                t = &v[close + 1..];
            }
            found.push(attrs);
            rest = &rest[i + 1..];
        }
        found
    }

    /// What survives XML 1.0: forbidden characters become U+FFFD.
    fn xml_safe(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' => c,
                c if c >= '\u{10000}' => c,
                _ => '\u{FFFD}',
            })
            .collect()
    }

    #[test]
    fn twiml_documents() {
        assert_eq!(
            twilio::connect_stream(
                "https://ivr.example.com/twilio/after",
                "wss://ivr.example.com/twilio/media",
                &[("flow", "consent"), ("line", "+18005550000")]
            ),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect action="https://ivr.example.com/twilio/after"><Stream url="wss://ivr.example.com/twilio/media"><Parameter name="flow" value="consent"/><Parameter name="line" value="+18005550000"/></Stream></Connect></Response>"#
        );
        assert_eq!(
            twilio::connect_stream("https://a/after", "wss://a/media", &[]),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect action="https://a/after"><Stream url="wss://a/media"/></Connect></Response>"#
        );
        assert_eq!(
            twilio::dial("+14155550100", true, Some("https://a/rec?x=1&y=2"), None),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial record="record-from-answer-dual" recordingStatusCallback="https://a/rec?x=1&amp;y=2"><Number>+14155550100</Number></Dial></Response>"#
        );
        assert_eq!(
            twilio::dial(
                "+14155550100",
                false,
                Some("https://a/rec"),
                Some("+18005550000")
            ),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="+18005550000"><Number>+14155550100</Number></Dial></Response>"#
        );
        assert_eq!(
            twilio::dial("+14155550100", false, None, None),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Number>+14155550100</Number></Dial></Response>"#
        );
        assert_eq!(
            twilio::say_and_hangup("Goodbye.", "en-US"),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">Goodbye.</Say><Hangup/></Response>"#
        );
        assert_eq!(
            twilio::say_and_hangup("Adiós, ¡gracias!", "es-US"),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="es-US">Adiós, ¡gracias!</Say><Hangup/></Response>"#
        );
        assert_eq!(
            twilio::hangup(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#
        );
        for xml in [
            twilio::connect_stream("https://a/after", "wss://a/media", &[("a", "b")]),
            twilio::dial("+1", true, Some("https://a/rec"), Some("+2")),
            twilio::say_and_hangup("x", "en-US"),
            twilio::hangup(),
        ] {
            check_xml(&xml).unwrap();
        }
    }

    #[test]
    fn twiml_escapes_every_value() {
        let nasty = r#"x"<&'>y"#;
        let xml = twilio::connect_stream(
            "https://a/after?x=1&y=\"2\"",
            "wss://a/media?<bad>",
            &[("flow", nasty), (nasty, "v"), ("nl", "a\nb\tc\rd\u{0}e")],
        );
        check_xml(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert!(xml.contains(r#"<Parameter name="flow" value="x&quot;&lt;&amp;&apos;&gt;y"/>"#));
        let params = &attributes(&xml, "Parameter");
        assert_eq!(
            params[0],
            vec![
                ("name".into(), "flow".into()),
                ("value".into(), nasty.into())
            ]
        );
        assert_eq!(params[1][0].1, nasty);
        assert_eq!(params[2][1].1, "a\nb\tc\rd\u{FFFD}e");
        assert_eq!(
            attributes(&xml, "Connect")[0][0].1,
            "https://a/after?x=1&y=\"2\""
        );
        assert_eq!(attributes(&xml, "Stream")[0][0].1, "wss://a/media?<bad>");

        let xml = twilio::dial(nasty, true, Some(nasty), Some(nasty));
        check_xml(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert!(xml.contains("<Number>x&quot;&lt;&amp;&apos;&gt;y</Number>"));
        assert!(attributes(&xml, "Dial")[0]
            .iter()
            .all(|(k, v)| k == "record" || v == nasty));

        let xml = twilio::say_and_hangup("</Say><Reject/>", "en-US\"><Play>x");
        check_xml(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert!(!xml.contains("<Reject") && !xml.contains("<Play"));
    }

    // ---------------------------------------------------------------------------------------
    // Properties.

    /// Any JSON value, biased towards what the messages contain.
    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "[0-9]{0,22}".prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            prop::sample::select(vec![
                "media",
                "start",
                "dtmf",
                "mark",
                "stop",
                "connected",
                "clear",
                "inbound",
                "inbound_track",
                "audio/x-mulaw",
                "1",
                "#",
                PAYLOAD,
                STREAM,
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every JSON pointer inside `v` (not the root).
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{at}/{k}");
                    out.push(p.clone());
                    pointers(child, p, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    pointers(child, p, out);
                }
            }
            _ => {}
        }
    }

    /// Parsing must return, not panic, and keep its error text within a close reason.
    fn survives(text: &str) -> Result<(), TestCaseError> {
        match parse(text) {
            Ok(Inbound::Media(m)) => {
                let range = text.as_bytes().as_ptr_range();
                prop_assert!(range.contains(&m.payload.as_ptr()) || m.payload.is_empty());
                let _ = decode_payload(m.payload, &mut [0u8; 256]);
            }
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_string().len() <= ProtocolError::MAX_DISPLAY_LEN, "{e}"),
        }
        if let Err(e) = parse_outbound(text) {
            prop_assert!(e.to_string().len() <= ProtocolError::MAX_DISPLAY_LEN, "{e}");
        }
        let _ = decode_payload(text, &mut [0u8; 64]);
        Ok(())
    }

    const JSONISH: &[char] = &[
        '{', '}', '[', ']', '"', ':', ',', '\\', ' ', '0', '1', '9', '-', '+', '.', 'e', 'E', 't',
        'r', 'u', 'f', 'a', 'l', 's', 'n', '/', '=', 'é', '\u{0}', '\n', '😀',
    ];

    fn all_fixtures() -> Vec<&'static str> {
        INBOUND.iter().chain(OUTBOUND.iter()).copied().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn parse_never_panics_on_any_string(text in any::<String>()) {
            survives(&text)?;
        }

        #[test]
        fn parse_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            survives(&String::from_utf8_lossy(&bytes))?;
        }

        /// Character-level damage to real messages: insertions, deletions, replacements,
        /// duplicated spans and truncation, from a JSON-heavy alphabet.
        #[test]
        fn parse_never_panics_on_damaged_messages(
            which in 0..9usize,
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), 0..5u8, prop::sample::select(JSONISH), 1..12usize),
                1..8,
            ),
        ) {
            let mut chars: Vec<char> = all_fixtures()[which].chars().collect();
            for (at, op, c, len) in edits {
                let i = at.index(chars.len() + 1);
                match op {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => { chars.remove(i); }
                    2 if i < chars.len() => chars[i] = c,
                    3 => {
                        let end = (i + len).min(chars.len());
                        let span: Vec<char> = chars[i..end].to_vec();
                        chars.splice(i..i, span);
                    }
                    _ => chars.truncate(i),
                }
            }
            survives(&chars.into_iter().collect::<String>())?;
        }

        /// Structural damage to real messages: a field removed, replaced by any JSON value, or
        /// a new field added anywhere.
        #[test]
        fn parse_never_panics_on_restructured_messages(
            which in 0..9usize,
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, arb_json()), 1..4),
        ) {
            let mut v: Value = serde_json::from_str(all_fixtures()[which]).unwrap();
            for (at, op, value) in edits {
                let mut all = Vec::new();
                pointers(&v, String::new(), &mut all);
                if all.is_empty() {
                    break;
                }
                let p = &all[at.index(all.len())];
                let (parent, key) = p.rsplit_once('/').unwrap();
                let parent = if parent.is_empty() { &mut v } else { v.pointer_mut(parent).unwrap() };
                match (op, parent) {
                    (0, Value::Object(map)) => { map.remove(key); }
                    (0, Value::Array(items)) => { items.remove(key.parse::<usize>().unwrap()); }
                    (1, Value::Object(map)) => { map.insert(key.to_owned(), value); }
                    (1, Value::Array(items)) => { items[key.parse::<usize>().unwrap()] = value; }
                    (_, Value::Object(map)) => { map.insert("x".to_owned() + key, value); }
                    (_, Value::Array(items)) => items.push(value),
                    _ => {}
                }
            }
            survives(&serde_json::to_string(&v).unwrap())?;
        }

        #[test]
        fn sim_media_round_trips(
            seq in any::<u64>(),
            chunk in any::<u64>(),
            ts in any::<u64>(),
            audio in prop::collection::vec(any::<u8>(), 0..400),
        ) {
            let text = sim::media(STREAM, seq, chunk, ts, &audio);
            let Ok(Inbound::Media(m)) = parse(&text) else {
                return Err(TestCaseError::fail(format!("refused {text}")));
            };
            prop_assert_eq!(
                (m.stream_sid, m.sequence_number, m.chunk, m.timestamp_ms, m.track),
                (STREAM, seq, chunk, ts, Track::Inbound)
            );
            let mut frame = [0u8; 400];
            let n = decode_payload(m.payload, &mut frame).unwrap();
            prop_assert_eq!(&frame[..n], &audio[..]);
            if !audio.is_empty() {
                prop_assert_eq!(
                    decode_payload(m.payload, &mut frame[..audio.len() - 1]),
                    Err(ProtocolError::PayloadTooLarge { bytes: audio.len(), max: audio.len() - 1 })
                );
            }
        }

        #[test]
        fn sim_text_fields_round_trip(
            sid in "\\PC{1,40}",
            name in any::<String>(),
            params in prop::collection::btree_map(any::<String>(), any::<String>(), 0..5),
            seq in any::<u64>(),
            digit in prop::sample::select("0123456789*#ABCD".chars().collect::<Vec<_>>()),
        ) {
            let Ok(Inbound::Mark(m)) = parse(&sim::mark(&sid, seq, &name)) else {
                return Err(TestCaseError::fail("mark refused"));
            };
            prop_assert_eq!((m.stream_sid, m.sequence_number, m.name), (sid.clone(), seq, name.clone()));
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let Ok(Inbound::Start(s)) = parse(&sim::start(&sid, "CA1", "AC1", &pairs)) else {
                return Err(TestCaseError::fail("start refused"));
            };
            prop_assert_eq!(s.custom_parameters, params);
            let Ok(Inbound::Dtmf(d)) = parse(&sim::dtmf(&sid, seq, digit)) else {
                return Err(TestCaseError::fail("dtmf refused"));
            };
            prop_assert_eq!(d.digit, digit);
            let Ok(Inbound::Stop(s)) = parse(&sim::stop(&sid, seq, "CA1", "AC1")) else {
                return Err(TestCaseError::fail("stop refused"));
            };
            prop_assert_eq!(s.stream_sid, sid);
        }

        #[test]
        fn outbound_round_trips(
            sid in "\\PC{1,40}",
            name in any::<String>(),
            audio in prop::collection::vec(any::<u8>(), 1..2000),
        ) {
            let mut out = String::new();
            twilio::write_media(&mut out, &sid, &audio);
            prop_assert_eq!(parse_outbound_for(&out, &sid), Ok(Outbound::Media { payload: audio.clone() }));
            let mut prepared = String::new();
            twilio::write_media_prepared(&mut prepared, &sid, &twilio::media_payload_base64(&audio));
            prop_assert_eq!(&prepared, &out);
            out.clear();
            twilio::write_mark(&mut out, &sid, &name);
            prop_assert_eq!(parse_outbound_for(&out, &sid), Ok(Outbound::Mark { name: name.clone() }));
            out.clear();
            twilio::write_clear(&mut out, &sid);
            prop_assert_eq!(parse_outbound_for(&out, &sid), Ok(Outbound::Clear));
        }

        #[test]
        fn twiml_is_well_formed_for_any_values(
            action in any::<String>(),
            url in any::<String>(),
            params in prop::collection::vec((any::<String>(), any::<String>()), 0..4),
            number in any::<String>(),
            callback in any::<String>(),
            text in any::<String>(),
            record in any::<bool>(),
        ) {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let xml = twilio::connect_stream(&action, &url, &pairs);
            prop_assert!(check_xml(&xml).is_ok(), "{:?}: {}", check_xml(&xml), xml);
            let found = attributes(&xml, "Parameter");
            prop_assert_eq!(found.len(), params.len());
            for (attrs, (k, v)) in found.iter().zip(&params) {
                prop_assert_eq!(&attrs[0].1, &xml_safe(k));
                prop_assert_eq!(&attrs[1].1, &xml_safe(v));
            }
            prop_assert_eq!(&attributes(&xml, "Connect")[0][0].1, &xml_safe(&action));
            let xml = twilio::dial(&number, record, Some(&callback), Some(&callback));
            prop_assert!(check_xml(&xml).is_ok(), "{:?}: {}", check_xml(&xml), xml);
            prop_assert_eq!(xml.contains(" record=\"record-from-answer-dual\""), record);
            prop_assert_eq!(xml.contains(" recordingStatusCallback="), record);
            let xml = twilio::say_and_hangup(&text, &callback);
            prop_assert!(check_xml(&xml).is_ok(), "{:?}: {}", check_xml(&xml), xml);
        }

        #[test]
        fn signatures_ignore_parameter_order(
            params in prop::collection::vec(("[A-Za-z]{1,6}", "\\PC{0,8}"), 0..6),
            token in "\\PC{0,20}",
            seed in any::<u64>(),
        ) {
            let mut params: Vec<(String, String)> = params;
            let sig = twilio::signature(&token, "https://h/p", &params);
            prop_assert!(twilio::validate_signature(&token, "https://h/p", &params, &sig));
            // Rotate: same multiset, another order.
            if !params.is_empty() {
                let k = (seed % params.len() as u64) as usize;
                params.rotate_left(k);
            }
            prop_assert_eq!(twilio::signature(&token, "https://h/p", &params), sig.clone());
            params.push(("Extra".into(), "1".into()));
            prop_assert!(!twilio::validate_signature(&token, "https://h/p", &params, &sig));
        }
    }
}
