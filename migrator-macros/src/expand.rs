//! Code generation: from a checked directory to the generated items.

use std::path::{Path, PathBuf};

use migrator_core::model::{self, Checks, Diagnostics, Parsed, Revision, released};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitByteStr, LitStr, Token};

/// `"dir"`, then optionally `, postgres_lint = false` (a trailing comma
/// allowed).
struct Input {
    dir: LitStr,
    checks: Checks,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dir: LitStr = input.parse()?;
        let mut checks = Checks::default();
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            let key: Ident = input.parse()?;
            if key != "postgres_lint" {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown argument `{key}`: the optional second argument is `postgres_lint = false`"
                    ),
                ));
            }
            input.parse::<Token![=]>()?;
            checks.postgres_lint = input.parse::<LitBool>()?.value;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected argument: embed_migrations! takes the migrations directory and \
                 optionally `postgres_lint = false`",
            ));
        }
        // The crate's build script (`migrator_runtime::build::watch`) gives
        // it an OUT_DIR: lint findings are kept there between rebuilds.
        checks.lint_cache = std::env::var_os("OUT_DIR").map(|out| {
            let name: String = dir
                .value()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            PathBuf::from(out).join(format!("migrator-lint-{name}.cache"))
        });
        Ok(Input { dir, checks })
    }
}

/// The whole expansion. Never panics: every failure becomes a
/// `compile_error!` next to stub items.
pub(crate) fn embed_migrations(input: TokenStream) -> TokenStream {
    let Input { dir: lit, checks } = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => {
            let mut tokens = stubs(&[]);
            tokens.extend(error.into_compile_error());
            return tokens;
        }
    };
    let dir = match resolve(&lit) {
        Ok(dir) => dir,
        Err(error) => {
            let mut tokens = stubs(&[]);
            tokens.extend(error.into_compile_error());
            return tokens;
        }
    };
    let display = lit.value();
    match migrator_core::load_dir_with(&dir, &display, &checks) {
        Ok(graph) => generate(graph.revisions(), &dir),
        Err(diagnostics) => failure(&diagnostics, &dir, &display, &checks, lit.span()),
    }
}

/// The directory named by the argument, relative to the invoking crate's
/// manifest directory.
pub(crate) fn resolve(lit: &LitStr) -> syn::Result<PathBuf> {
    let value = lit.value();
    let path = Path::new(&value);
    if path.is_absolute() {
        return Err(syn::Error::new(
            lit.span(),
            "the migrations directory must be relative to the crate's Cargo.toml; \
             an absolute path only works on this machine",
        ));
    }
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            "CARGO_MANIFEST_DIR is not set: embed_migrations! must be built by Cargo",
        )
    })?;
    Ok(PathBuf::from(manifest_dir).join(path))
}

