//! A small DOM: the kind of program gc-core is for.
//!
//! Elements point to their children *and* to their parent with strong `Gc`s
//! (as a browser's DOM does: `node.parentNode` keeps the parent alive), event
//! listeners own the elements they act on, and the document keeps an index
//! of ids. Removing a subtree detaches it from the page, but inside the
//! subtree every child still points to its parent, so counting alone frees
//! none of it — with `Rc` it would leak, or need `Weak` parents and care at
//! every step. Here the cycle collector frees it.
//!
//! The program builds a page of articles with comments, clicks a few
//! buttons, removes half of the articles, and reports the memory of the
//! gc-core heap (`gc::heap_stats()`: blocks handed out for `Gc` objects; the
//! `String`s inside elements come from the system allocator) before building,
//! after building, after the removal and after a collection.
//!
//! Run it with `cargo run --release --example dom`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use gc_core::gc::{self, HeapStats};
use gc_core::{Finalize, Gc, Trace, Weak};

/// One element of the page.
#[derive(Trace, Finalize)]
struct Element {
    tag: &'static str,
    id: Option<String>,
    text: RefCell<String>,
    hidden: Cell<bool>,
    parent: RefCell<Option<Gc<Element>>>,
    children: RefCell<Vec<Gc<Element>>>,
    /// `(event, handler)`; handlers are traced (see [`Listener`]).
    listeners: RefCell<Vec<(&'static str, Box<dyn Listener>)>>,
}

/// An event handler. `Trace` as a supertrait makes `Box<dyn Listener>`
/// traceable, so a handler may own `Gc`s and the collector still sees every
/// edge (a closure in a `#[gc(skip)]` field capturing a `Gc` would hide one;
/// see the crate docs, "Drop, closures, trait objects and foreign types").
trait Listener: Trace {
    fn handle(&self, target: &Gc<Element>);
}

/// The "collapse" button of an article hides the article.
#[derive(Trace, Finalize)]
struct Collapse {
    article: Gc<Element>,
}

impl Listener for Collapse {
    fn handle(&self, _target: &Gc<Element>) {
        self.article.hidden.set(!self.article.hidden.get());
    }
}

/// The document: the root element and an id index. The index holds `Weak`s,
/// so it never keeps a removed element alive.
struct Document {
    root: Gc<Element>,
    by_id: RefCell<HashMap<String, Weak<Element>>>,
}

impl Document {
    fn new() -> Document {
        let root = Element::new("html", None, "");
        Document {
            root,
            by_id: RefCell::new(HashMap::new()),
        }
    }

    fn create(&self, tag: &'static str, id: Option<String>, text: &str) -> Gc<Element> {
        let e = Element::new(tag, id.clone(), text);
        if let Some(id) = id {
            self.by_id.borrow_mut().insert(id, Gc::downgrade(&e));
        }
        e
    }

    /// `document.getElementById`: only elements attached to the page.
    fn get_element_by_id(&self, id: &str) -> Option<Gc<Element>> {
        let e = self.by_id.borrow().get(id)?.upgrade()?;
        let mut top = e.clone();
        while let Some(p) = top.parent() {
            top = p;
        }
        Gc::ptr_eq(&top, &self.root).then_some(e)
    }
}

impl Element {
    fn new(tag: &'static str, id: Option<String>, text: &str) -> Gc<Element> {
        Gc::new(Element {
            tag,
            id,
            text: RefCell::new(text.to_string()),
            hidden: Cell::new(false),
            parent: RefCell::new(None),
            children: RefCell::new(Vec::new()),
            listeners: RefCell::new(Vec::new()),
        })
    }

    fn parent(&self) -> Option<Gc<Element>> {
        self.parent.borrow().clone()
    }

    /// `parent.removeChild(child)`: the child and its subtree leave the page.
    fn remove_child(&self, child: &Gc<Element>) {
        self.children.borrow_mut().retain(|c| !Gc::ptr_eq(c, child));
        *child.parent.borrow_mut() = None;
    }

    fn add_listener(&self, event: &'static str, l: impl Listener) {
        self.listeners.borrow_mut().push((event, Box::new(l)));
    }

    /// Elements in this subtree (itself included).
    fn count(&self) -> usize {
        1 + self
            .children
            .borrow()
            .iter()
            .map(|c| c.count())
            .sum::<usize>()
    }

