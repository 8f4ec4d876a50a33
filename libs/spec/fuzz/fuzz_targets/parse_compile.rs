//! Fuzzes the whole pipeline on arbitrary text: parse, serialize, compile, check (with lint).
//! Run: `cargo +nightly fuzz run parse_compile -- -max_total_time=120` from `libs/spec`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(document) = myelin_spec::parse(text) {
        let _ = myelin_spec::to_yaml(&document.spec);
        let _ = myelin_spec::compile(&document, &[], &[], &myelin_spec::CompileContext::default());
    }
    let files = [("fuzz.yaml".to_owned(), text.to_owned())];
    let report = myelin_spec::check(&files, &[], &[], true);
    let _ = report.to_string();
});
