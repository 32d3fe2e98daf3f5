//! `#[derive(Trace)]` and `#[derive(Finalize)]` for `gc_core`.
//!
//! Use the derives through `gc_core`, which re-exports them. The generated
//! code names gc-core by the name the deriving crate's `Cargo.toml` gives it
//! (found with `proc-macro-crate`, so `mygc = { package = "gc-core", .. }`
//! works), or by the path given with `#[gc(crate = path)]` on the type.
//!
//! ```ignore
//! use gc_core::{Finalize, Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace, Finalize)]
//! struct Node {
//!     name: String,
//!     edges: RefCell<Vec<Gc<Node>>>,
//!     #[gc(skip)] // holds no `Gc`; need not implement `Trace`
//!     cache: std::fs::File,
//! }
//! ```
//!
//! Helper attributes: `#[gc(skip)]` on a field, `#[gc(crate = path)]` on the
//! type. `#[derive(Trace)]` validates every `#[gc(...)]` attribute on the
//! type, its variants and its fields; `#[derive(Finalize)]` only reads a
//! well-formed `crate = path` and ignores the rest, so a bad attribute is
//! reported once even when both derives are used.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    parse_macro_input, parse_quote, Attribute, Data, DeriveInput, Error, Fields, Ident, Member,
    Meta, Path, Token, Type,
};

/// Derives `gc_core::Trace`, tracing every field not marked `#[gc(skip)]`.
///
/// For `struct S<T> { a: A, #[gc(skip)] b: B }` this generates (roughly;
/// `::gc_core` stands for the path of gc-core, see below):
///
/// ```text
/// const _: () = {
///     unsafe impl<T: ::gc_core::Trace> ::gc_core::Trace for S<T> {
///         fn trace(&self, __tracer: &mut ::gc_core::Tracer) {
///             match self { S { a: __f0, .. } => { ::gc_core::Trace::trace(__f0, __tracer); } }
///         }
///         fn needs_tracking() -> bool { <A as ::gc_core::Trace>::needs_tracking() }
///         fn needs_tracking_shallow() -> bool { <A as ::gc_core::Trace>::needs_tracking_shallow() }
///     }
///     impl<T> ::gc_core::__private::TraceTypesMustNotImplementDrop_UseFinalizeInstead for S<T> {}
/// };
/// ```
///
/// - Every type parameter that occurs in a traced field's type gets a
///   `::gc_core::Trace` bound; one used only in `#[gc(skip)]` fields (or
///   only in the `where` clause, or only inside `Gc<…>`, `Weak<…>` or
///   `PhantomData<…>`, which are `Trace` for any `'static` argument) gets
///   just `'static`. Every lifetime parameter gets a `'static` bound (as
///   `Trace: 'static` demands); const parameters and the `where` clause are
///   kept as written.
/// - `needs_tracking` / `needs_tracking_shallow` are the OR of the same
///   question over the traced field types (of all variants for an enum), and
///   `false` when nothing is traced. A field spelled `Gc<X>` — also inside
///   `Option`, `RefCell`, `Box`, `Vec`, `VecDeque`, an array or a slice — answers
///   `needs_tracking` with `X`'s shallow answer (an object whose `Gc`s all
///   point to types owning no `Gc` cannot be on a cycle, so
///   `struct Pair(Gc<u8>, Gc<String>)` is untracked), and `Box<str>` /
///   `Box<[T]>` answer from `str` / `T`. A `Gc<Self>` (or `Gc` of the
///   type itself, with the same arguments) in such a shape, arrays
///   included, and not inside a `RefCell`, adds nothing: an edge to the
///   type itself that no shared reference can change never closes a cycle
///   (`gc_core::Trace::needs_tracking` has the proof), so an immutable
///   tree type is untracked. The spelling is only a hint: the
///   generated code checks that the field type is that std / gc-core type
///   (a `SameType` probe) and otherwise asks the field type's own impl.
/// - The last field of a struct may be unsized (`struct AnyNode(dyn Node)`,
///   `struct Tail<T: ?Sized> { len: usize, rest: T }`): its type is asked
///   through a probe that answers `true` (tracked) for a type not known to
///   be sized, such as `dyn Trait`, `[Gc<T>]` or a `?Sized` parameter.
/// - Enums trace the fields of the active variant; `enum E {}` is supported.
/// - The second impl conflicts with a `Drop` impl of the type: derived `Trace`
///   types use `Finalize` instead of `Drop`.
/// - Unions and `#[repr(packed)]` types are rejected: implement `Trace` by hand.
///
/// A skipped field must not own a `Gc` (it would never be traced, so a cycle
/// through it leaks). On the type, `#[gc(crate = path)]` names gc-core for
/// the generated code (for a crate that reaches gc-core through a re-export,
/// e.g. `#[gc(crate = my_framework::gc)]`); without it the name comes from
/// the deriving crate's `Cargo.toml`, and `::gc_core` when it is not listed
/// there. `#[gc(...)]` on a variant, `skip` on the type, `crate` on a field and
/// any other option are errors.
#[proc_macro_derive(Trace, attributes(gc))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_trace(input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Derives `gc_core::Finalize` with an empty finalizer.
///
/// For `struct S<T> { .. }` this generates:
///
/// ```text
/// impl<T> ::gc_core::Finalize for S<T> {
///     #[inline]
///     fn has_finalizer() -> bool { false }
/// }
/// ```
///
/// No bounds are added, and structs, enums and unions are all accepted (the
/// impl does not look at the data). `has_finalizer` answering `false` lets the
/// collector skip the finalization pass; to run code before the value is
/// dropped, implement `Finalize` by hand instead. `#[gc(...)]` attributes are
/// validated by `#[derive(Trace)]` only and ignored here.
#[proc_macro_derive(Finalize, attributes(gc))]
pub fn derive_finalize(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_finalize(input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// One traced field: how to reach it in a pattern, and its type.
struct TracedField<'a> {
    member: Member,
    ty: &'a Type,
}

/// One `match` arm of `trace`: the pattern path and the traced fields.
struct Arm<'a> {
    path: TokenStream2,
    fields: Vec<TracedField<'a>>,
    /// Types of the `#[gc(skip)]` fields.
    skipped: Vec<&'a Type>,
}

