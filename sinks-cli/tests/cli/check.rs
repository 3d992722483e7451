//! `sinks check`: the verdict, the rustc-style snippets, the JSON, the exit status.

use crate::support::{TempConfig, code, run, stderr, stdout, workspace};

#[test]
fn a_valid_file_says_so_and_exits_0() {
    let output = run(&["check", "examples/services.toml"], b"");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "examples/services.toml is valid: 7 services (1 relay, 4 direct, 2 composite)\n"
    );
    assert_eq!(stderr(&output), "");
}

#[test]
fn every_problem_is_shown_as_rustc_shows_errors() {
    let output = run(&["check", "tests/ui/many-problems.toml"], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    let shown = stderr(&output);
    // Not a terminal: no colour codes.
    assert!(!shown.contains('\x1b'), "{shown:?}");
    let expected = "\
error: service `a`, key `endpont`: unknown key `endpont`
 --> tests/ui/many-problems.toml:3:1
  |
3 | endpont = \"unix:///tmp/a.sock\"
  | ^^^^^^^
  |
  = help: did you mean `endpoint`?

error: service `a`, key `buffer_size`: `buffer_size` is 0
 --> tests/ui/many-problems.toml:4:15
  |
4 | buffer_size = 0
  |               ^
  |
  = help: use a whole number from 1 to 16777216

error: service `b`, key `pattern`: unknown pattern `fanot`
 --> tests/ui/many-problems.toml:8:11
  |
8 | pattern = \"fanot\"
  |           ^^^^^^^
  |
  = help: did you mean `fanout`?

error: service `b`, key `targets`: the targets form a cycle: b -> b
 --> tests/ui/many-problems.toml:9:1
  |
9 | targets = [\"a\", \"c\", \"b\"]
  | ^^^^^^^
  |
  = help: a composite cannot target itself; remove `b` from its `targets`

error: service `b`, key `targets`: target `c` is not defined
 --> tests/ui/many-problems.toml:9:17
  |
9 | targets = [\"a\", \"c\", \"b\"]
  |                 ^^^
  |
  = help: define `[services.c]`, or remove it from `targets`

error: `tests/ui/many-problems.toml` has 5 problems
";
    assert_eq!(shown, expected);
}

#[test]
fn a_toml_syntax_error_points_at_where_the_parser_stopped() {
    let output = run(&["check", "tests/ui/toml-syntax.toml"], b"");
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).starts_with(
            "\
error: service `a`: invalid TOML: invalid basic string, expected `\"`
 --> tests/ui/toml-syntax.toml:3:31
  |
3 | endpoint = \"unix:///tmp/a.sock
  |                               ^

error: `tests/ui/toml-syntax.toml` has 1 problem
"
        ),
        "{}",
        stderr(&output)
    );
}

/// Every problem the macro reports for a UI case (from its checked-in
/// `.stderr`) as `(line, column, "service `a`, key `b`: message; help")`,
/// which `check` must report too, in the same words.
fn macro_problems(case: &str) -> Vec<(usize, usize, String)> {
    let stderr = std::fs::read_to_string(workspace().join(format!("tests/ui/{case}.stderr")))
        .expect("the case's expected stderr");
    // compiletest.rs: a case names its TOML as `workspace/tests/ui/case.toml`.
    let prefix = format!("error: workspace/tests/ui/{case}.toml:");
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line = parts.next().and_then(|n| n.parse().ok()).expect("a line");
            let column = parts.next().and_then(|n| n.parse().ok()).expect("a column");
            // trybuild writes the repository (the macro's `workspace/`) as
            // `$DIR`; `check` is run in the repository, so it writes nothing.
            let text = parts
                .next()
                .expect("a message")
                .trim_start()
                .replace("`$DIR/", "`");
            (line, column, text)
        })
        .collect()
}

