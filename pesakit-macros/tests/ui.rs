//! Every compile error the macros emit, with its message and span
//! (`tests/ui/*.stderr`), compiled against the `pesakit` facade. Regenerate
//! with `TRYBUILD=overwrite` and review.

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
