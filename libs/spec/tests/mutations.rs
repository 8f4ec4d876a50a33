#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Fuzzing without a fuzzer: thousands of deterministic mutations of every test file (lines
//! dropped, duplicated, swapped, re-indented; tokens replaced by YAML and Polyaxon trouble
//! makers; text cut short) go through parse → serialize → compile → check. None may panic.
//! The cargo-fuzz target in `fuzz/` runs the same pipeline on generated input.

use std::path::PathBuf;

use myelin_spec::{CompileContext, check, compile, parse, to_yaml};

/// Tokens that tend to break parsers and checkers.
const TOKENS: [&str; 40] = [
    "",
    " ",
    "\t",
    ":",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    "\"",
    "*",
    "&a",
    "*a",
    "<<: *a",
    "!!str",
    "null",
    "~",
    "0",
    "-1",
    "1e309",
    "18446744073709551616",
    "0.0",
    "true",
    "{{",
    "}}",
    "{{ x }}",
    "{% for %}",
    "kind: dag",
    "kind: grid",
    "value: 1:0:0",
    "ref: ops.a",
    "dagRef: x",
    "run_status_running",
    "choice",
    "linspace",
    "0 0 30 2 *",
    "\u{feff}",
];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

fn mutate(content: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = content.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    for _ in 0..=rng.below(3) {
        let at = rng.below(lines.len());
        match rng.below(8) {
            0 => {
                lines.remove(at);
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            1 => lines.insert(at, lines[at].clone()),
            2 => {
                let other = rng.below(lines.len());
                lines.swap(at, other);
            }
            3 => lines[at] = format!("  {}", lines[at]),
            4 => lines[at] = lines[at].trim_start().to_owned(),
            5 | 6 => {
                let chars: Vec<char> = lines[at].chars().collect();
                let start = rng.below(chars.len() + 1);
                let end = (start + rng.below(6)).min(chars.len());
                let token = TOKENS[rng.below(TOKENS.len())];
                lines[at] =
                    chars[..start].iter().collect::<String>() + token + &chars[end..].iter().collect::<String>();
            }
            _ => {
                let keep = rng.below(lines.len()) + 1;
                lines.truncate(keep);
            }
        }
    }
    lines.join("\n")
}

fn corpus() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files = Vec::new();
    for folder in ["polyaxonfiles", "docs", "invalid"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                files.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn mutated_files_never_panic() {
    let corpus = corpus();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let ctx = CompileContext::default();
    let (mut parsed, mut total) = (0, 0);
    let variants = 10_000 / corpus.len() + 1;
    for content in &corpus {
        for _ in 0..variants {
            let mutated = mutate(content, &mut rng);
            total += 1;
            let result = std::panic::catch_unwind(|| {
                let mut ok = false;
                if let Ok(document) = parse(&mutated) {
                    ok = true;
                    let _ = to_yaml(&document.spec);
                    let _ = compile(&document, &[], &[], &ctx);
                }
                let report = check(
                    &[("m.yaml".to_owned(), mutated.clone())],
                    &[("lr".to_owned(), "1".to_owned())],
                    &[],
                    true,
                );
                let _ = report.to_string();
                ok
            });
            match result {
                Ok(ok) => parsed += usize::from(ok),
                Err(_) => panic!("panic on:\n{mutated}"),
            }
        }
    }
    assert!(total >= 10_000, "{total} variants");
    assert!(
        parsed > total / 20,
        "only {parsed} of {total} variants parsed: the mutations are too destructive"
    );
}