/// A JSON problem in the words `ConfigError`'s Display (and so the macro) uses.
fn as_the_macro_words_it(problem: &serde_json::Value) -> (usize, usize, String) {
    let text = |field: &str| problem[field].as_str().map(str::to_owned);
    let subject = match (text("service"), text("key")) {
        (Some(service), Some(key)) => format!("service `{service}`, key `{key}`: "),
        (Some(service), None) => format!("service `{service}`: "),
        (None, Some(key)) => format!("key `{key}`: "),
        (None, None) => String::new(),
    };
    let help = text("help").map_or(String::new(), |help| format!("; {help}"));
    (
        problem["line"].as_u64().expect("a line") as usize,
        problem["column"].as_u64().expect("a column") as usize,
        format!("{subject}{}{help}", text("message").expect("a message")),
    )
}

#[test]
fn check_rejects_every_ui_case_where_the_macro_does_in_its_words() {
    let ui = workspace().join("tests/ui");
    let mut cases = 0;
    for entry in std::fs::read_dir(&ui).expect("tests/ui") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|extension| extension != "toml") {
            continue;
        }
        let case = path.file_stem().and_then(|s| s.to_str()).expect("a name");
        let expected = macro_problems(case);
        if expected.is_empty() {
            continue;
        }
        cases += 1;
        let file = format!("tests/ui/{case}.toml");
        let human = run(&["check", "--compiled", &file], b"");
        assert_eq!(code(&human), 1, "{case}");
        let json = run(&["check", "--compiled", "--format", "json", &file], b"");
        assert_eq!(code(&json), 1, "{case}");
        let problems: Vec<serde_json::Value> =
            serde_json::from_slice(&json.stdout).expect("a JSON array");
        let found: Vec<(usize, usize, String)> =
            problems.iter().map(as_the_macro_words_it).collect();
        assert_eq!(found, expected, "{case}: the JSON problems");
        for (line, column, _) in expected {
            let arrow = format!(" --> {file}:{line}:{column}\n");
            assert!(
                stderr(&human).contains(&arrow),
                "{case}: no {arrow:?} in\n{}",
                stderr(&human)
            );
        }
    }
    assert!(cases >= 20, "only {cases} UI cases found");
}

#[test]
fn json_has_every_field_of_each_problem() {
    let output = run(
        &["check", "--format", "json", "tests/ui/unknown-key.toml"],
        b"",
    );
    assert_eq!(code(&output), 1);
    let problems: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let expected = serde_json::json!([{
        "file": "tests/ui/unknown-key.toml",
        "line": 3,
        "column": 1,
        "service": "a",
        "key": "endpont",
        "message": "unknown key `endpont`",
        "help": "did you mean `endpoint`?",
    }]);
    assert_eq!(problems, expected);

    let valid = run(
        &["check", "--format", "json", "examples/services.toml"],
        b"",
    );
    assert_eq!(code(&valid), 0);
    assert_eq!(stdout(&valid).trim(), "[]");
}

#[test]
fn an_unreadable_file_is_a_problem_not_a_crash() {
    let config = TempConfig::new("");
    let missing = config.sibling("missing.toml").display().to_string();
    let output = run(&["check", &missing], b"");
    assert_eq!(code(&output), 1);
    assert_eq!(
        stderr(&output),
        format!(
            "error: cannot read the config file: No such file or directory (os error 2)\n --> {missing}\n\nerror: `{missing}` has 1 problem\n"
        )
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["check"][..],
        &["check", "--format", "xml", "examples/services.toml"],
        &["frobnicate"],
        &[],
    ] {
        let output = run(args, b"");
        assert_eq!(code(&output), 2, "sinks {args:?}: {}", stderr(&output));
    }
}

#[test]
fn every_subcommand_has_help() {
    for subcommand in ["check", "graph", "listen", "send", "probe"] {
        let output = run(&[subcommand, "--help"], b"");
        assert_eq!(code(&output), 0, "{subcommand}");
        assert!(
            stdout(&output).contains(&format!("Usage: sinks {subcommand} ")),
            "{subcommand}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn the_readme_shows_a_real_check_output() {
    let output = run(&["check", "tests/ui/many-problems.toml"], b"");
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("```text\n{}```", stderr(&output))),
        "README.md does not show what `sinks check tests/ui/many-problems.toml` prints"
    );
}
