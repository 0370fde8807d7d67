//! The check of a Rust revision: `pub fn upgrade` and `pub fn downgrade`, each
//! with one parameter, at the top level of a file that parses.

use syn::{Item, ItemFn, Visibility};

use super::{Diagnostics, Rule};

/// The signature a Rust revision's function is expected to have.
fn signature(name: &str) -> String {
    format!(
        "pub fn {name}(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult"
    )
}

/// Checks the Rust revision `text` (normalised) of `file_name`, reporting at
/// `path`.
pub(super) fn check_rust(text: &str, file_name: &str, path: &str, diagnostics: &mut Diagnostics) {
    // Inside the proc-macro the compiler would lex the text, and every span
    // would be the macro call's; proc-macro2's own lexer keeps the file's
    // lines, so syntax errors can name theirs.
    proc_macro2::fallback::force();
    check_lexed(text, file_name, path, diagnostics);
    proc_macro2::fallback::unforce();
}

fn check_lexed(text: &str, file_name: &str, path: &str, diagnostics: &mut Diagnostics) {
    let syntax_error =
        |diagnostics: &mut Diagnostics, line: usize, error: &dyn std::fmt::Display| {
            diagnostics.report(
                path,
                u32::try_from(line).ok().filter(|&l| l > 0),
                Rule::RustRevision,
                format!("Rust revision does not parse: {error}"),
                format!(
                    "fix the syntax; the file defines `pub fn upgrade` and `{}`",
                    signature("downgrade")
                ),
            );
        };
    let tokens: proc_macro2::TokenStream = match text.parse() {
        Ok(tokens) => tokens,
        Err(error) => {
            let error: proc_macro2::LexError = error;
            let line = error.span().start().line;
            return syntax_error(
                diagnostics,
                line,
                &"a token does not lex (an unterminated string, comment or character literal, or a stray character)",
            );
        }
    };
    let file: syn::File = match syn::parse2(tokens) {
        Ok(file) => file,
        Err(error) => return syntax_error(diagnostics, error.span().start().line, &error),
    };
    for (name, rule) in [
        ("upgrade", Rule::RustRevision),
        ("downgrade", Rule::MissingDowngrade),
    ] {
        let function = file.items.iter().find_map(|item| match item {
            Item::Fn(function) if function.sig.ident == name => Some(function),
            _ => None,
        });
        match function {
            Some(function) => check_function(text, name, function, path, diagnostics),
            None => diagnostics.report(
                path,
                None,
                rule,
                format!("`{file_name}` has no `pub fn {name}`"),
                format!("add `{}` at the top level of the file", signature(name)),
            ),
        }
    }
}

fn check_function(
    text: &str,
    name: &str,
    function: &ItemFn,
    path: &str,
    diagnostics: &mut Diagnostics,
) {
    let line = fn_line(text, name);
    if !matches!(function.vis, Visibility::Public(_)) {
        diagnostics.report(
            path,
            line,
            Rule::RustRevision,
            format!("`fn {name}` is not `pub`"),
            format!("declare it as `{}`", signature(name)),
        );
    }
    let count = function.sig.inputs.len();
    if count != 1 {
        let takes = match count {
            0 => "no parameter".to_owned(),
            n => format!("{n} parameters"),
        };
        diagnostics.report(
            path,
            line,
            Rule::RustRevision,
            format!("`fn {name}` takes {takes}, not exactly one"),
            format!("declare it as `{}`", signature(name)),
        );
    }
}

/// The line of `fn <name>`, found in the text: spans of a file parsed inside a
/// proc-macro carry no lines of their own.
fn fn_line(text: &str, name: &str) -> Option<u32> {
    (1..)
        .zip(text.lines())
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .find(|(_, line)| {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            words.windows(2).any(|w| w == ["fn", name])
        })
        .map(|(number, _)| number)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str =
        "(db: &mut migrator_runtime::MigrationContext<'_>) -> migrator_runtime::RevisionResult";

    fn check(text: &str) -> Vec<(Option<u32>, Rule, String)> {
        let mut diagnostics = Diagnostics::new();
        check_rust(
            text,
            "004_backfill.rs",
            "m/004_backfill.rs",
            &mut diagnostics,
        );
        diagnostics
            .into_iter()
            .map(|d| (d.line, d.rule, d.message))
            .collect()
    }

    #[test]
    fn a_valid_revision_passes() {
        let text = format!(
            "//! Backfill\n\nuse std::fmt;\n\npub fn upgrade{SIGNATURE} {{ Ok(()) }}\n\n/// Undo.\npub fn downgrade{SIGNATURE} {{\n    Ok(())\n}}\n\nfn helper(a: u8, b: u8) {{}}\n"
        );
        assert_eq!(check(&text), []);
    }

    #[test]
    fn a_missing_downgrade_names_the_file() {
        let text = format!(
            "pub fn upgrade{SIGNATURE} {{ Ok(()) }}\nmod inner {{ pub fn downgrade() {{}} }}\n"
        );
        assert_eq!(
            check(&text),
            [(
                None,
                Rule::MissingDowngrade,
                "`004_backfill.rs` has no `pub fn downgrade`".to_owned()
            )]
        );
    }

    #[test]
    fn every_signature_problem_is_reported() {
        let text = "//! x\n\nfn upgrade(db: u8) {}\n\npub fn\n  downgrade(a: u8, b: u8) {}\n";
        assert_eq!(
            check(text),
            [
                (
                    Some(3),
                    Rule::RustRevision,
                    "`fn upgrade` is not `pub`".to_owned()
                ),
                (
                    None,
                    Rule::RustRevision,
                    "`fn downgrade` takes 2 parameters, not exactly one".to_owned()
                ),
            ]
        );
        let problems = check("pub(crate) fn upgrade() {}\n");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(
            problems[1].2,
            "`fn upgrade` takes no parameter, not exactly one"
        );
        assert_eq!(problems[2].1, Rule::MissingDowngrade);
    }

    #[test]
    fn a_syntax_error_has_its_line() {
        let problems = check("//! x\n\npub fn upgrade(db: u8) {\n    let = 1;\n}\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, Some(4));
        assert_eq!(problems[0].1, Rule::RustRevision);
        assert!(problems[0].2.starts_with("Rust revision does not parse: "));
    }
}
