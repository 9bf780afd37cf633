//! Feeds arbitrary text to the v1 `q` translator over a dataset with a field of every kind:
//! it must not panic, and what it writes must parse as an ODSQL `where` giving back the tree
//! it built.
#![no_main]

use kleber_odsql::v1q::{FieldInfo, FieldKind, translate_expr};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/trees.rs"]
#[allow(dead_code)]
mod trees;

const FIELDS: [FieldInfo<'static>; 7] = [
    FieldInfo { name: "nom", kind: FieldKind::Text },
    FieldInfo { name: "total", kind: FieldKind::Number },
    FieldInfo { name: "taux", kind: FieldKind::Number },
    FieldInfo { name: "ouvert", kind: FieldKind::Boolean },
    FieldInfo { name: "jour", kind: FieldKind::Date },
    FieldInfo { name: "position", kind: FieldKind::Geo },
    FieldInfo { name: "and", kind: FieldKind::Text },
];

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Some(tree)) = translate_expr(q, &FIELDS) else {
        return;
    };
    let text = kleber_odsql::write::expr(&tree);
    match kleber_odsql::parse_where(&text) {
        Ok(read) => assert_eq!(trees::strip(&read), tree, "{q:?} written {text:?}"),
        Err(e) => panic!("{q:?} written {text:?} does not parse: {e}"),
    }
});
