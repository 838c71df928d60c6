// SPDX-License-Identifier: GPL-2.0

//! Intrusive red-black tree of [`EdfNode`]s ordered by [`EdfKey`].
//!
//! The tree never allocates: callers embed an [`EdfNode`] in their own
//! objects (in the kernel: in `task_struct`) and link it with
//! [`EdfTree::insert`]. Insertion and removal are worst-case `O(log n)`
//! (at most two rotations for an insert, three for a removal), the earliest
//! node is cached so [`EdfTree::first`] is `O(1)`. Removal relinks nodes; keys
//! are never copied between nodes, so a node pointer always denotes the same
//! object.
//!
//! # Node states
//!
//! The `color` word of a node tells whether it is linked: `0` means unlinked,
//! `1` red and `2` black. Hence an all-zero [`EdfNode`] is a valid *unlinked*
//! node, exactly like [`EdfNode::new`], and the state does not depend on the
//! node's address (a bitwise copy of an unlinked node is unlinked too).
//!
//! # Tree invariants
//!
//! For an [`EdfTree`] `t`:
//! - every node reachable from `t.root` is valid, linked (`color` is red or
//!   black), its children's `parent` pointers point back to it and the
//!   root's `parent` is null;
//! - an in-order walk yields non-decreasing keys; equal keys are kept in
//!   insertion order (a new node goes after all nodes with an equal key);
//! - red-black rules: the root is black, no red node has a red child, and
//!   every path from the root to a missing child has the same number of
//!   black nodes;
//! - `t.leftmost` is the in-order first node (null iff the tree is empty);
//! - `t.len` is the number of linked nodes.
//!
//! No node points back to the [`EdfTree`] itself, so a tree may be moved
//! (its nodes may not, while linked). An all-zero [`EdfTree`] is a valid
//! empty tree, exactly like [`EdfTree::new`].
//!
//! All node fields are [`Cell`]s, so linking a node through a pointer derived
//! from a shared reference `&EdfNode` is sound; `Cell<T>` has the layout of
//! `T`, so the node's C layout is that of
//! `struct { void *parent, *left, *right; u64 color; u64 deadline, seq; }`.

use core::cell::Cell;
use core::ptr::{self, NonNull};

/// Sort key: earlier absolute deadline first, then lower sequence number
/// (FIFO among equal deadlines).
///
/// The derived ordering compares `deadline` first, then `seq`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct EdfKey {
    /// Absolute deadline in nanoseconds.
    pub deadline: u64,
    /// Tie breaker among equal deadlines: lower means enqueued earlier.
    pub seq: u64,
}

impl EdfKey {
    /// Builds a key from an absolute deadline and a sequence number.
    pub const fn new(deadline: u64, seq: u64) -> Self {
        EdfKey { deadline, seq }
    }
}

/// `color` value of a node that is in no tree. Zero, so that an all-zero
/// node is unlinked.
const UNLINKED: u64 = 0;
/// `color` value of a linked red node.
const RED: u64 = 1;
/// `color` value of a linked black node.
const BLACK: u64 = 2;

/// A node of an [`EdfTree`], to be embedded in the object it orders.
///
/// A node is either unlinked (the state of [`EdfNode::new`] and of an
/// all-zero node) or linked in exactly one tree. While linked it must stay
/// at the same address and stay valid; see [`EdfTree::insert`].
#[repr(C)]
#[derive(Debug)]
pub struct EdfNode {
    /// Parent node, null for the root and for unlinked nodes.
    parent: Cell<*mut EdfNode>,
    /// Left child (earlier keys) or null.
    left: Cell<*mut EdfNode>,
    /// Right child (later or equal keys) or null.
    right: Cell<*mut EdfNode>,
    /// 0 = unlinked ([`UNLINKED`]), 1 = red ([`RED`]), 2 = black ([`BLACK`]).
    color: Cell<u64>,
    /// Key given at the last insertion (zero if never inserted).
    key: Cell<EdfKey>,
}

impl EdfNode {
    /// Returns an unlinked node with a zero key (all fields zero).
    pub const fn new() -> Self {
        EdfNode {
            parent: Cell::new(ptr::null_mut()),
            left: Cell::new(ptr::null_mut()),
            right: Cell::new(ptr::null_mut()),
            color: Cell::new(UNLINKED),
            key: Cell::new(EdfKey::new(0, 0)),
        }
    }

    /// Returns true while the node is linked in some tree.
    pub fn is_linked(&self) -> bool {
        self.color.get() != UNLINKED
    }

    /// Returns the key the node was last inserted with.
    ///
    /// The key is kept after removal; it is zero for a node that was never
    /// inserted.
    pub fn key(&self) -> EdfKey {
        self.key.get()
    }

    /// Marks the node unlinked, keeping its key.
    fn clear(&self) {
        self.parent.set(ptr::null_mut());
        self.left.set(ptr::null_mut());
        self.right.set(ptr::null_mut());
        self.color.set(UNLINKED);
    }
}

impl Default for EdfNode {
    fn default() -> Self {
        Self::new()
    }
}

/// Dereferences a node pointer.
///
/// # Safety
///
/// `p` must be non-null and point to a valid [`EdfNode`] that stays valid for
/// `'a`.
unsafe fn nref<'a>(p: *mut EdfNode) -> &'a EdfNode {
    // SAFETY: the caller guarantees `p` is non-null and valid for `'a`; all
    // fields are `Cell`s, so shared references may coexist with mutation.
    unsafe { &*p }
}