/// One `compile_error!` per problem, at the argument's span.
pub(crate) fn compile_errors(diagnostics: &Diagnostics, span: Span) -> TokenStream {
    diagnostics
        .iter()
        .map(|d| {
            let message = d.to_string();
            quote::quote_spanned!(span=> ::core::compile_error!(#message);)
        })
        .collect()
}

/// One `compile_error!` per problem, at the argument's span, and stubs.
fn failure(
    diagnostics: &Diagnostics,
    dir: &Path,
    display: &str,
    checks: &Checks,
    span: Span,
) -> TokenStream {
    let errors = compile_errors(diagnostics, span);
    // Name what could be parsed, so code that names revisions does not add
    // "not found" errors to the real ones.
    let parsed: Vec<Parsed> =
        model::load_revisions_with(dir, display, checks, &mut Diagnostics::new());
    let revisions: Vec<Revision> = parsed.into_iter().map(|p| p.revision).collect();
    let mut tokens = stubs(&revisions);
    tokens.extend(errors);
    tokens
}

/// The items with no revision data: an empty set, and the typed names.
fn stubs(revisions: &[Revision]) -> TokenStream {
    let names = revision_names(revisions);
    let migrations = migrations_static(&[], Vec::new());
    quote! {
        #migrations
        #names
    }
}

/// `pub static MIGRATIONS`, holding `revisions` in the compact form (two
/// literals: the compiler checks them in constant time, whatever their
/// number) and the functions of the Rust revisions.
fn migrations_static(revisions: &[Revision], rust_entries: Vec<TokenStream>) -> TokenStream {
    let (text, data) = model::compact::encode(revisions);
    // What the version table's digest is once every revision is applied.
    let head_state = model::StateDigest::of(
        revisions
            .iter()
            .map(|r| (r.id.as_ref(), r.checksum.as_ref())),
    )
    .to_string();
    let text = LitByteStr::new(&text, Span::call_site());
    let data = LitByteStr::new(&data, Span::call_site());
    let doc = if revisions.is_empty() {
        "The embedded migrations (none: the directory is empty or has errors)."
    } else {
        "The embedded migrations: every revision of the directory, checked at \
         build time. Pass it to `migrator_runtime::Migrator::new`."
    };
    quote! {
        #[doc = #doc]
        pub static MIGRATIONS: ::migrator_runtime::__private::Migrations =
            ::migrator_runtime::__private::Migrations::__new(
                #text,
                #data,
                #head_state,
                &[#(#rust_entries),*],
            );
    }
}

/// Everything, for a directory that passed every check.
fn generate(revisions: &[Revision], dir: &Path) -> TokenStream {
    let names = revision_names(revisions);
    let mut rust_modules = Vec::new();
    let mut rust_entries = Vec::new();
    let mut tracked = Vec::new();
    for revision in revisions {
        let path = dir.join(revision.file_name.as_ref());
        let path = path.to_string_lossy();
        if revision.is_rust() {
            let module = format_ident!(
                "__migrator_rev_{}_{}",
                revision.id.as_ref(),
                revision.slug.as_ref()
            );
            let id = revision.id.as_ref();
            rust_modules.push(quote! {
                #[doc(hidden)]
                #[allow(non_snake_case)]
                #[path = #path]
                mod #module;
            });
            rust_entries.push(quote! {
                ::migrator_runtime::__private::RustRevision {
                    id: #id,
                    upgrade: #module::upgrade,
                    downgrade: #module::downgrade,
                }
            });
        } else {
            // Makes Cargo rebuild when the file is edited.
            tracked.push(quote!(::core::include_str!(#path)));
        }
    }
    let sum = dir.join(released::FILE_NAME);
    if sum.is_file() {
        // Makes Cargo rebuild when a release is recorded.
        let sum = sum.to_string_lossy();
        tracked.push(quote!(::core::include_str!(#sum)));
    }
    let migrations = migrations_static(revisions, rust_entries);
    quote! {
        #migrations
        const _: &[&str] = &[#(#tracked),*];
        #(#rust_modules)*
        #names
    }
}

/// `pub mod revisions { pub const REV_001_ADD_API_KEYS: RevisionId = …; }`.
fn revision_names(revisions: &[Revision]) -> TokenStream {
    let mut seen = std::collections::HashSet::new();
    let constants = revisions.iter().map(|revision| {
        let base = format!("REV_{}_{}", revision.id, revision.slug).to_uppercase();
        // IDs differing only in case would collide once upper-cased.
        let mut name = base.clone();
        let mut n = 2;
        while !seen.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        let ident = format_ident!("{}", name);
        let id = revision.id.as_ref();
        let doc = format!(
            "`{}`: {} ({})",
            revision.id, revision.message, revision.file_name
        );
        quote! {
            #[doc = #doc]
            pub const #ident: ::migrator_runtime::__private::RevisionId =
                ::migrator_runtime::__private::RevisionId::__new(#id);
        }
    });
    quote! {
        /// One constant per embedded revision, to name it in code.
        #[allow(dead_code)]
        pub mod revisions {
            #(#constants)*
        }
    }
}
