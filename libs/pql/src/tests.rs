//! Parser and compiler unit tests (no database; the SQL runs in `tests/sql.rs`).

use sea_query::{Expr, PostgresQueryBuilder, Query as Select, SqliteQueryBuilder};

use crate::ast::{Comparison, Item, Like, Op, Query, Term};
use crate::{Backend, Field, Kind, Schema, codes, compile, parse, parse_sort};

fn item(text: &str, pos: usize) -> Item {
    Item {
        text: text.into(),
        pos,
        quoted: false,
        like: Like::Exact,
    }
}

fn term(q: &Query) -> &Term {
    match q {
        Query::Term(t) => t,
        other => panic!("not a term: {other:?}"),
    }
}

#[test]
fn terms_values_and_positions() {
    let q = parse("status:running|queued").unwrap();
    let t = term(&q);
    assert_eq!(
        (t.field.as_str(), t.field_pos, t.op_pos, t.negated),
        ("status", 0, 7, false)
    );
    assert_eq!(t.op, Op::Any(vec![item("running", 7), item("queued", 15)]));

    // Polyaxon's documented spacing: a value list with blanks around `|`.
    let q = parse("status: ~ started | building").unwrap();
    let t = term(&q);
    assert!(t.negated);
    assert_eq!(t.op, Op::Any(vec![item("started", 10), item("building", 20)]));

    let t = parse("metrics.loss: <=0.2").unwrap();
    assert_eq!(term(&t).op, Op::Compare(Comparison::Lte, item("0.2", 16)));
    let t = parse("metrics.loss:=>1").unwrap();
    assert_eq!(term(&t).op, Op::Compare(Comparison::Gte, item("1", 15)));

    let t = parse("created_at:2024-01-01 10:10 .. 2024-02-01").unwrap();
    assert_eq!(
        term(&t).op,
        Op::Range(item("2024-01-01 10:10", 11), item("2024-02-01", 31))
    );

    assert_eq!(term(&parse("tags:nil").unwrap()).op, Op::Nil);
    let t = parse("finished_at:~nil").unwrap();
    assert!(term(&t).negated && term(&t).op == Op::Nil);
    // Quoted nil is the text "nil".
    assert!(matches!(term(&parse("name:'nil'").unwrap()).op, Op::Any(_)));
}