/// Returns true if `p` is a non-null red node.
///
/// # Safety
///
/// `p` must be null or point to a valid [`EdfNode`].
unsafe fn is_red(p: *mut EdfNode) -> bool {
    // SAFETY: `p` is non-null here and valid by the caller's guarantee.
    !p.is_null() && unsafe { nref(p) }.color.get() == RED
}

/// Returns the in-order first node of the subtree rooted at `p`.
///
/// # Safety
///
/// `p` must be a non-null node of a tree satisfying the tree invariants.
unsafe fn minimum(mut p: *mut EdfNode) -> *mut EdfNode {
    // SAFETY: `p` is valid by the caller's guarantee and each left child of a
    // linked node is null or a valid node by the tree invariants.
    unsafe {
        loop {
            let l = nref(p).left.get();
            if l.is_null() {
                return p;
            }
            p = l;
        }
    }
}

/// Returns the in-order successor of `n`, or null if `n` is the last node.
///
/// # Safety
///
/// `n` must be a non-null node linked in a tree satisfying the tree
/// invariants.
unsafe fn successor(n: *mut EdfNode) -> *mut EdfNode {
    // SAFETY: `n` is valid by the caller's guarantee; every non-null
    // parent/child pointer of a linked node is a valid node of the same tree.
    unsafe {
        let r = nref(n).right.get();
        if !r.is_null() {
            return minimum(r);
        }
        let mut c = n;
        let mut p = nref(c).parent.get();
        while !p.is_null() && nref(p).right.get() == c {
            c = p;
            p = nref(p).parent.get();
        }
        p
    }
}

/// An intrusive red-black tree of [`EdfNode`]s, ordered by [`EdfKey`].
///
/// An all-zero `EdfTree` is a valid empty tree (the same as
/// [`EdfTree::new`]), so it may live in zero-initialised C memory. The C
/// layout is `struct { void *root, *leftmost; u64 len; }`.
#[repr(C)]
#[derive(Debug)]
pub struct EdfTree {
    /// Root node or null.
    root: *mut EdfNode,
    /// Cached in-order first node, null iff the tree is empty.
    leftmost: *mut EdfNode,
    /// Number of linked nodes.
    len: u64,
}

impl Default for EdfTree {
    fn default() -> Self {
        Self::new()
    }
}

impl EdfTree {
    /// Returns an empty tree (all fields zero).
    pub const fn new() -> Self {
        // INVARIANT: no nodes, null root and leftmost, zero length.
        EdfTree {
            root: ptr::null_mut(),
            leftmost: ptr::null_mut(),
            len: 0,
        }
    }

    /// Returns the number of linked nodes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Returns true if the tree has no nodes.
    pub fn is_empty(&self) -> bool {
        self.root.is_null()
    }

    /// Returns the node with the smallest key (the earliest one among equal
    /// keys), in `O(1)`.
    pub fn first(&self) -> Option<NonNull<EdfNode>> {
        NonNull::new(self.leftmost)
    }

    /// Links `node` into the tree with `key`, after every node with an equal
    /// key. Worst case `O(log n)`, at most two rotations.
    ///
    /// # Safety
    ///
    /// `node` must point to a valid, unlinked [`EdfNode`] (not in any tree)
    /// that stays at the same address and stays valid until it is removed
    /// from this tree with [`EdfTree::remove`]. While linked, the node may
    /// only be accessed through the `EdfNode` and `EdfTree` methods.
    pub unsafe fn insert(&mut self, node: NonNull<EdfNode>, key: EdfKey) {
        let z = node.as_ptr();
        // SAFETY: `z` is valid by the caller's guarantee; every other pointer
        // dereferenced is a non-null node of this tree, valid by the tree
        // invariants.
        unsafe {
            let mut parent = ptr::null_mut();
            let mut go_left = false;
            let mut is_leftmost = true;
            let mut cur = self.root;
            while !cur.is_null() {
                parent = cur;
                let c = nref(cur);
                if key < c.key.get() {
                    go_left = true;
                    cur = c.left.get();
                } else {
                    go_left = false;
                    is_leftmost = false;
                    cur = c.right.get();
                }
            }
            let zn = nref(z);
            zn.parent.set(parent);
            zn.left.set(ptr::null_mut());
            zn.right.set(ptr::null_mut());
            zn.color.set(RED);
            zn.key.set(key);
            if parent.is_null() {
                self.root = z;
            } else if go_left {
                nref(parent).left.set(z);
            } else {
                nref(parent).right.set(z);
            }
            // INVARIANT: `z` went left at every level iff it is the new
            // minimum; it is counted in `len`.
            if is_leftmost {
                self.leftmost = z;
            }
            self.len = self.len.wrapping_add(1);
            // INVARIANT: restores the red-black rules (only "no red child of
            // a red node" can be broken, at `z`).
            self.insert_fixup(z);
        }
    }

