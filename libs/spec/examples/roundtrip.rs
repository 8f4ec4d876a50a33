//! Prints the camelCase serialization of a Polyaxonfile (YAML), so that CI can pipe it to the
//! official `polyaxon check -f`: `cargo run -p myelin-spec --example roundtrip -- FILE > out.yaml`
//! (see `tests/compat/test_polyaxon_check.py`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: roundtrip FILE");
        return ExitCode::from(2);
    };
    let content = match std::fs::read_to_string(&file) {
        Ok(content) => content,
        Err(error) => {
            eprintln!("cannot read {file}: {error}");
            return ExitCode::from(2);
        }
    };
    match myelin_spec::parse(&content) {
        Ok(document) => match myelin_spec::to_yaml(&document.spec) {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{file}: cannot serialize: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            let error = myelin_spec::Error {
                file: Some(file.as_str().into()),
                ..error
            };
            eprintln!("{}", error.render());
            ExitCode::FAILURE
        }
    }
}