fn expand_trace(input: DeriveInput) -> syn::Result<TokenStream2> {
    let mut errors = Vec::new();
    let name = &input.ident;
    let krate = crate_path(&input.attrs, &mut errors);
    check_not_packed(&input.attrs, &mut errors);

    let arms = match &input.data {
        Data::Struct(data) => vec![Arm {
            path: quote!(#name),
            fields: traced_fields(&data.fields, &mut errors),
            skipped: skipped_types(&data.fields),
        }],
        Data::Enum(data) => data
            .variants
            .iter()
            .map(|variant| {
                reject_gc_attrs(&variant.attrs, &mut errors);
                let ident = &variant.ident;
                Arm {
                    path: quote!(#name::#ident),
                    fields: traced_fields(&variant.fields, &mut errors),
                    skipped: skipped_types(&variant.fields),
                }
            })
            .collect(),
        Data::Union(data) => {
            return Err(Error::new(
                data.union_token.span,
                "`#[derive(Trace)]` does not support unions: the collector cannot know which \
                 field is active; implement `Trace` by hand",
            ))
        }
    };
    if let Some(error) = errors.into_iter().reduce(|mut all, e| {
        all.combine(e);
        all
    }) {
        return Err(error);
    }

    // Bindings are call-site idents interpolated into the type-spanned calls,
    // so hygiene cannot separate their uses from their definitions. The calls
    // name the field type, which puts a missing `Trace` impl error on it.
    let tracer = Ident::new("__tracer", Span::call_site());
    let any_traced = arms.iter().any(|arm| !arm.fields.is_empty());
    let trace_body = if arms.is_empty() {
        quote!(match *self {})
    } else if !any_traced {
        quote!()
    } else {
        let arms = arms.iter().map(|arm| {
            let path = &arm.path;
            let bindings: Vec<Ident> = (0..arm.fields.len())
                .map(|i| format_ident!("__f{}", i))
                .collect();
            let members = arm.fields.iter().map(|f| &f.member);
            let calls = arm.fields.iter().zip(&bindings).map(|(f, binding)| {
                let ty = f.ty;
                quote_spanned!(ty.span()=> <#ty as #krate::Trace>::trace(#binding, #tracer);)
            });
            quote!(#path { #(#members: #bindings,)* .. } => { #(#calls)* })
        });
        quote!(match self { #(#arms)* })
    };
    let tracer_param = if any_traced {
        tracer.to_token_stream()
    } else {
        quote!(_)
    };

    // Each distinct field type is asked once. The last field of a struct may
    // be unsized (a custom DST), which the `Self: Sized` questions cannot be
    // asked of directly.
    let tail = match &input.data {
        Data::Struct(data) => unsized_tail(&data.fields, &arms[0].fields),
        _ => None,
    };
    let mut seen = std::collections::HashSet::new();
    let types: Vec<&Type> = arms
        .iter()
        .flat_map(|arm| &arm.fields)
        .map(|field| field.ty)
        .filter(|ty| seen.insert(ty.to_token_stream().to_string()))
        .collect();
    let needs_tracking = or_over(&krate, &types, tail, Question::Deep);
    let needs_tracking_shallow = or_over(&krate, &types, tail, Question::Shallow);
    // A resource: a skipped field that needs dropping, or a traced field
    // whose type says it owns one.
    let mut seen_skipped = std::collections::HashSet::new();
    let skipped_drops = arms
        .iter()
        .flat_map(|arm| &arm.skipped)
        .filter(|ty| seen_skipped.insert(ty.to_token_stream().to_string()))
        .map(|ty| quote_spanned!(ty.span()=> ::core::mem::needs_drop::<#ty>()));
    let traced_resources = or_over(&krate, &types, tail, Question::OwnsResource);
    let owns_resource = quote!(#(#skipped_drops ||)* #traced_resources);

    let mut bounded = input.generics.clone();
    add_trace_bounds(&krate, &mut bounded, &types);
    // `Trace: 'static`: a lifetime parameter can only be `'static` here, so a
    // type like `View<'a>` is `Trace` for `View<'static>` only.
    let lifetimes: Vec<syn::Lifetime> = bounded.lifetimes().map(|l| l.lifetime.clone()).collect();
    for lifetime in lifetimes {
        bounded
            .make_where_clause()
            .predicates
            .push(parse_quote!(#lifetime: 'static));
    }
    let (impl_generics, ty_generics, where_clause) = bounded.split_for_impl();
    let (plain_impl_generics, _, plain_where_clause) = input.generics.split_for_impl();

    Ok(quote! {
        const _: () = {
            // SAFETY: `trace` visits each traced field exactly once through
            // that field type's own `Trace` impl and does nothing else.
            #[automatically_derived]
            unsafe impl #impl_generics #krate::Trace for #name #ty_generics #where_clause {
                #[inline]
                fn trace(&self, #tracer_param: &mut #krate::Tracer) {
                    #trace_body
                }
                #[inline]
                fn needs_tracking() -> bool {
                    #needs_tracking
                }
                #[inline]
                fn needs_tracking_shallow() -> bool {
                    #needs_tracking_shallow
                }
                #[inline]
                fn owns_resource() -> bool {
                    #owns_resource
                }
            }
            #[automatically_derived]
            impl #plain_impl_generics
                #krate::__private::TraceTypesMustNotImplementDrop_UseFinalizeInstead
                for #name #ty_generics #plain_where_clause {}
        };
    })
}

fn expand_finalize(input: DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    // Attribute errors are `#[derive(Trace)]`'s to report.
    let krate = crate_path(&input.attrs, &mut Vec::new());
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Finalize for #name #ty_generics #where_clause {
            #[inline]
            fn has_finalizer() -> bool {
                false
            }
        }
    })
}

/// The questions a derived impl answers from its field types.
#[derive(Clone, Copy, PartialEq)]
enum Question {
    /// `needs_tracking`.
    Deep,
    /// `needs_tracking_shallow`.
    Shallow,
    /// `owns_resource`.
    OwnsResource,
}

impl Question {
    fn method(self) -> Ident {
        let name = match self {
            Question::Deep => "needs_tracking",
            Question::Shallow => "needs_tracking_shallow",
            Question::OwnsResource => "owns_resource",
        };
        Ident::new(name, Span::call_site())
    }
}

/// `<A as Trace>::question() || <B as Trace>::question() || …`, or `false`.
/// The type `tail` (the last field of a struct, which may be unsized) is
/// asked through `__private::TrackingProbe`, which answers `true` for a type
/// not known to be sized. The tracking questions of a field whose type is
/// spelled as a known shape around `Gc` (see [`shape`]) are answered from
/// the shape when the type is the one its spelling suggests.
fn or_over(
    krate: &TokenStream2,
    types: &[&Type],
    tail: Option<&Type>,
    question: Question,
) -> TokenStream2 {
    if types.is_empty() {
        return quote!(false);
    }
    let calls = types.iter().map(|ty| {
        let ty: &Type = ty;
        let direct = if tail.is_some_and(|tail| same_type(tail, ty)) {
            probe(krate, ty, question)
        } else {
            let method = question.method();
            quote_spanned!(ty.span()=> <#ty as #krate::Trace>::#method())
        };
        if question == Question::OwnsResource {
            return direct;
        }
        match shape(krate, ty, question) {
            Some(Shape { canonical, answer }) => {
                quote_spanned!(ty.span()=> ({
                    #[allow(unused_imports)]
                    use #krate::__private::{IsSameType as _, NotSameType as _};
                    if (&&#krate::__private::SameType::<#ty, #canonical>::NEW).__same() {
                        #answer
                    } else {
                        #direct
                    }
                }))
            }
            _ => direct,
        }
    });
    quote!(#(#calls)||*)
}

/// `question` asked of `ty` through `__private::TrackingProbe`, which
/// answers for a sized `Trace` type, `str` and slices, and conservatively
/// (`true`, tracked) for any other type that may be unsized.
fn probe(krate: &TokenStream2, ty: &Type, question: Question) -> TokenStream2 {
    let method = format_ident!("__{}", question.method());
    quote_spanned!(ty.span()=> {
        #[allow(unused_imports)]
        use #krate::__private::{SizedTracking as _, UnsizedTracking as _};
        (&&#krate::__private::TrackingProbe::<#ty>::NEW).#method()
    })
}

/// A field type recognised by its spelling: `canonical` is the type it
/// stands for if every name in it means the std or gc-core item (the
/// derive checks that the field type *is* `canonical` before using
/// `answer`), and `answer` the tracking question's answer for it.
struct Shape {
    canonical: TokenStream2,
    answer: TokenStream2,
}

/// Recognises the shapes in which a type's tracking answer is known to be
/// finer than its `Trace` impl can say: `Gc<X>`, whose target can be on a
/// cycle only if `X` can own a `Gc` at all (`X`'s *shallow* answer; the
/// generic `Trace for Gc<T>`, with `T` possibly unsized, cannot ask `T`),
/// and `Box`, `Vec`, `VecDeque`, `Option`, `RefCell`, arrays and slices
/// around such a shape or around `str` / `[T]` (`Box<str>`, `Box<[u32]>`,
/// which the generic `Box<T: ?Sized>` impl answers conservatively). A
/// `Gc<X>` outside any `RefCell` answers `false` to both questions when `X`
/// is `Self` (checked by a `SameType` probe in the generated code): a fixed
/// edge to the type itself (see `Trace::needs_tracking` in gc-core).
///
/// The same holds for a `Gc<Self>` inside the shape a `Gc` field points
/// to (`Gc<Vec<Gc<Self>>>`): that object holds nothing but fixed edges back
/// to this type, so a cycle through it would consist of fixed edges only.
///
/// Termination: a nested shape is answered from its spelling (finite); a
/// type that is not a shape is asked through its impl, and the shallow
/// question whenever a pointer (`Gc`, `Box`, `Vec`, `VecDeque`) leads to it,
/// as the container impls do, so recursive types stay finite. Inside
/// `needs_tracking_shallow` itself a type behind a pointer is not asked at
/// all (it answers `true`): the shallow answers then never call each other
/// through pointers, which is what keeps the deep ones finite.
fn shape(krate: &TokenStream2, ty: &Type, question: Question) -> Option<Shape> {
    let within = Within {
        shallow_method: question == Question::Shallow,
        ..Within::default()
    };
    shape_in(krate, ty, question, within)
}

/// Where [`shape_in`] is inside the field type.
#[derive(Clone, Copy, Default)]
struct Within {
    /// Behind a pointer (`Gc`, `Box`, `Vec`, `VecDeque`): a type that is not
    /// a shape is asked the shallow question (or, in `needs_tracking_shallow`
    /// itself, answers `true`).
    pointer: bool,
    /// Inside a `RefCell`: its `Gc`s can be changed through a shared
    /// reference, so a `Gc<Self>` there counts like any other `Gc`.
    cell: bool,
    /// Answering for `needs_tracking_shallow`, which must never ask a
    /// question of a type behind a pointer: that type may be this one
    /// (`struct Trie { kids: Vec<Option<Trie>> }`), and the answer would
    /// recurse forever. Only a `Gc<Self>` shape is looked through.
    shallow_method: bool,
}

fn shape_in(krate: &TokenStream2, ty: &Type, question: Question, within: Within) -> Option<Shape> {
    let ty = match ty {
        Type::Group(group) => return shape_in(krate, &group.elem, question, within),
        Type::Paren(paren) => return shape_in(krate, &paren.elem, question, within),
        // A slice or an array holds its elements inline: the same question
        // of them.
        Type::Slice(slice) => {
            let inner = shape_in(krate, &slice.elem, question, within)?;
            let canonical = inner.canonical;
            return Some(Shape {
                canonical: quote!([#canonical]),
                answer: inner.answer,
            });
        }
        Type::Array(array) => {
            let inner = shape_in(krate, &array.elem, question, within)?;
            let canonical = inner.canonical;
            let len = &array.len;
            return Some(Shape {
                canonical: quote!([#canonical; #len]),
                answer: inner.answer,
            });
        }
        Type::Path(path) if path.qself.is_none() => path,
        _ => return None,
    };
    let segment = ty.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    let [syn::GenericArgument::Type(arg)] = args.args.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let name = segment.ident.to_string();
    let (wrapper, pointer) = match name.as_str() {
        // Through `__private`, not `#krate::Gc`: a `#[gc(crate = path)]`
        // module could define its own `Gc` alias, which must not pass for
        // gc-core's.
        "Gc" => (quote!(#krate::__private::RealGc), true),
        "Box" => (quote!(::std::boxed::Box), true),
        "Vec" => (quote!(::std::vec::Vec), true),
        "VecDeque" => (quote!(::std::collections::VecDeque), true),
        "Option" => (quote!(::core::option::Option), false),
        "RefCell" => (quote!(::core::cell::RefCell), false),
        _ => return None,
    };
    let cell = within.cell || name == "RefCell";
    // An edge to the type itself outside any cell is fixed once its holder
    // is built, so it cannot close a cycle (see `Trace::needs_tracking`):
    // its answer is the one below, for any other target, and-ed with "the
    // target is not `Self`".
    let self_edge_possible = name == "Gc" && !cell;
    let within = Within { cell, ..within };
    let shape = if pointer && question == Question::Shallow {
        // A pointer is `true` to the shallow question whatever it holds,
        // unless it holds a shape (which ends in a `Gc<Self>` or says `true`
        // itself); the target of a `Gc` outside a cell is not looked into.
        let inner = if self_edge_possible {
            None
        } else {
            shape_in(
                krate,
                arg,
                question,
                Within {
                    pointer: true,
                    ..within
                },
            )
        };
        match inner {
            Some(inner) => inner,
            None => Shape {
                canonical: arg.to_token_stream(),
                answer: quote!(true),
            },
        }
    } else {
        // What is asked of the argument: a `Gc`'s target can be on a cycle
        // only if it can own a `Gc` at all (the shallow question); the other
        // shapes hold their argument's values, and ask the same question of
        // them.
        let inner_question = if name == "Gc" {
            Question::Shallow
        } else {
            question
        };
        let within = Within {
            pointer: within.pointer || pointer,
            ..within
        };
        shape_in(krate, arg, inner_question, within).unwrap_or_else(|| {
            let answer = if within.pointer && within.shallow_method {
                quote!(true)
            } else if within.pointer {
                probe(krate, arg, Question::Shallow)
            } else {
                probe(krate, arg, inner_question)
            };
            Shape {
                canonical: arg.to_token_stream(),
                answer,
            }
        })
    };
    let canonical = shape.canonical;
    let answer = shape.answer;
    let answer = if self_edge_possible {
        quote!({
            #[allow(unused_imports)]
            use #krate::__private::{IsSameType as _, NotSameType as _};
            !(&&#krate::__private::SameType::<#arg, Self>::NEW).__same() && #answer
        })
    } else {
        answer
    };
    Some(Shape {
        canonical: quote!(#wrapper<#canonical>),
        answer,
    })
}

fn same_type(a: &Type, b: &Type) -> bool {
    a.to_token_stream().to_string() == b.to_token_stream().to_string()
}

/// The type of a struct's last field if it is traced and may be unsized:
/// only the last field of a struct can be, and a type that also appears in
/// an earlier field is sized.
fn unsized_tail<'a>(fields: &'a Fields, traced: &[TracedField<'a>]) -> Option<&'a Type> {
    let last = fields.iter().last()?;
    let ty: &'a Type = traced.last()?.ty;
    if !std::ptr::eq(ty, &last.ty) {
        return None; // the last field is skipped
    }
    let earlier = fields.iter().take(fields.len() - 1);
    if earlier.clone().any(|field| same_type(&field.ty, ty)) {
        return None;
    }
    Some(ty)
}

/// Give a `Trace` bound (`krate` is gc-core's path) to every type parameter that occurs in a
/// traced field type, and only `'static` (which `Trace: 'static` needs) to
/// the others: a parameter used only in `#[gc(skip)]` fields (or not at
/// all) need not be `Trace`. Occurrences inside the arguments of `Gc<…>`,
/// `Weak<…>` and `PhantomData<…>` do not count, since those are `Trace` for
/// every `'static` argument (so `next: Option<Gc<Node<T>>>` alone does not
/// make `T` need `Trace`). If a type of that name is not gc-core's, a bound
/// its `Trace` impl needs is missing and the impl fails to compile: never
/// unsound.
fn add_trace_bounds(krate: &TokenStream2, generics: &mut syn::Generics, traced_types: &[&Type]) {
    let mut used = UsedIdents::default();
    for ty in traced_types {
        syn::visit::Visit::visit_type(&mut used, ty);
    }
    for param in generics.type_params_mut() {
        if used.0.contains(&param.ident) {
            param.bounds.push(parse_quote!(#krate::Trace));
        } else {
            param.bounds.push(parse_quote!('static));
        }
    }
}

/// The identifiers a type names, except inside the arguments of the
/// pointer types that are `Trace` whatever their argument.
#[derive(Default)]
struct UsedIdents(std::collections::HashSet<Ident>);

impl<'ast> syn::visit::Visit<'ast> for UsedIdents {
    fn visit_path(&mut self, path: &'ast Path) {
        for segment in &path.segments {
            self.0.insert(segment.ident.clone());
            let untraced_args = ["Gc", "Weak", "PhantomData"]
                .iter()
                .any(|name| segment.ident == name);
            if !untraced_args {
                syn::visit::visit_path_arguments(self, &segment.arguments);
            }
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // The tokens of a type macro are not parsed: any identifier counts.
        collect_idents(mac.tokens.clone(), &mut self.0);
    }
}

fn collect_idents(tokens: TokenStream2, out: &mut std::collections::HashSet<Ident>) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(ident) => {
                out.insert(ident);
            }
            proc_macro2::TokenTree::Group(group) => collect_idents(group.stream(), out),
            _ => {}
        }
    }
}

/// The package name of gc-core (its `name` in gc-core/Cargo.toml): what the
/// derive looks for among its users' dependencies.
const GC_CORE_PACKAGE: &str = "gc-core";

/// The path of gc-core in the generated code: the type's `#[gc(crate =
/// path)]` as written, else the name the deriving crate's `Cargo.toml` gives
/// the `gc-core` package, else `::gc_core`.
///
/// Inside gc-core's own package (`FoundCrate::Itself`) the answer is
/// `::gc_core` too: its library declares `extern crate self as gc_core;`, and
/// its tests, doctests and examples link the library under that name (where
/// `crate` would name the test crate).
fn crate_path(attrs: &[Attribute], errors: &mut Vec<Error>) -> TokenStream2 {
    if let Some(path) = type_options(attrs, errors) {
        return path.to_token_stream();
    }
    match crate_name(GC_CORE_PACKAGE) {
        Ok(FoundCrate::Name(name)) => {
            let ident = Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
        // Not a dependency of the deriving crate (or no manifest to read):
        // the conventional name, which `#[gc(crate = ...)]` overrides.
        Ok(FoundCrate::Itself) | Err(_) => quote!(::gc_core),
    }
}

/// Parses the `#[gc(...)]` attributes on the type: `crate = path` is the only
/// option there. Returns the path, if given.
fn type_options(attrs: &[Attribute], errors: &mut Vec<Error>) -> Option<Path> {
    let mut krate: Option<Path> = None;
    for attr in gc_attrs(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let value = meta.value()?;
                if let Ok(lit) = value.parse::<syn::LitStr>() {
                    return Err(Error::new_spanned(
                        &lit,
                        format!(
                            "write the path without quotes: `#[gc(crate = {})]`",
                            lit.value()
                        ),
                    ));
                }
                let path: Path = value.parse()?;
                if krate.is_some() {
                    errors.push(Error::new_spanned(
                        &meta.path,
                        "duplicate `gc` option `crate`",
                    ));
                } else {
                    krate = Some(path);
                }
                Ok(())
            } else if meta.path.is_ident("skip") {
                Err(meta.error(
                    "`#[gc(skip)]` goes on fields; on the type the only option is `crate = path`",
                ))
            } else {
                Err(meta.error(format!(
                    "unknown `gc` option `{}` on a type; expected `crate = path`",
                    path_to_string(&meta.path)
                )))
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    krate
}

fn gc_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("gc"))
}

/// `#[gc(...)]` on a variant.
fn reject_gc_attrs(attrs: &[Attribute], errors: &mut Vec<Error>) {
    for attr in gc_attrs(attrs) {
        errors.push(Error::new_spanned(
            attr,
            "`#[gc(...)]` options go on fields (or, for `crate = path`, on the type)",
        ));
    }
}

/// Taking references to the fields of a packed type is not allowed.
fn check_not_packed(attrs: &[Attribute], errors: &mut Vec<Error>) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("repr")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("packed") {
                errors.push(Error::new_spanned(
                    &meta.path,
                    "`#[derive(Trace)]` does not support `#[repr(packed)]` types: their fields \
                     cannot be borrowed; implement `Trace` by hand",
                ));
            }
            if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
    }
}

/// The types of the `#[gc(skip)]` fields of a struct or variant (attribute
/// errors are reported by [`traced_fields`]).
fn skipped_types(fields: &Fields) -> Vec<&Type> {
    fields
        .iter()
        .filter(|field| is_skipped(&field.attrs, &mut Vec::new()))
        .map(|field| &field.ty)
        .collect()
}

/// The fields of a struct or variant that are not `#[gc(skip)]`.
fn traced_fields<'a>(fields: &'a Fields, errors: &mut Vec<Error>) -> Vec<TracedField<'a>> {
    fields
        .members()
        .zip(fields)
        .filter(|(_, field)| !is_skipped(&field.attrs, errors))
        .map(|(member, field)| TracedField {
            member,
            ty: &field.ty,
        })
        .collect()
}

/// Parses a field's `#[gc(...)]` attributes; `true` if it has `#[gc(skip)]`.
fn is_skipped(attrs: &[Attribute], errors: &mut Vec<Error>) -> bool {
    let mut skip = false;
    for attr in gc_attrs(attrs) {
        let Meta::List(list) = &attr.meta else {
            errors.push(Error::new_spanned(attr, "expected `#[gc(skip)]`"));
            continue;
        };
        let options = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(options) => options,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        if options.is_empty() {
            errors.push(Error::new_spanned(attr, "expected `#[gc(skip)]`"));
        }
        for option in options {
            match option {
                Meta::Path(path) if path.is_ident("skip") => {
                    if skip {
                        errors.push(Error::new_spanned(path, "duplicate `gc` option `skip`"));
                    }
                    skip = true;
                }
                Meta::List(_) | Meta::NameValue(_) if option.path().is_ident("skip") => {
                    errors.push(Error::new_spanned(
                        option,
                        "`gc` option `skip` takes no value; write `#[gc(skip)]`",
                    ));
                }
                _ if option.path().is_ident("crate") => {
                    errors.push(Error::new_spanned(
                        option.path(),
                        "`#[gc(crate = path)]` goes on the type, not on a field",
                    ));
                }
                _ => {
                    let path = option.path();
                    errors.push(Error::new_spanned(
                        path,
                        format!(
                            "unknown `gc` option `{}`; expected `skip`",
                            path_to_string(path)
                        ),
                    ));
                }
            }
        }
    }
    skip
}

fn path_to_string(path: &Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    let prefix = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{prefix}{}", segments.join("::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(input: DeriveInput) -> String {
        let tokens = expand_trace(input).expect("expansion failed");
        syn::parse2::<syn::File>(tokens.clone()).expect("output does not parse as items");
        tokens.to_string()
    }

    /// `ty` (a skipped field's type) appears in the output only in the
    /// `needs_drop` question of `owns_resource`.
    fn assert_skipped_only_for_resources(out: &str, ty: &str) {
        let asked = format!(":: core :: mem :: needs_drop :: < {ty} > ()");
        assert_eq!(out.matches(&asked).count(), 1, "{out}");
        assert_eq!(out.matches(ty).count(), 1, "{out}");
    }

    fn trace_error(input: DeriveInput) -> String {
        match expand_trace(input) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(error) => error.into_compile_error().to_string(),
        }
    }

    #[test]
    fn named_struct_with_skip() {
        let out = trace(parse_quote! {
            struct S { a: Alpha, #[gc(skip)] b: Beta, c: Gamma }
        });
        assert!(out.contains("S { a : __f0 , c : __f1 , .. }"), "{out}");
        assert!(out.contains("Alpha as :: gc_core :: Trace"), "{out}");
        // A skipped field is never traced; it is only asked whether it needs
        // dropping (for `Trace::owns_resource`).
        assert_skipped_only_for_resources(&out, "Beta");
        assert!(out.contains("TraceTypesMustNotImplementDrop_UseFinalizeInstead"));
    }

    #[test]
    fn tuple_and_unit_structs() {
        let out = trace(parse_quote!(
            struct T(#[gc(skip)] Beta, Alpha);
        ));
        assert!(out.contains("T { 1 : __f0 , .. }"), "{out}");
        assert_skipped_only_for_resources(&out, "Beta");

        let out = trace(parse_quote!(
            struct U;
        ));
        assert!(out.contains("fn trace (& self , _ : & mut :: gc_core :: Tracer) { }"));
        assert!(
            out.contains("fn needs_tracking () -> bool { false }"),
            "{out}"
        );
        assert!(out.contains("fn needs_tracking_shallow () -> bool { false }"));
    }

    #[test]
    fn all_fields_skipped() {
        let out = trace(parse_quote!(
            struct S {
                #[gc(skip)]
                a: Alpha,
            }
        ));
        assert_skipped_only_for_resources(&out, "Alpha");
        assert!(
            out.contains("fn needs_tracking () -> bool { false }"),
            "{out}"
        );
        assert!(
            out.contains("fn owns_resource () -> bool { :: core :: mem :: needs_drop :: < Alpha > () || false }"),
            "{out}"
        );
    }

    #[test]
    fn generics_get_trace_bounds() {
        let out = trace(parse_quote! {
            struct S<'a, T, U: Clone, const N: usize> where T: Default {
                a: &'a T, #[gc(skip)] u: [U; N]
            }
        });
        assert!(
            out.contains(
                "unsafe impl < 'a , T : :: gc_core :: Trace , U : Clone + 'static , \
                 const N : usize > :: gc_core :: Trace for S < 'a , T , U , N > where T : Default"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "impl < 'a , T , U : Clone , const N : usize > :: gc_core :: __private :: \
                 TraceTypesMustNotImplementDrop_UseFinalizeInstead for S < 'a , T , U , N > \
                 where T : Default { }"
            ),
            "{out}"
        );
    }

    #[test]
    fn parameters_only_in_skipped_fields_get_no_trace_bound() {
        let out = trace(parse_quote! {
            struct S<T, U: ?Sized, V, W> {
                a: Vec<Option<T>>,
                #[gc(skip)] b: Box<U>,
                #[gc(skip)] c: V,
                d: <W as Iterator>::Item,
            }
        });
        assert!(
            out.contains(
                "unsafe impl < T : :: gc_core :: Trace , U : ? Sized + 'static , V : 'static , \
                 W : :: gc_core :: Trace > :: gc_core :: Trace for S < T , U , V , W >"
            ),
            "{out}"
        );
        // Inside `Gc`/`Weak`/`PhantomData` a parameter needs no `Trace`;
        // anywhere else (a macro, a nested path) it does.
        let out = trace(parse_quote! {
            struct N<T, U, V, X> {
                #[gc(skip)] data: T,
                next: Option<::gc_core::Gc<N<T, U, V, X>>>,
                back: RefCell<Vec<Weak<(T, U)>>>,
                p: PhantomData<fn(V)>,
                m: my_type!(X),
            }
        });
        assert!(
            out.contains(
                "unsafe impl < T : 'static , U : 'static , V : 'static , X : :: gc_core :: Trace >"
            ),
            "{out}"
        );
    }

    #[test]
    fn fixed_self_edges_are_checked_against_self() {
        let out = trace(parse_quote! {
            struct L<T> { next: Option<Box<Gc<L<T>>>>, kids: [Gc<Self>; 2], value: T }
        });
        // Both spellings of the type itself are compared with `Self`, and
        // the answer for a self-edge is `false` whatever `L`'s shallow
        // answer is.
        for arg in ["L < T >", "Self"] {
            assert!(
                out.contains(&format!(
                    "! (&& :: gc_core :: __private :: SameType :: < {arg} , Self > :: NEW) . \
                     __same ()"
                )),
                "{arg}: {out}"
            );
        }
        // Inside a `RefCell` a self-edge is an ordinary `Gc`.
        let out = trace(parse_quote! {
            struct C { next: RefCell<Option<Gc<C>>> }
        });
        assert!(!out.contains("SameType :: < C , Self >"), "{out}");
    }

    #[test]
    fn unsized_last_field_is_asked_through_the_probe() {
        let out = trace(parse_quote! {
            struct S<T: ?Sized> { a: u8, rest: T }
        });
        assert!(
            out.contains("unsafe impl < T : ? Sized + :: gc_core :: Trace >"),
            "{out}"
        );
        assert!(
            out.contains(
                "(&& :: gc_core :: __private :: TrackingProbe :: < T > :: NEW) . \
                 __needs_tracking ()"
            ),
            "{out}"
        );
        assert!(
            out.contains("< u8 as :: gc_core :: Trace > :: needs_tracking ()"),
            "{out}"
        );
        // A tuple struct of one unsized field.
        let out = trace(parse_quote!(
            struct AnyFoo(dyn Foo);
        ));
        assert!(
            out.contains("TrackingProbe :: < dyn Foo > :: NEW) . __needs_tracking_shallow ()"),
            "{out}"
        );
        // A skipped last field, or one whose type also occurs earlier (so is
        // sized), is asked directly; enums never use the probe.
        for input in [
            parse_quote!(
                struct S {
                    a: A,
                    #[gc(skip)]
                    b: B,
                }
            ),
            parse_quote!(
                struct S {
                    a: A,
                    b: A,
                }
            ),
            parse_quote!(
                enum E {
                    X(A),
                    Y { b: B },
                }
            ),
        ] {
            let out = trace(input);
            assert!(!out.contains("TrackingProbe"), "{out}");
        }
    }

    #[test]
    fn gc_shapes_are_checked_then_answered_from_the_pointee() {
        let out = trace(parse_quote! {
            struct P { a: Gc<u8>, b: RefCell<Vec<Gc<str>>>, c: Box<str>, d: Foo<u8> }
        });
        // The field type is compared with the canonical type it is spelled
        // like, then `X`'s shallow answer is used; otherwise the field's own.
        assert!(
            out.contains(
                "SameType :: < Gc < u8 > , :: gc_core :: __private :: RealGc < u8 > > :: NEW) . \
                 __same ()"
            ),
            "{out}"
        );
        assert!(
            out.contains("TrackingProbe :: < u8 > :: NEW) . __needs_tracking_shallow ()"),
            "{out}"
        );
        assert!(
            out.contains(
                "SameType :: < RefCell < Vec < Gc < str > > > , :: core :: cell :: RefCell < \
                 :: std :: vec :: Vec < :: gc_core :: __private :: RealGc < str > > > > :: NEW)"
            ),
            "{out}"
        );
        assert!(
            out.contains("SameType :: < Box < str > , :: std :: boxed :: Box < str > >"),
            "{out}"
        );
        assert!(
            out.contains("< Gc < u8 > as :: gc_core :: Trace > :: needs_tracking ()"),
            "{out}"
        );
        // Not a shape: asked directly, no probe.
        assert!(!out.contains("SameType :: < Foo"), "{out}");
        // `owns_resource` never uses shapes.
        assert!(
            out.contains("< Gc < u8 > as :: gc_core :: Trace > :: owns_resource ()"),
            "{out}"
        );
    }

    #[test]
    fn enums() {
        let out = trace(parse_quote! {
            enum E { A, B(Alpha, #[gc(skip)] Beta), C { x: Alpha, y: Gamma } }
        });
        assert!(out.contains("E :: A { .. } => { }"), "{out}");
        assert!(out.contains("E :: B { 0 : __f0 , .. }"), "{out}");
        assert!(out.contains("E :: C { x : __f0 , y : __f1 , .. }"), "{out}");
        assert_skipped_only_for_resources(&out, "Beta");
        // Each type is asked once.
        assert_eq!(
            out.matches("< Alpha as :: gc_core :: Trace > :: needs_tracking ()")
                .count(),
            1
        );

        let out = trace(parse_quote!(
            enum Empty {}
        ));
        assert!(out.contains("match * self { }"), "{out}");
        assert!(
            out.contains("fn needs_tracking () -> bool { false }"),
            "{out}"
        );
    }

    #[test]
    fn unions_are_rejected() {
        let err = trace_error(parse_quote!(union U { a: u32, b: f32 }));
        assert!(err.contains("does not support unions"), "{err}");
    }

    #[test]
    fn packed_is_rejected() {
        let err = trace_error(parse_quote!(
            #[repr(C, packed(2))]
            struct P {
                a: u32,
            }
        ));
        assert!(err.contains("does not support `#[repr(packed)]`"), "{err}");
    }

    #[test]
    fn bad_attributes_are_all_reported() {
        let err = trace_error(parse_quote! {
            #[gc(skip)]
            struct S {
                #[gc(skp)] a: u8,
                #[gc(skip = 1)] b: u8,
                #[gc] c: u8,
                #[gc(skip, skip)] d: u8,
            }
        });
        assert!(
            err.contains("`#[gc(skip)]` goes on fields; on the type the only option is"),
            "{err}"
        );
        assert!(
            err.contains("unknown `gc` option `skp`; expected `skip`"),
            "{err}"
        );
        assert!(err.contains("`skip` takes no value"), "{err}");
        assert!(err.contains("expected `#[gc(skip)]`"), "{err}");
        assert!(err.contains("duplicate `gc` option `skip`"), "{err}");

        let err = trace_error(parse_quote!(
            enum E {
                #[gc(skip)]
                A,
            }
        ));
        assert!(err.contains("`#[gc(...)]` options go on fields"), "{err}");
    }

    #[test]
    fn crate_path_defaults_to_gc_core() {
        // gc-derive's own Cargo.toml does not list gc-core, so the lookup
        // falls back to the conventional name.
        let out = trace(parse_quote!(
            struct S(Gc<S>);
        ));
        assert!(out.contains(":: gc_core :: Trace for S"), "{out}");
    }

    #[test]
    fn crate_option_names_gc_core() {
        let out = trace(parse_quote! {
            #[gc(crate = my_framework::gc)]
            struct S<T> { a: Alpha, b: T }
        });
        assert!(!out.contains("gc_core"), "{out}");
        assert!(
            out.contains("unsafe impl < T : my_framework :: gc :: Trace > my_framework :: gc :: Trace for S < T >"),
            "{out}"
        );
        assert!(
            out.contains("< Alpha as my_framework :: gc :: Trace > :: trace"),
            "{out}"
        );
        assert!(out.contains("< Alpha as my_framework :: gc :: Trace > :: needs_tracking ()"));
        assert!(out.contains("& mut my_framework :: gc :: Tracer"), "{out}");
        assert!(out.contains(
            "my_framework :: gc :: __private :: TraceTypesMustNotImplementDrop_UseFinalizeInstead"
        ));

        // Written as the user wrote it: `crate`, `::x` and `self::x` paths too.
        let out = trace(parse_quote! {
            #[gc(crate = crate)]
            struct S;
        });
        assert!(out.contains("unsafe impl crate :: Trace for S"), "{out}");
        let out = trace(parse_quote! {
            #[gc(crate = ::mygc)]
            struct S;
        });
        assert!(out.contains("unsafe impl :: mygc :: Trace for S"), "{out}");

        let out = expand_finalize(parse_quote! {
            #[gc(crate = self::reexport)]
            struct S;
        })
        .unwrap()
        .to_string();
        assert!(
            out.contains("impl self :: reexport :: Finalize for S"),
            "{out}"
        );
    }

    #[test]
    fn bad_crate_options_are_all_reported() {
        let err = trace_error(parse_quote! {
            #[gc(crate = a, crate = b)]
            #[gc(krate = c)]
            #[gc(crate)]
            struct S {
                #[gc(crate = d)] a: u8,
            }
        });
        assert!(err.contains("duplicate `gc` option `crate`"), "{err}");
        assert!(
            err.contains("unknown `gc` option `krate` on a type; expected `crate = path`"),
            "{err}"
        );
        assert!(err.contains("expected `=`"), "{err}");
        assert!(
            err.contains("`#[gc(crate = path)]` goes on the type, not on a field"),
            "{err}"
        );

        let err = trace_error(parse_quote! {
            #[gc(crate = "my::gc")]
            struct S;
        });
        assert!(
            err.contains("write the path without quotes: `#[gc(crate = my::gc)]`"),
            "{err}"
        );

        // `#[derive(Finalize)]` leaves the reporting to `#[derive(Trace)]`.
        let out = expand_finalize(parse_quote! {
            #[gc(krate = c)]
            struct S;
        })
        .unwrap()
        .to_string();
        assert!(out.contains(":: gc_core :: Finalize for S"), "{out}");
    }

    #[test]
    fn finalize() {
        let tokens = expand_finalize(parse_quote! {
            struct S<T: Clone> where T: Default { #[gc(bogus)] a: T }
        })
        .unwrap();
        syn::parse2::<syn::File>(tokens.clone()).unwrap();
        let out = tokens.to_string();
        assert!(
            out.contains("impl < T : Clone > :: gc_core :: Finalize for S < T > where T : Default"),
            "{out}"
        );
        assert!(
            out.contains("fn has_finalizer () -> bool { false }"),
            "{out}"
        );
        assert!(expand_finalize(parse_quote!(union U { a: u32 })).is_ok());
    }
}