    /// Unlinks `node` from the tree. Worst case `O(log n)`, at most three
    /// rotations. Afterwards `node.is_linked()` is false and its key is
    /// unchanged. Calling this on an unlinked node is a no-op.
    ///
    /// # Safety
    ///
    /// `node` must point to a valid [`EdfNode`] that is either linked in
    /// *this* tree or unlinked.
    pub unsafe fn remove(&mut self, node: NonNull<EdfNode>) {
        let z = node.as_ptr();
        // SAFETY: `z` is valid by the caller's guarantee and, when linked, in
        // this tree; every other pointer dereferenced is a non-null node of
        // this tree, valid by the tree invariants.
        unsafe {
            let zn = nref(z);
            if !zn.is_linked() {
                return;
            }
            // INVARIANT: the successor of the minimum becomes the minimum.
            if self.leftmost == z {
                self.leftmost = successor(z);
            }
            let zl = zn.left.get();
            let zr = zn.right.get();
            let x;
            let x_parent;
            let removed_color;
            if zl.is_null() {
                x = zr;
                x_parent = zn.parent.get();
                removed_color = zn.color.get();
                self.transplant(z, zr);
            } else if zr.is_null() {
                x = zl;
                x_parent = zn.parent.get();
                removed_color = zn.color.get();
                self.transplant(z, zl);
            } else {
                // Two children: relink the successor `y` into `z`'s place.
                let y = minimum(zr);
                let yn = nref(y);
                removed_color = yn.color.get();
                x = yn.right.get();
                if y == zr {
                    x_parent = y;
                } else {
                    x_parent = yn.parent.get();
                    self.transplant(y, x);
                    yn.right.set(zr);
                    nref(zr).parent.set(y);
                }
                self.transplant(z, y);
                yn.left.set(zl);
                nref(zl).parent.set(y);
                yn.color.set(zn.color.get());
            }
            self.len = self.len.saturating_sub(1);
            // INVARIANT: removing a black node leaves `x` one black short;
            // the fixup restores equal black heights.
            if removed_color == BLACK {
                self.remove_fixup(x, x_parent);
            }
            zn.clear();
        }
    }

    /// Returns the in-order successor of `node` (the next later key, or the
    /// next node with an equal key), or `None` if `node` is the last one.
    ///
    /// # Safety
    ///
    /// `node` must point to a valid [`EdfNode`] linked in *this* tree.
    pub unsafe fn next(&self, node: NonNull<EdfNode>) -> Option<NonNull<EdfNode>> {
        // SAFETY: `node` is linked in this tree by the caller's guarantee.
        NonNull::new(unsafe { successor(node.as_ptr()) })
    }

