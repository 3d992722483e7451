//! trybuild UI cases for `include_sinks!`: every validation rule is a compile
//! error with the message checked in beside it, and the passing cases compile
//! and run.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
