//! What reaches the PTY can never carry an escape, a C1 control or an early
//! Enter, whatever the message body.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::inject::{self, ENTER, PASTE_END, PASTE_START};
use courier_terminal::*;
use proptest::prelude::*;

/// Checks the bytes one delivery writes: the injection, then Enter.
fn check_stream(written: &[u8], bracketed: bool) -> Result<(), TestCaseError> {
    prop_assert!(written.ends_with(ENTER));
    let typed = &written[..written.len() - ENTER.len()];
    let inner = if bracketed {
        prop_assert!(typed.starts_with(PASTE_START) && typed.ends_with(PASTE_END));
        &typed[PASTE_START.len()..typed.len() - PASTE_END.len()]
    } else {
        typed
    };
    prop_assert!(!inner.contains(&0x1b), "ESC inside the text");
    prop_assert!(!inner.contains(&b'\r'), "CR before the final Enter");
    if !bracketed {
        prop_assert!(!inner.contains(&b'\n'), "newline in non-bracketed mode");
    }
    let text = std::str::from_utf8(inner).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for c in text.chars() {
        let code = u32::from(c);
        prop_assert!(!(0x80..=0x9f).contains(&code), "C1 control {code:#x}");
        prop_assert!(
            code >= 0x20 || c == '\n' || c == '\t',
            "C0 control {code:#x}"
        );
        prop_assert!(code != 0x7f);
    }
    Ok(())
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        proptest::collection::vec(
            prop_oneof![
                Just("\x1b[201~".to_string()),
                Just("\x1b[200~".to_string()),
                Just("\r".to_string()),
                Just("\r\n".to_string()),
                Just("\u{9b}".to_string()),
                Just("\u{85}".to_string()),
                Just("\x1b]0;x\x07".to_string()),
                "[a-z \n\t]{0,8}",
            ],
            0..20
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    // PROPTEST_CASES runs it at scale on demand.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600)
    ))]

    #[test]
    fn framed_injections_are_safe_in_both_modes(body in body(), chunk in 1usize..64) {
        let text = framed("01PROP", &body);
        for bracketed in [true, false] {
            let inj = inject::build(&text, bracketed, chunk);
            let mut written = inj.bytes();
            written.extend_from_slice(ENTER);
            check_stream(&written, bracketed)?;
        }
    }

    #[test]
    fn unframed_hostile_text_is_safe_too(body in body()) {
        for bracketed in [true, false] {
            let mut written = inject::build(&body, bracketed, 7).bytes();
            written.extend_from_slice(ENTER);
            check_stream(&written, bracketed)?;
        }
    }
}

#[tokio::test]
async fn bytes_through_a_real_pty_are_exactly_the_safe_ones() {
    // A raw tty passes bytes through untouched; cat records them.
    let a = spawn_cmd(
        "recorder",
        "sh",
        &[
            "-c",
            "stty raw -echo && echo armed && exec cat > recorded.bin",
        ],
        &[],
    );
    let deadline = Instant::now() + PATIENCE;
    while !a.screen().contains("armed") {
        assert!(Instant::now() < deadline, "recorder never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let evil = "stop\x1b[201~\rrm -rf ~\r\n\x1b[2J\u{9b}6n\x07end";
    let text = framed("01PTY", evil);
    let mut expected = Vec::new();
    for bracketed in [true, false] {
        let inj = inject::build(&text, bracketed, 5);
        for chunk in &inj.chunks {
            a.write(chunk).await.unwrap();
        }
        a.write(ENTER).await.unwrap();
        let mut one = inj.bytes();
        one.extend_from_slice(ENTER);
        check_stream(&one, bracketed).unwrap();
        expected.extend(one);
    }
    let path = a.dir.path().join("recorded.bin");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = std::fs::read(&path).unwrap_or_default();
        if got.len() >= expected.len() || Instant::now() > deadline {
            assert_eq!(got, expected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill().await;
}