    /// Characters of visible text in this subtree.
    fn visible_text(&self) -> usize {
        if self.hidden.get() {
            return 0;
        }
        self.text.borrow().len()
            + self
                .children
                .borrow()
                .iter()
                .map(|c| c.visible_text())
                .sum::<usize>()
    }
}

/// `parent.appendChild(child)`.
fn append_child(parent: &Gc<Element>, child: Gc<Element>) {
    *child.parent.borrow_mut() = Some(parent.clone());
    parent.children.borrow_mut().push(child);
}

/// Run the handlers for `event` on `target`, then on each ancestor
/// (bubbling).
fn dispatch(target: &Gc<Element>, event: &str) {
    let mut at = Some(target.clone());
    while let Some(e) = at {
        for (ev, l) in e.listeners.borrow().iter() {
            if *ev == event {
                l.handle(target);
            }
        }
        at = e.parent();
    }
}

const ARTICLES: usize = 200;
const PARAGRAPHS: usize = 5;
const COMMENTS: usize = 10;

/// `<article id=article-N>` with a title, paragraphs, a collapse button and
/// a comment thread.
fn article(doc: &Document, n: usize) -> Gc<Element> {
    let a = doc.create("article", Some(format!("article-{n}")), "");
    append_child(&a, doc.create("h2", None, &format!("Article {n}")));
    for p in 0..PARAGRAPHS {
        append_child(
            &a,
            doc.create("p", None, &format!("Paragraph {p} of article {n}.")),
        );
    }
    let button = doc.create("button", Some(format!("collapse-{n}")), "collapse");
    button.add_listener("click", Collapse { article: a.clone() });
    append_child(&a, button);
    let thread = doc.create("section", None, "");
    for c in 0..COMMENTS {
        let comment = doc.create("div", Some(format!("comment-{n}-{c}")), "");
        append_child(
            &comment,
            doc.create("p", None, &format!("Comment {c} on article {n}.")),
        );
        append_child(&thread, comment);
    }
    append_child(&a, thread);
    a
}

fn live_elements() -> usize {
    gc::objects(None)
        .iter()
        .filter(|o| o.is::<Element>())
        .count()
}

/// One line: elements reachable from the root, elements alive (tracked
/// objects of type `Element`, `gc::objects`), and the gc-core heap.
fn report(step: &str, doc: &Document) {
    let h = gc::heap_stats();
    println!(
        "{step}: {} elements on the page, {} alive; heap: {} bytes in use, {} arenas",
        doc.root.count(),
        live_elements(),
        h.bytes_in_use,
        h.arenas_live,
    );
}

fn print_heap(title: &str, h: &HeapStats) {
    println!("\n-- gc::heap_stats() {title} --\n{h}\n");
}

fn main() {
    let doc = Document::new();
    report("empty document", &doc);
    let baseline = gc::heap_stats();

    let body = doc.create("body", None, "");
    append_child(&doc.root, body.clone());
    append_child(&body, doc.create("header", None, "A small DOM"));
    let main = doc.create("main", None, "");
    append_child(&body, main.clone());
    for n in 0..ARTICLES {
        append_child(&main, article(&doc, n));
    }
    report("page built", &doc);
    let built = gc::heap_stats();
    print_heap("after building the page", &built);

    // Clicking bubbles from the button to its article's listeners and up.
    let all_text = doc.root.visible_text();
    for n in (0..ARTICLES).step_by(10) {
        let button = doc.get_element_by_id(&format!("collapse-{n}"));
        dispatch(&button.expect("attached"), "click");
    }
    let visible = doc.root.visible_text();
    println!(
        "clicked {} collapse buttons: {visible} of {all_text} characters of text still visible",
        ARTICLES / 10
    );

    // Remove every other article, as a script filtering the page would.
    let watch = Gc::downgrade(&doc.get_element_by_id("comment-1-3").expect("attached"));
    for n in (1..ARTICLES).step_by(2) {
        let a = doc
            .get_element_by_id(&format!("article-{n}"))
            .expect("attached");
        main.remove_child(&a);
    }
    report("odd articles removed", &doc);
    println!(
        "  getElementById(\"comment-1-3\") finds it: {}; a Weak to it upgrades: {} \
         (the removed subtrees are cycles: children point to parents, buttons to articles)",
        doc.get_element_by_id("comment-1-3").is_some(),
        watch.upgrade().is_some()
    );

    let found = gc::collect();
    report("after gc::collect()", &doc);
    println!(
        "  gc::collect() found {found} unreachable objects (the removed elements); \
         the Weak upgrades: {}",
        watch.upgrade().is_some()
    );
    print_heap("after the collection", &gc::heap_stats());
    println!(
        "heap bytes in use: {} before building, {} with the whole page, {} now (the freed \
         blocks are kept in their pools for the next allocations)",
        baseline.bytes_in_use,
        built.bytes_in_use,
        gc::heap_stats().bytes_in_use
    );

    // Tear the page down: the document's root is the last handle, and the
    // rest is one big cycle through parent pointers.
    drop((body, main));
    drop(doc);
    println!(
        "document dropped: gc::collect() frees the remaining {} elements",
        gc::collect()
    );
}