    /// Walks the whole tree and checks every invariant listed in the module
    /// docs: BST order, red-black rules, parent links, node states, the
    /// cached leftmost node and `len`. Returns a description of the first
    /// violation found.
    ///
    /// Iterative, `O(n)`, no allocation. It stops once more than `len` nodes
    /// have been visited, so it terminates even on many corrupted trees.
    pub fn check(&self) -> Result<(), &'static str> {
        let root = self.root;
        if root.is_null() {
            if !self.leftmost.is_null() {
                return Err("empty tree has a leftmost node");
            }
            if self.len != 0 {
                return Err("empty tree has a non-zero len");
            }
            return Ok(());
        }
        // SAFETY: every node reachable from `root` is valid: `insert`'s
        // contract keeps each linked node valid and in place until it is
        // removed. Only links whose back pointer was verified are followed.
        unsafe {
            let rn = nref(root);
            if !rn.parent.get().is_null() {
                return Err("root has a parent");
            }
            if rn.color.get() != BLACK {
                return Err("root is not black");
            }
            // Number of black nodes on the path from the root to `cur`.
            let mut black_depth: u64 = 1;
            let mut cur = root;
            // Descend to the minimum.
            loop {
                let l = nref(cur).left.get();
                if l.is_null() {
                    break;
                }
                if nref(l).parent.get() != cur {
                    return Err("left child's parent link is wrong");
                }
                black_depth = black_depth.wrapping_add(u64::from(!is_red(l)));
                cur = l;
            }
            if cur != self.leftmost {
                return Err("cached leftmost is not the minimum");
            }
            let mut count: u64 = 0;
            let mut prev: Option<EdfKey> = None;
            let mut leaf_black_depth: Option<u64> = None;
            'walk: loop {
                let cn = nref(cur);
                count = count.wrapping_add(1);
                if count > self.len {
                    return Err("more nodes than len");
                }
                let color = cn.color.get();
                if color != RED && color != BLACK {
                    return Err("node in the tree is not linked");
                }
                let l = cn.left.get();
                let r = cn.right.get();
                if color == RED && (is_red(l) || is_red(r)) {
                    return Err("red node has a red child");
                }
                if !l.is_null() && l == r {
                    return Err("left and right child are the same node");
                }
                if l.is_null() || r.is_null() {
                    match leaf_black_depth {
                        None => leaf_black_depth = Some(black_depth),
                        Some(d) if d != black_depth => return Err("unequal black heights"),
                        Some(_) => {}
                    }
                }
                let key = cn.key.get();
                if let Some(p) = prev {
                    if key < p {
                        return Err("keys out of order");
                    }
                }
                prev = Some(key);

                // Advance to the in-order successor.
                if !r.is_null() {
                    if nref(r).parent.get() != cur {
                        return Err("right child's parent link is wrong");
                    }
                    black_depth = black_depth.wrapping_add(u64::from(!is_red(r)));
                    cur = r;
                    loop {
                        let l = nref(cur).left.get();
                        if l.is_null() {
                            break;
                        }
                        if nref(l).parent.get() != cur {
                            return Err("left child's parent link is wrong");
                        }
                        black_depth = black_depth.wrapping_add(u64::from(!is_red(l)));
                        cur = l;
                    }
                } else {
                    loop {
                        let p = nref(cur).parent.get();
                        if p.is_null() {
                            break 'walk;
                        }
                        black_depth = black_depth.wrapping_sub(u64::from(!is_red(cur)));
                        let from_left = nref(p).left.get() == cur;
                        cur = p;
                        if from_left {
                            break;
                        }
                    }
                }
            }
            if count != self.len {
                return Err("fewer nodes than len");
            }
        }
        Ok(())
    }

    /// Replaces `old` by `new` in `parent`'s child links (or as the root if
    /// `parent` is null). Does not touch `new`'s parent pointer.
    ///
    /// # Safety
    ///
    /// `parent` must be null or a valid node of this tree.
    unsafe fn replace_child(&mut self, parent: *mut EdfNode, old: *mut EdfNode, new: *mut EdfNode) {
        if parent.is_null() {
            self.root = new;
        } else {
            // SAFETY: `parent` is non-null and valid by the caller's guarantee.
            let pn = unsafe { nref(parent) };
            if pn.left.get() == old {
                pn.left.set(new);
            } else {
                pn.right.set(new);
            }
        }
    }

    /// Puts the subtree `v` (possibly empty) in the place of node `u`.
    ///
    /// # Safety
    ///
    /// `u` must be a valid node of this tree, `v` null or a valid node.
    unsafe fn transplant(&mut self, u: *mut EdfNode, v: *mut EdfNode) {
        // SAFETY: `u` is valid and its parent is null or a valid node of this
        // tree; `v` is dereferenced only when non-null.
        unsafe {
            let up = nref(u).parent.get();
            self.replace_child(up, u, v);
            if !v.is_null() {
                nref(v).parent.set(up);
            }
        }
    }

    /// Left rotation at `x`: its right child `y` takes its place.
    ///
    /// # Safety
    ///
    /// `x` must be a valid node of this tree with a non-null right child.
    unsafe fn rotate_left(&mut self, x: *mut EdfNode) {
        // SAFETY: `x` and its right child are valid by the caller's
        // guarantee; other pointers are dereferenced only when non-null and
        // are nodes of this tree.
        unsafe {
            let xn = nref(x);
            let y = xn.right.get();
            let yn = nref(y);
            let b = yn.left.get();
            xn.right.set(b);
            if !b.is_null() {
                nref(b).parent.set(x);
            }
            let p = xn.parent.get();
            yn.parent.set(p);
            self.replace_child(p, x, y);
            yn.left.set(x);
            xn.parent.set(y);
        }
    }

    /// Right rotation at `x`: its left child `y` takes its place.
    ///
    /// # Safety
    ///
    /// `x` must be a valid node of this tree with a non-null left child.
    unsafe fn rotate_right(&mut self, x: *mut EdfNode) {
        // SAFETY: as in `rotate_left`, mirrored.
        unsafe {
            let xn = nref(x);
            let y = xn.left.get();
            let yn = nref(y);
            let b = yn.right.get();
            xn.left.set(b);
            if !b.is_null() {
                nref(b).parent.set(x);
            }
            let p = xn.parent.get();
            yn.parent.set(p);
            self.replace_child(p, x, y);
            yn.right.set(x);
            xn.parent.set(y);
        }
    }

    /// Restores the red-black rules after `z` was linked as a red leaf.
    ///
    /// The null checks on the grandparent and on the left child are
    /// unreachable on a tree satisfying the invariants; they only keep a
    /// corrupted tree from causing a null dereference.
    ///
    /// # Safety
    ///
    /// `z` must be a valid red node of this tree, the only red-red violation
    /// being between `z` and its parent.
    unsafe fn insert_fixup(&mut self, mut z: *mut EdfNode) {
        // SAFETY: all pointers dereferenced are non-null nodes of this tree:
        // a red parent is never the root, so it has a parent; rotations are
        // done only at nodes that have the needed child (the node just
        // climbed from).
        unsafe {
            loop {
                let p = nref(z).parent.get();
                if !is_red(p) {
                    break;
                }
                let g = nref(p).parent.get();
                if g.is_null() {
                    break;
                }
                let gn = nref(g);
                if p == gn.left.get() {
                    let u = gn.right.get();
                    if is_red(u) {
                        nref(p).color.set(BLACK);
                        nref(u).color.set(BLACK);
                        gn.color.set(RED);
                        z = g;
                    } else {
                        let mut top = p;
                        if z == nref(p).right.get() {
                            self.rotate_left(p);
                            top = z;
                        }
                        nref(top).color.set(BLACK);
                        gn.color.set(RED);
                        self.rotate_right(g);
                        break;
                    }
                } else {
                    let u = gn.left.get();
                    if is_red(u) {
                        nref(p).color.set(BLACK);
                        nref(u).color.set(BLACK);
                        gn.color.set(RED);
                        z = g;
                    } else {
                        let mut top = p;
                        if z == nref(p).left.get() {
                            self.rotate_right(p);
                            top = z;
                        }
                        nref(top).color.set(BLACK);
                        gn.color.set(RED);
                        self.rotate_left(g);
                        break;
                    }
                }
            }
            let r = self.root;
            if !r.is_null() {
                nref(r).color.set(BLACK);
            }
        }
    }

    /// Restores equal black heights after a black node was removed, leaving
    /// the subtree `x` (possibly null) with parent `parent` one black short.
    ///
    /// The null checks on `parent` and on the sibling `w` are unreachable on
    /// a tree satisfying the invariants (a subtree one black short has a
    /// non-null sibling); they only keep a corrupted tree from causing a null
    /// dereference.
    ///
    /// # Safety
    ///
    /// `x` must be null or a valid node of this tree, `parent` its parent
    /// (null only if `x` is the root).
    unsafe fn remove_fixup(&mut self, mut x: *mut EdfNode, mut parent: *mut EdfNode) {
        // SAFETY: all pointers dereferenced are non-null nodes of this tree
        // (checked just before, or red hence non-null).
        unsafe {
            while x != self.root && !is_red(x) {
                if parent.is_null() {
                    break;
                }
                let pn = nref(parent);
                if x == pn.left.get() {
                    let mut w = pn.right.get();
                    if w.is_null() {
                        break;
                    }
                    if is_red(w) {
                        nref(w).color.set(BLACK);
                        pn.color.set(RED);
                        self.rotate_left(parent);
                        w = pn.right.get();
                        if w.is_null() {
                            break;
                        }
                    }
                    let wn = nref(w);
                    if !is_red(wn.left.get()) && !is_red(wn.right.get()) {
                        wn.color.set(RED);
                        x = parent;
                        parent = pn.parent.get();
                    } else {
                        if !is_red(wn.right.get()) {
                            // The left child is red, hence non-null.
                            nref(wn.left.get()).color.set(BLACK);
                            wn.color.set(RED);
                            self.rotate_right(w);
                            w = pn.right.get();
                        }
                        let wn = nref(w);
                        wn.color.set(pn.color.get());
                        pn.color.set(BLACK);
                        // The right child is red, hence non-null.
                        nref(wn.right.get()).color.set(BLACK);
                        self.rotate_left(parent);
                        x = self.root;
                        break;
                    }
                } else {
                    let mut w = pn.left.get();
                    if w.is_null() {
                        break;
                    }
                    if is_red(w) {
                        nref(w).color.set(BLACK);
                        pn.color.set(RED);
                        self.rotate_right(parent);
                        w = pn.left.get();
                        if w.is_null() {
                            break;
                        }
                    }
                    let wn = nref(w);
                    if !is_red(wn.left.get()) && !is_red(wn.right.get()) {
                        wn.color.set(RED);
                        x = parent;
                        parent = pn.parent.get();
                    } else {
                        if !is_red(wn.left.get()) {
                            // The right child is red, hence non-null.
                            nref(wn.right.get()).color.set(BLACK);
                            wn.color.set(RED);
                            self.rotate_left(w);
                            w = pn.left.get();
                        }
                        let wn = nref(w);
                        wn.color.set(pn.color.get());
                        pn.color.set(BLACK);
                        // The left child is red, hence non-null.
                        nref(wn.left.get()).color.set(BLACK);
                        self.rotate_right(parent);
                        x = self.root;
                        break;
                    }
                }
            }
            if !x.is_null() {
                nref(x).color.set(BLACK);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// SplitMix64: small deterministic PRNG for the randomized tests.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }
    }

    fn pool(n: usize) -> Vec<EdfNode> {
        (0..n).map(|_| EdfNode::new()).collect()
    }

    fn nn(n: &EdfNode) -> NonNull<EdfNode> {
        NonNull::from(n)
    }

    /// Inserts the `i`-th node of `nodes` with key `key(i)`, in order;
    /// with `check`, verifies the invariants after every insert.
    ///
    /// # Safety
    ///
    /// The nodes are unlinked and outlive their use in `t`.
    unsafe fn insert_all(
        t: &mut EdfTree,
        nodes: &[EdfNode],
        mut key: impl FnMut(usize) -> EdfKey,
        check: bool,
    ) {
        for (i, n) in nodes.iter().enumerate() {
            // SAFETY: forwarded from the caller's guarantee.
            unsafe { t.insert(nn(n), key(i)) };
            if check {
                must_check(t);
            }
        }
    }

    /// Removes the given nodes from `t`, in order; with `check`, verifies
    /// the invariants after every removal.
    ///
    /// # Safety
    ///
    /// Each node is linked in `t` or unlinked (its removal is a no-op).
    unsafe fn remove_all<'a>(
        t: &mut EdfTree,
        nodes: impl IntoIterator<Item = &'a EdfNode>,
        check: bool,
    ) {
        for n in nodes {
            // SAFETY: forwarded from the caller's guarantee.
            unsafe { t.remove(nn(n)) };
            if check {
                must_check(t);
            }
        }
    }

    /// In-order walk via `first`/`next`.
    fn in_order(t: &EdfTree) -> Vec<*mut EdfNode> {
        let mut v = Vec::new();
        let mut cur = t.first();
        while let Some(n) = cur {
            v.push(n.as_ptr());
            assert!(v.len() <= t.len(), "walk longer than len");
            // SAFETY: `n` was returned by the tree, so it is linked in it.
            cur = unsafe { t.next(n) };
        }
        v
    }

    /// Model: (key, node) pairs in the order the tree must yield them.
    struct Model(Vec<(EdfKey, *mut EdfNode)>);

    impl Model {
        fn insert(&mut self, key: EdfKey, p: *mut EdfNode) {
            // After every equal key (FIFO).
            let pos = self.0.partition_point(|&(k, _)| k <= key);
            self.0.insert(pos, (key, p));
        }

        fn remove(&mut self, p: *mut EdfNode) {
            let pos = self.0.iter().position(|&(_, q)| q == p).unwrap();
            self.0.remove(pos);
        }

        fn assert_matches(&self, t: &EdfTree) {
            assert_eq!(t.len(), self.0.len());
            assert_eq!(t.is_empty(), self.0.is_empty());
            assert_eq!(t.first().map(|n| n.as_ptr()), self.0.first().map(|e| e.1));
            let walk = in_order(t);
            let want: Vec<*mut EdfNode> = self.0.iter().map(|e| e.1).collect();
            assert_eq!(walk, want);
            for &(k, p) in &self.0 {
                // SAFETY: `p` points into the live node pool.
                assert_eq!(unsafe { &*p }.key(), k);
            }
        }
    }

    fn must_check(t: &EdfTree) {
        if let Err(e) = t.check() {
            panic!("tree invariant violated: {}", e);
        }
    }

    fn height(p: *mut EdfNode) -> usize {
        if p.is_null() {
            return 0;
        }
        // SAFETY: test-only walk of a valid tree.
        let n = unsafe { nref(p) };
        1 + core::cmp::max(height(n.left.get()), height(n.right.get()))
    }

    /// Randomized insert/remove/pop-min against the model.
    /// `check()` runs every `check_every` operations, the full comparison with
    /// the model every `compare_every` operations.
    fn random_run(
        seed: u64,
        capacity: usize,
        ops: usize,
        key_range: u64,
        check_every: usize,
        compare_every: usize,
    ) {
        let mut rng = Rng(seed);
        let nodes = pool(capacity);
        let mut free: Vec<usize> = (0..capacity).collect();
        let mut used: Vec<usize> = Vec::new();
        let mut tree = EdfTree::new();
        let mut model = Model(Vec::new());
        let mut max_len = 0;
        for op in 0..ops {
            // Bias towards growth in the first half and shrinking afterwards.
            let grow = if op < ops / 2 { 8 } else { 3 };
            let r = rng.below(10);
            if !free.is_empty() && (used.is_empty() || r < grow) {
                let i = free.swap_remove(rng.below(free.len() as u64) as usize);
                let key = EdfKey::new(rng.below(key_range), rng.below(4));
                assert!(!nodes[i].is_linked());
                // SAFETY: the node is unlinked and the pool outlives the tree use.
                unsafe { tree.insert(nn(&nodes[i]), key) };
                assert!(nodes[i].is_linked());
                model.insert(key, nn(&nodes[i]).as_ptr());
                used.push(i);
            } else if r == 9 {
                // Pop the earliest, as the scheduler does.
                let first = tree.first().unwrap();
                assert_eq!(first.as_ptr(), model.0[0].1);
                // SAFETY: `first` is linked in `tree`.
                unsafe { tree.remove(first) };
                // SAFETY: `first` points into the live pool.
                assert!(!unsafe { first.as_ref() }.is_linked());
                model.remove(first.as_ptr());
                let pos = used.iter().position(|&i| nn(&nodes[i]) == first).unwrap();
                free.push(used.swap_remove(pos));
            } else {
                let i = used.swap_remove(rng.below(used.len() as u64) as usize);
                // SAFETY: node `i` is linked in `tree`.
                unsafe { tree.remove(nn(&nodes[i])) };
                assert!(!nodes[i].is_linked());
                model.remove(nn(&nodes[i]).as_ptr());
                free.push(i);
            }
            max_len = core::cmp::max(max_len, tree.len());
            if op % check_every == 0 || tree.len() <= 2 {
                must_check(&tree);
                assert_eq!(
                    tree.first().map(|n| n.as_ptr()),
                    model.0.first().map(|e| e.1)
                );
                assert_eq!(tree.len(), model.0.len());
            }
            if op % compare_every == 0 {
                model.assert_matches(&tree);
            }
        }
        must_check(&tree);
        model.assert_matches(&tree);
        // Drain in order, checking the earliest every time.
        while let Some(f) = tree.first() {
            assert_eq!(f.as_ptr(), model.0[0].1);
            // SAFETY: `f` is linked in `tree`.
            unsafe { tree.remove(f) };
            model.0.remove(0);
            if tree.len() % check_every == 0 {
                must_check(&tree);
            }
        }
        must_check(&tree);
        assert!(tree.is_empty() && tree.first().is_none());
        assert!(nodes.iter().all(|n| !n.is_linked()));
        assert!(max_len > capacity / 2, "run never grew: {}", max_len);
    }

    #[test]
    fn random_small_check_every_op() {
        for seed in 0..200 {
            random_run(seed, 1 + (seed as usize % 40), 600, 1 + seed % 50, 1, 1);
        }
    }

    #[test]
    fn random_medium() {
        for seed in 1000..1010 {
            random_run(seed, 500, 4000, 1 << 20, 1, 7);
        }
    }

    #[test]
    fn random_large_10k() {
        random_run(42, 10_000, 40_000, 1 << 40, 97, 1553);
        // Many equal deadlines.
        random_run(43, 10_000, 40_000, 16, 97, 1553);
    }

    #[test]
    fn sequential_inserts_stay_balanced() {
        for &asc in &[true, false] {
            let n = 4096;
            let nodes = pool(n);
            let mut tree = EdfTree::new();
            let key = |i: usize| EdfKey::new(if asc { i } else { n - i } as u64, 0);
            // SAFETY: unlinked nodes from a live pool.
            unsafe { insert_all(&mut tree, &nodes, key, true) };
            // Red-black bound: height <= 2 * log2(n + 1) = 24 for n = 4096.
            assert!(height(tree.root) <= 24, "height {}", height(tree.root));
            // SAFETY: all linked in `tree`.
            unsafe { remove_all(&mut tree, &nodes, true) };
            assert!(tree.is_empty());
        }
    }

    #[test]
    fn equal_keys_are_fifo() {
        let nodes = pool(64);
        let mut tree = EdfTree::new();
        // SAFETY: unlinked nodes from a live pool.
        unsafe { insert_all(&mut tree, &nodes, |_| EdfKey::new(7, 7), true) };
        let walk = in_order(&tree);
        let want: Vec<*mut EdfNode> = nodes.iter().map(|n| nn(n).as_ptr()).collect();
        assert_eq!(walk, want);
        // Removing some in the middle keeps the relative order of the rest.
        // SAFETY: all linked in `tree`.
        unsafe { remove_all(&mut tree, nodes.iter().skip(1).step_by(3), true) };
        let want: Vec<*mut EdfNode> = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 1)
            .map(|(_, n)| nn(n).as_ptr())
            .collect();
        assert_eq!(in_order(&tree), want);
        // A re-inserted node goes after the others.
        // SAFETY: unlinked node, re-inserted into the same tree.
        unsafe { tree.insert(nn(&nodes[1]), EdfKey::new(7, 7)) };
        assert_eq!(*in_order(&tree).last().unwrap(), nn(&nodes[1]).as_ptr());
        // SAFETY: each linked in `tree` or unlinked (a no-op).
        unsafe { remove_all(&mut tree, &nodes, false) };
        must_check(&tree);
        assert!(tree.is_empty());
    }

    #[derive(Default, Debug)]
    struct Kinds {
        root: usize,
        leftmost: usize,
        rightmost: usize,
        leaf: usize,
        one_child: usize,
        two_children: usize,
        two_children_succ_is_right: usize,
        two_children_succ_deep: usize,
        red: usize,
        black: usize,
    }

    /// Removes every node position once from trees built in several orders,
    /// recording which structural cases were hit.
    #[test]
    fn remove_every_position() {
        let mut kinds = Kinds::default();
        for n in 1..=40usize {
            for order in 0..3u64 {
                for victim in 0..n {
                    let nodes = pool(n);
                    let mut tree = EdfTree::new();
                    let mut model = Model(Vec::new());
                    let mut rng = Rng(order * 1000 + n as u64);
                    let keys: Vec<EdfKey> = (0..n)
                        .map(|i| {
                            let d = match order {
                                0 => i as u64,
                                1 => (n - i) as u64,
                                _ => rng.below(n as u64),
                            };
                            EdfKey::new(d, i as u64)
                        })
                        .collect();
                    // SAFETY: unlinked nodes from a live pool.
                    unsafe { insert_all(&mut tree, &nodes, |i| keys[i], false) };
                    for (node, &key) in nodes.iter().zip(&keys) {
                        model.insert(key, nn(node).as_ptr());
                    }
                    must_check(&tree);
                    let v = &nodes[victim];
                    let vp = nn(v).as_ptr();
                    let (l, r) = (v.left.get(), v.right.get());
                    if tree.root == vp {
                        kinds.root += 1;
                    }
                    if tree.leftmost == vp {
                        kinds.leftmost += 1;
                    }
                    if *in_order(&tree).last().unwrap() == vp {
                        kinds.rightmost += 1;
                    }
                    match (l.is_null(), r.is_null()) {
                        (true, true) => kinds.leaf += 1,
                        (false, false) => {
                            kinds.two_children += 1;
                            // SAFETY: `r` is a node of the tree.
                            if unsafe { nref(r) }.left.get().is_null() {
                                kinds.two_children_succ_is_right += 1;
                            } else {
                                kinds.two_children_succ_deep += 1;
                            }
                        }
                        _ => kinds.one_child += 1,
                    }
                    if v.color.get() == RED {
                        kinds.red += 1;
                    } else {
                        kinds.black += 1;
                    }
                    let key = v.key();
                    // SAFETY: linked in `tree`.
                    unsafe { tree.remove(nn(v)) };
                    assert!(!v.is_linked());
                    assert_eq!(v.key(), key, "key kept after removal");
                    assert!(v.parent.get().is_null() && v.left.get().is_null());
                    assert!(v.right.get().is_null());
                    model.remove(vp);
                    must_check(&tree);
                    model.assert_matches(&tree);
                }
            }
        }
        assert!(kinds.root > 0 && kinds.leftmost > 0 && kinds.rightmost > 0);
        assert!(kinds.leaf > 0 && kinds.one_child > 0 && kinds.two_children > 0);
        assert!(kinds.two_children_succ_is_right > 0 && kinds.two_children_succ_deep > 0);
        assert!(kinds.red > 0 && kinds.black > 0, "{:?}", kinds);
    }

    #[test]
    fn node_link_state() {
        let a = EdfNode::new();
        let b = EdfNode::default();
        assert!(!a.is_linked() && !b.is_linked());
        assert_eq!(a.key(), EdfKey::default());
        let mut t = EdfTree::new();
        // SAFETY: unlinked nodes outliving their use in `t`.
        unsafe {
            t.insert(nn(&a), EdfKey::new(5, 1));
            assert!(a.is_linked() && !b.is_linked());
            t.insert(nn(&b), EdfKey::new(3, 2));
            assert!(b.is_linked());
            assert_eq!(t.first(), Some(nn(&b)));
            assert_eq!(t.next(nn(&b)), Some(nn(&a)));
            assert_eq!(t.next(nn(&a)), None);
            assert_eq!(a.key(), EdfKey::new(5, 1));
            t.remove(nn(&b));
            assert!(!b.is_linked() && a.is_linked());
            // Removing an unlinked node is a no-op.
            t.remove(nn(&b));
            must_check(&t);
            assert_eq!(t.len(), 1);
            assert_eq!(t.first(), Some(nn(&a)));
            t.remove(nn(&a));
        }
        assert!(!a.is_linked() && t.is_empty() && t.first().is_none());
        must_check(&t);
    }

    #[test]
    fn zeroed_tree_and_nodes() {
        // SAFETY: all-zero bytes are valid for raw pointers, u64 and `Cell`s
        // of them; the point of the test is that this is a usable state.
        let mut t: EdfTree = unsafe { core::mem::zeroed() };
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert!(t.first().is_none());
        must_check(&t);
        // SAFETY: as above.
        let zs: [EdfNode; 3] = unsafe { core::mem::zeroed() };
        for z in &zs {
            assert!(!z.is_linked());
            assert_eq!(z.key(), EdfKey::default());
        }
        let key = |i: usize| EdfKey::new(10 - i as u64, 0);
        // SAFETY: zeroed nodes are unlinked; they outlive their use in `t`.
        unsafe { insert_all(&mut t, &zs, key, true) };
        assert_eq!(t.first(), Some(nn(&zs[2])));
        // SAFETY: all linked in `t`.
        unsafe { remove_all(&mut t, &zs, true) };
        assert!(t.is_empty());
        // A fresh tree and node are bitwise all-zero too.
        let fresh = EdfTree::new();
        assert!(fresh.root.is_null() && fresh.leftmost.is_null() && fresh.len == 0);
        let n = EdfNode::new();
        assert_eq!(n.color.get(), UNLINKED);
        assert_eq!(UNLINKED, 0);
    }

    #[test]
    fn tree_can_move_while_populated() {
        let nodes = pool(100);
        let mut t = EdfTree::new();
        let key = |i: usize| EdfKey::new((i as u64 * 37) % 100, 0);
        // SAFETY: unlinked nodes from a live pool.
        unsafe { insert_all(&mut t, &nodes, key, false) };
        let mut boxed = std::boxed::Box::new(t);
        must_check(&boxed);
        // SAFETY: all linked in the (moved) tree.
        unsafe { remove_all(&mut boxed, &nodes, false) };
        must_check(&boxed);
        assert!(boxed.is_empty());
    }

    #[test]
    fn check_detects_corruption() {
        let nodes = pool(16);
        let mut t = EdfTree::new();
        // SAFETY: unlinked nodes from a live pool.
        unsafe { insert_all(&mut t, &nodes, |i| EdfKey::new(i as u64, 0), false) };
        must_check(&t);
        let root = t.root;
        // SAFETY: test-only tampering with nodes of the live pool; each
        // change is undone before the next one.
        unsafe {
            t.len += 1;
            assert_eq!(t.check(), Err("fewer nodes than len"));
            t.len -= 2;
            assert_eq!(t.check(), Err("more nodes than len"));
            t.len += 1;

            let lm = t.leftmost;
            t.leftmost = nref(lm).parent.get();
            assert_eq!(t.check(), Err("cached leftmost is not the minimum"));
            t.leftmost = lm;

            nref(root).color.set(RED);
            assert_eq!(t.check(), Err("root is not black"));
            nref(root).color.set(BLACK);

            let k = nref(root).key.get();
            nref(root).key.set(EdfKey::new(u64::MAX, 0));
            assert_eq!(t.check(), Err("keys out of order"));
            nref(root).key.set(k);

            let r = nref(root).right.get();
            nref(r).parent.set(ptr::null_mut());
            assert_eq!(t.check(), Err("right child's parent link is wrong"));
            nref(r).parent.set(root);

            // Find a black non-root node and recolour it red: either a red
            // node gets a red child/parent or the black heights differ.
            let victim = nodes
                .iter()
                .map(|n| nn(n).as_ptr())
                .find(|&p| p != root && nref(p).color.get() == BLACK)
                .unwrap();
            nref(victim).color.set(RED);
            assert!(t.check().is_err());
            nref(victim).color.set(BLACK);

            nref(victim).color.set(UNLINKED);
            assert_eq!(t.check(), Err("node in the tree is not linked"));
            nref(victim).color.set(BLACK);
        }
        must_check(&t);
        let mut z = EdfTree::new();
        z.len = 1;
        assert!(z.check().is_err());
        // SAFETY: all linked in `t`.
        unsafe { remove_all(&mut t, &nodes, false) };
    }
}
