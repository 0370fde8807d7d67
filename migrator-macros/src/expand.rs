//! Code generation: from a checked directory to the generated items.

use std::path::{Path, PathBuf};

use migrator_runtime::model::{self, Body, Diagnostics, Parsed, Revision, Section};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::LitStr;

/// The whole expansion. Never panics: every failure becomes a
/// `compile_error!` next to stub items.
pub(crate) fn embed_migrations(input: TokenStream) -> TokenStream {
    let lit: LitStr = match syn::parse2(input) {
        Ok(lit) => lit,
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
    match model::load_dir(&dir, &display) {
        Ok(graph) => generate(graph.revisions(), &dir),
        Err(diagnostics) => failure(&diagnostics, &dir, &display, lit.span()),
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
fn failure(diagnostics: &Diagnostics, dir: &Path, display: &str, span: Span) -> TokenStream {
    let errors = compile_errors(diagnostics, span);
    // Name what could be parsed, so code that names revisions does not add
    // "not found" errors to the real ones.
    let parsed: Vec<Parsed> = model::load_revisions(dir, display, &mut Diagnostics::new());
    let revisions: Vec<Revision> = parsed.into_iter().map(|p| p.revision).collect();
    let mut tokens = stubs(&revisions);
    tokens.extend(errors);
    tokens
}

/// The items with no revision data: an empty set, and the typed names.
fn stubs(revisions: &[Revision]) -> TokenStream {
    let names = revision_names(revisions);
    quote! {
        /// The embedded migrations (empty: the directory has errors).
        pub static MIGRATIONS: ::migrator_runtime::__private::Migrations =
            ::migrator_runtime::__private::Migrations::__new(&[], &[]);
        #names
    }
}

/// Everything, for a directory that passed every check.
fn generate(revisions: &[Revision], dir: &Path) -> TokenStream {
    // One `const` per revision: the compiler type-checks many small items
    // much faster than one `static` holding them all (5 s of a 6 s rebuild
    // at 1000 revisions went to that one static).
    let consts: Vec<_> = (0..revisions.len())
        .map(|i| format_ident!("R{}", i))
        .collect();
    let literals = revisions.iter().map(revision_literal);
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
    quote! {
        /// The embedded migrations: every revision of the directory, checked
        /// at build time. Pass it to `migrator_runtime::Migrator::new`.
        pub static MIGRATIONS: ::migrator_runtime::__private::Migrations =
            ::migrator_runtime::__private::Migrations::__new(
                &[#(__migrator_embedded::#consts),*],
                &[#(#rust_entries),*],
            );
        #[doc(hidden)]
        mod __migrator_embedded {
            #(pub(super) const #consts: ::migrator_runtime::__private::Revision = #literals;)*
        }
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

/// A `Revision { … }` literal with borrowed `'static` data.
fn revision_literal(revision: &Revision) -> TokenStream {
    let p = quote!(::migrator_runtime::__private);
    let id = revision.id.as_ref();
    let slug = revision.slug.as_ref();
    let file_name = revision.file_name.as_ref();
    let message = revision.message.as_ref();
    let description = revision.description.as_ref();
    let revises = revision.parents();
    let create_date = match &revision.create_date {
        Some(date) => {
            let date = date.as_ref();
            quote!(#p::Some(#p::Cow::Borrowed(#date)))
        }
        None => quote!(#p::None),
    };
    let transactional = revision.transactional;
    let timeout = match revision.timeout {
        Some(t) => {
            let millis = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
            quote!(#p::Some(#p::Duration::from_millis(#millis)))
        }
        None => quote!(#p::None),
    };
    let allow_destructive = revision.allow_destructive;
    let body = match &revision.body {
        Body::Sql(sections) => {
            let sections = sections.iter().map(section_literal);
            quote!(#p::Body::Sql(#p::Cow::Borrowed(&[#(#sections),*])))
        }
        Body::Rust => quote!(#p::Body::Rust),
    };
    let checksum = revision.checksum.as_ref();
    quote! {
        #p::Revision {
            id: #p::Cow::Borrowed(#id),
            slug: #p::Cow::Borrowed(#slug),
            file_name: #p::Cow::Borrowed(#file_name),
            message: #p::Cow::Borrowed(#message),
            description: #p::Cow::Borrowed(#description),
            revises: #p::Cow::Borrowed(&[#(#p::Cow::Borrowed(#revises)),*]),
            create_date: #create_date,
            transactional: #transactional,
            timeout: #timeout,
            allow_destructive: #allow_destructive,
            body: #body,
            checksum: #p::Cow::Borrowed(#checksum),
        }
    }
}

/// A `Section { … }` literal.
fn section_literal(section: &Section) -> TokenStream {
    let p = quote!(::migrator_runtime::__private);
    let direction = match section.direction {
        model::Direction::Upgrade => quote!(#p::Direction::Upgrade),
        model::Direction::Downgrade => quote!(#p::Direction::Downgrade),
    };
    let backend = match section.backend {
        Some(backend) => {
            let variant = format_ident!("{}", format!("{backend:?}"));
            quote!(#p::Some(#p::BackendKind::#variant))
        }
        None => quote!(#p::None),
    };
    let sql = section.sql.as_ref();
    let noop = section.noop;
    let line = section.line;
    quote! {
        #p::Section {
            direction: #direction,
            backend: #backend,
            sql: #p::Cow::Borrowed(#sql),
            noop: #noop,
            line: #line,
        }
    }
}
