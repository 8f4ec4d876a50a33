#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[test]
fn scratch() {
    let cases = [
        "kind: component\nrun:\n  kind: dag\n  operations:\n  - {name: a, hubRef: x}\n  - {name: a, hubRef: x, dependencies: [a]}\n",
        "kind: component\nrun:\n  kind: dag\n  operations:\n  - {name: a, hubRef: x}\n  - {name: b, hubRef: x, dependencies: [b]}\n  concurrency: -2\n",
    ];
    for case in cases {
        println!("=== {case}");
        match myelin_spec::parse_all(case) {
            Ok(_) => println!("OK"),
            Err(errors) => {
                for e in errors {
                    println!("  {}", e.render());
                }
            }
        }
    }
}
