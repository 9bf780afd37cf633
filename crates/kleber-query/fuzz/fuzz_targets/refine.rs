//! `refine`/`exclude` values (`facet:value`, a backticked facet, a quoted value) split as the
//! engine splits them: nothing may panic, a facet name is never empty, and a plain
//! `name:value` whose name has no `:` or backtick gives that name back.
#![no_main]

use kleber_query::fuzzing::split_refine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((name, _value)) = split_refine(text) {
        assert!(!name.is_empty(), "an empty facet name from {text:?}");
    }
    // Any text after a simple name and a colon is a value of that facet.
    let name = "commune";
    let (got_name, _) = split_refine(&format!("{name}:{text}")).expect("name:value splits");
    assert_eq!(got_name, name);
});