#[test]
fn like_and_quotes() {
    let like = |q: &str| match &term(&parse(q).unwrap()).op {
        Op::Any(items) => (items[0].text.clone(), items[0].like, items[0].quoted),
        other => panic!("{other:?}"),
    };
    assert_eq!(like("name:%demo%"), ("demo".into(), Like::Contains, false));
    assert_eq!(like("name:demo%"), ("demo".into(), Like::Prefix, false));
    assert_eq!(like("name:%demo"), ("demo".into(), Like::Suffix, false));
    assert_eq!(like(r#"name:"a, b | c""#), ("a, b | c".into(), Like::Exact, true));
    assert_eq!(like(r#"name:%"my run"%"#), ("my run".into(), Like::Contains, true));
    assert_eq!(like(r#"name:'it\'s'"#), ("it's".into(), Like::Exact, true));
    assert_eq!(like("name:bob's run"), ("bob's run".into(), Like::Exact, false));
    assert_eq!(
        like("description:this or that"),
        ("this or that".into(), Like::Exact, false)
    );
}

#[test]
fn boolean_structure_and_precedence() {
    // AND binds tighter than OR; `|` followed by a condition is OR.
    let q = parse("a:1, b:2 | c:3").unwrap();
    let Query::Any(parts) = &q else { panic!("{q:?}") };
    assert!(matches!(&parts[0], Query::All(inner) if inner.len() == 2));
    assert_eq!(term(&parts[1]).field, "c");

    let q = parse("(kind:job OR kind:service) and ~(user:bot)").unwrap();
    let Query::All(parts) = &q else { panic!("{q:?}") };
    assert!(matches!(&parts[0], Query::Any(inner) if inner.len() == 2));
    assert!(matches!(&parts[1], Query::Not(_)));

    let q = parse("status:running|(name:x)").unwrap();
    assert!(matches!(q, Query::Any(ref p) if p.len() == 2));
    // Trailing and doubled commas are ignored, as Polyaxon does.
    assert!(matches!(parse("a:1,, b:2,").unwrap(), Query::All(ref p) if p.len() == 2));
    assert_eq!(parse("  ").unwrap(), Query::All(vec![]));
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let cases: &[(&str, usize)] = &[
        ("status", 6),                   // no `:`
        ("status:", 7),                  // no value
        ("(status:running", 15),         // unclosed group
        ("status:running)", 14),         // stray `)`
        ("name:'; DROP TABLE x; --", 5), // unterminated quote
        ("a:1 b:2", 4),                  // missing separator
        ("a:1, :2", 5),                  // missing field
        ("metrics.loss:<1|2", 15),       // list after a comparison
        ("created_at:a..b|c", 15),       // list after a range
        ("a:1 OR", 3),                   // dangling OR becomes part of the value? no: see below
        ("metrics..loss:1", 0),          // empty field segment
        ("name:\"x\" y", 9),             // text after a quoted value
    ];
    for &(query, position) in cases {
        match parse(query) {
            Err(err) => {
                assert_eq!(err.code, codes::SYNTAX, "{query}: {err}");
                assert_eq!(err.position, position, "{query}: {err}");
            }
            // `a:1 OR` is the value `1 OR`: OR only separates when a condition follows.
            Ok(q) if query == "a:1 OR" => assert_eq!(term(&q).op, Op::Any(vec![item("1 OR", 2)])),
            Ok(q) => panic!("{query} parsed: {q:?}"),
        }
    }
    let deep = format!("{}a:1{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(parse(&deep).unwrap_err().code, codes::SYNTAX);
}

struct Fields;

impl Schema for Fields {
    fn field(&self, name: &str, _: Backend) -> Option<Field> {
        Some(match name {
            "name" => Field::new(Kind::Text, Expr::col("name")).nullable(),
            "status" => Field::new(
                Kind::Choice(vec!["running".into(), "queued".into()]),
                Expr::col("status"),
            ),
            "loss" => Field::new(Kind::Number, Expr::col("loss")).nullable(),
            "created_at" => Field::new(Kind::DateTime, Expr::col("created_at")),
            "tags" => Field::new(Kind::Tags, Expr::col("tags")).nullable(),
            "archived" => Field::new(Kind::Bool, Expr::col("archived")),
            _ => return None,
        })
    }

    fn names(&self) -> Vec<String> {
        vec!["name".into(), "status".into()]
    }
}

fn sql(query: &str, backend: Backend) -> Result<(String, usize), crate::PqlError> {
    let condition = compile(&parse(query)?, &Fields, backend)?;
    let select = Select::select()
        .column("name")
        .from("t")
        .cond_where(condition)
        .to_owned();
    let (sql, values) = match backend {
        Backend::Sqlite => select.build(SqliteQueryBuilder),
        Backend::Postgres => select.build(PostgresQueryBuilder),
    };
    Ok((sql, values.0.len()))
}

#[test]
fn compile_errors_carry_code_and_position() {
    let err = |q: &str| sql(q, Backend::Sqlite).unwrap_err();
    let e = err("name:a, owner:me");
    assert_eq!(
        (e.code, e.position, e.field.as_deref()),
        (codes::UNKNOWN_FIELD, 8, Some("owner"))
    );
    assert!(e.message.contains("name, status"), "{e}");
    let e = err("status:runing");
    assert_eq!((e.code, e.position), (codes::INVALID_VALUE, 7));
    let e = err("loss:<low");
    assert_eq!((e.code, e.position), (codes::INVALID_VALUE, 6));
    let e = err("name:<3");
    assert_eq!((e.code, e.position), (codes::INVALID_OPERATOR, 5));
    let e = err("loss:%3%");
    assert_eq!(e.code, codes::INVALID_OPERATOR);
    let e = err("created_at:2024-02-30");
    assert_eq!((e.code, e.position), (codes::INVALID_VALUE, 11));
    let e = err("tags:a..b");
    assert_eq!(e.code, codes::INVALID_OPERATOR);
    let e = err("archived:perhaps");
    assert_eq!(e.code, codes::INVALID_VALUE);
}

#[test]
fn values_are_bound_never_spliced() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (text, params) = sql(r#"name:"'; DROP TABLE t; --" | name:%x_y%, loss:>=0.5"#, backend).unwrap();
        assert!(
            !text.contains("DROP") && !text.contains("x_y") && !text.contains("0.5"),
            "{text}"
        );
        assert_eq!(params, 3, "{text}");
        let (text, _) = sql("status:~running|queued", backend).unwrap();
        assert!(text.contains("NOT COALESCE"), "{text}");
        let (text, _) = sql("loss:~<0.5", backend).unwrap();
        assert!(text.contains(">=") && !text.contains("NOT"), "{text}");
    }
    let (empty, params) = sql("", Backend::Sqlite).unwrap();
    assert_eq!((empty.as_str(), params), (r#"SELECT "name" FROM "t" WHERE TRUE"#, 0));
}

#[test]
fn sort_keys() {
    let keys = parse_sort("-created_at, name,+loss", &Fields, Backend::Postgres).unwrap();
    let summary: Vec<_> = keys
        .iter()
        .map(|k| (k.field.as_str(), k.order.clone(), k.nulls_last))
        .collect();
    use sea_query::Order::{Asc, Desc};
    assert_eq!(
        summary,
        vec![("created_at", Desc, false), ("name", Asc, true), ("loss", Asc, true)]
    );
    let e = parse_sort("name, -bogus", &Fields, Backend::Sqlite).unwrap_err();
    assert_eq!((e.code, e.position), (codes::UNKNOWN_FIELD, 7));
    let e = parse_sort("name, - tags", &Fields, Backend::Sqlite).unwrap_err();
    assert_eq!((e.code, e.position), (codes::INVALID_OPERATOR, 8));
    let e = parse_sort("name;drop", &Fields, Backend::Sqlite).unwrap_err();
    assert_eq!((e.code, e.position), (codes::SYNTAX, 0));
    assert!(parse_sort(" , ", &Fields, Backend::Sqlite).unwrap().is_empty());
}

#[test]
fn arbitrary_text_never_panics() {
    // A deterministic stream of fragments, multi-byte characters included, glued at random.
    const PIECES: &[&str] = &[
        "a",
        "status",
        ":",
        "~",
        "(",
        ")",
        ",",
        "|",
        " | ",
        "..",
        "%",
        "\"",
        "'",
        "\\",
        " ",
        "OR",
        " and ",
        "nil",
        "<",
        ">=",
        "=<",
        "é",
        "😀",
        "名前",
        "\t",
        "metrics.loss",
        "0.2",
        "2024-01-01",
        "-",
        ".",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..next() % 12 {
            text.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
        }
        if let Ok(query) = parse(&text) {
            parsed += 1;
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let _ = compile(&query, &Fields, backend);
            }
        } else if let Err(err) = parse(&text) {
            assert!(err.position <= text.len(), "{text:?}: {err}");
            assert!(text.is_char_boundary(err.position), "{text:?}: {err}");
        }
        let _ = parse_sort(&text, &Fields, Backend::Sqlite);
    }
    assert!(parsed > 1000, "only {parsed} texts parsed");
}
