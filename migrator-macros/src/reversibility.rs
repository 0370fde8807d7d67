//! `reversibility_tests!`: one `#[test]` per revision and backend.

use std::collections::HashSet;

use migrator_core::model::Revision;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Token};

use crate::expand::{compile_errors, resolve};

/// `"dir", path::TO::MIGRATIONS` then optionally `, backends = [postgres,
/// sqlite, mysql]` (a trailing comma allowed).
struct Input {
    dir: LitStr,
    migrations: Expr,
    backends: Vec<Backend>,
}

/// A backend a test is generated for: the name in the test's name (and in
/// the macro's `backends` argument) and the
/// `migrator_runtime::testing::Kind` variant.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Backend {
    name: &'static str,
    variant: &'static str,
}

/// Every backend, in the order of the generated tests.
const BACKENDS: [Backend; 3] = [
    Backend {
        name: "sqlite",
        variant: "Sqlite",
    },
    Backend {
        name: "postgres",
        variant: "Postgres",
    },
    Backend {
        name: "mysql",
        variant: "Mysql",
    },
];

/// The default: the backends the runtime's `testing` feature always builds
/// (MySQL needs its `mysql` feature as well, so it is named to be tested).
const DEFAULT_BACKENDS: usize = 2;

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dir: LitStr = input.parse()?;
        input.parse::<Token![,]>()?;
        let migrations: Expr = input.parse()?;
        let mut backends = BACKENDS[..DEFAULT_BACKENDS].to_vec();
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            backends = parse_backends(input)?;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected argument: reversibility_tests! takes the migrations directory, the \
                 embedded migrations and optionally `backends = [...]`",
            ));
        }
        Ok(Input {
            dir,
            migrations,
            backends,
        })
    }
}

/// `backends = [postgres, sqlite, mysql]`: at least one, each known, none
/// twice.
fn parse_backends(input: ParseStream<'_>) -> syn::Result<Vec<Backend>> {
    let key: Ident = input.parse()?;
    if key != "backends" {
        return Err(syn::Error::new(
            key.span(),
            format!(
                "unknown argument `{key}`: the optional third argument is `backends = [postgres, sqlite, mysql]`"
            ),
        ));
    }
    input.parse::<Token![=]>()?;
    let content;
    let brackets = syn::bracketed!(content in input);
    let names = content.parse_terminated(Ident::parse, Token![,])?;
    if names.is_empty() {
        return Err(syn::Error::new(
            brackets.span.join(),
            "`backends` is empty: name at least one of `postgres`, `sqlite`, `mysql`",
        ));
    }
    let mut backends: Vec<Backend> = Vec::new();
    for name in names {
        let Some(backend) = BACKENDS.iter().find(|b| name == b.name) else {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "unknown backend `{name}`: the reversibility tests run on `postgres`, `sqlite` and `mysql`"
                ),
            ));
        };
        if backends.contains(backend) {
            return Err(syn::Error::new(
                name.span(),
                format!("backend `{name}` is named twice"),
            ));
        }
        backends.push(*backend);
    }
    Ok(backends)
}

/// The whole expansion. Never panics: every failure becomes a
/// `compile_error!`.
pub(crate) fn reversibility_tests(input: TokenStream) -> TokenStream {
    let Input {
        dir: lit,
        migrations,
        backends,
    } = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let dir = match resolve(&lit) {
        Ok(dir) => dir,
        Err(error) => return error.into_compile_error(),
    };
    // The graph is what the tests need; the online-safety rules are
    // `embed_migrations!`'s to report (with its `postgres_lint` switch).
    let mut checks = migrator_core::model::Checks::default();
    checks.postgres_lint = false;
    let graph = match migrator_core::load_dir_with(&dir, &lit.value(), &checks) {
        Ok(graph) => graph,
        Err(diagnostics) => return compile_errors(&diagnostics, lit.span()),
    };
    let mut seen = HashSet::new();
    let mut tests = Vec::new();
    let mut tracked = Vec::new();
    for &index in graph.order() {
        let revision = graph.revision(index);
        let path = dir.join(revision.file_name.as_ref());
        let path = path.to_string_lossy().into_owned();
        // Makes Cargo rebuild (and rename the tests) when the file is edited.
        tracked.push(quote!(::core::include_str!(#path)));
        for &Backend {
            name: backend,
            variant,
        } in &backends
        {
            let name = unique(&mut seen, test_name(backend, revision));
            let ident = format_ident!("{}", name);
            let variant = format_ident!("{}", variant);
            // MySQL's variant exists with the runtime's `mysql` feature
            // only: without it, a message that says so.
            let kind = if backend == "mysql" {
                quote!(::migrator_runtime::__private::mysql_test_kind!())
            } else {
                quote!(::migrator_runtime::testing::Kind::#variant)
            };
            let id = revision.id.as_ref();
            let doc = format!(
                "Revision `{}` ({}) is reversible on {backend}: upgrade, downgrade and upgrade \
                 again leave the schema as they found it.",
                revision.id, revision.file_name
            );
            tests.push(quote! {
                #[doc = #doc]
                #[test]
                fn #ident() {
                    ::migrator_runtime::testing::reversibility_test(
                        &#migrations,
                        #id,
                        #kind,
                    );
                }
            });
        }
    }
    quote! {
        const _: &[&str] = &[#(#tracked),*];
        #(#tests)*
    }
}

/// `reversible_<backend>_r<id>_<slug>`, lower case, `_` for anything that is
/// not a letter, digit or `_`.
fn test_name(backend: &str, revision: &Revision) -> String {
    format!("reversible_{backend}_r{}_{}", revision.id, revision.slug)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `name`, or `name_2`, `name_3`… when taken (IDs differing only in case).
fn unique(seen: &mut HashSet<String>, name: String) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !seen.insert(candidate.clone()) {
        candidate = format!("{name}_{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_backend_then_r_id_then_slug() {
        let revision = Revision {
            id: "AB1".into(),
            slug: "Add_Keys".into(),
            file_name: "AB1_Add_Keys.sql".into(),
            message: "Add keys".into(),
            description: "".into(),
            revises: std::borrow::Cow::Borrowed(&[]),
            create_date: None,
            transactional: true,
            timeout: None,
            allow_destructive: false,
            body: migrator_core::model::Body::Rust,
            checksum: "".into(),
        };
        assert_eq!(
            test_name("sqlite", &revision),
            "reversible_sqlite_rab1_add_keys"
        );
    }
}
