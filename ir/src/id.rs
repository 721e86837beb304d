//! Typed `u32` ids and the arenas they index.
//!
//! Every IR entity (value, op, block, region) lives in an [`Arena`] owned by
//! its function and is named by a small copyable id. Ids wrap `NonZeroU32`
//! so `Option<Id>` costs nothing.

use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;

/// An id that indexes an [`Arena`].
pub trait EntityId: Copy + Eq {
    /// The id of the `index`-th element.
    fn from_index(index: usize) -> Self;
    /// The position of this id's element in its arena.
    fn index(self) -> usize;
}

macro_rules! entity_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU32);

        impl EntityId for $name {
            fn from_index(index: usize) -> Self {
                let raw = u32::try_from(index + 1).expect("arena holds fewer than 2^32 entities");
                $name(NonZeroU32::new(raw).expect("index + 1 is non-zero"))
            }
            fn index(self) -> usize {
                self.0.get() as usize - 1
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.index())
            }
        }
    };
}

entity_id!(
    /// An SSA value: an op result or a block argument.
    ValueId, "v"
);
entity_id!(
    /// An operation.
    OpId, "op"
);
entity_id!(
    /// A basic block: arguments and an ordered list of ops.
    BlockId, "bb"
);
entity_id!(
    /// A region: an ordered list of blocks owned by an op or a function.
    RegionId, "r"
);

/// A growable store of `T` indexed by the typed id `I`. Elements are never
/// removed, so ids stay valid; erasure is recorded by the owner of the order.
#[derive(Clone)]
pub struct Arena<I, T> {
    items: Vec<T>,
    _id: PhantomData<I>,
}

impl<I: EntityId, T> Arena<I, T> {
    /// An empty arena.
    pub fn new() -> Self {
        Arena { items: Vec::new(), _id: PhantomData }
    }

    /// Stores `item` and returns its id.
    pub fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::from_index(self.items.len() - 1)
    }

    /// The number of elements ever stored.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was ever stored.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// All ids with their elements, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (I, &T)> {
        self.items.iter().enumerate().map(|(i, t)| (I::from_index(i), t))
    }
}

impl<I: EntityId, T> Default for Arena<I, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I: EntityId, T> std::ops::Index<I> for Arena<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: EntityId, T> std::ops::IndexMut<I> for Arena<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<I: EntityId + fmt::Debug, T: fmt::Debug> fmt::Debug for Arena<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
