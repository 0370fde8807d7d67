//! Every rejection of FORMAT.md fails the build with its message: one
//! trybuild case per rule, in `ui/<category>/<case>.rs`, each next to the
//! migrations directory it embeds (`ui/<category>/<case>/`).
//!
//! trybuild builds each case as a crate in `target/tests/trybuild/<crate>/`,
//! so the cases name their fixture relative to that directory
//! (`../../../../tests/ui/…`). Refresh the expected messages with
//! `TRYBUILD=overwrite cargo test -p migrator-tests --test compile_fail`.

#[test]
fn format_rejections_fail_the_build() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*/*.rs");
    // What the rules let through: the safe forms of the PostgreSQL
    // online-safety rules, their off switch and released revisions.
    cases.pass("ui-pass/*.rs");
}
