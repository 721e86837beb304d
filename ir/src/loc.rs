//! Source locations carried by every op, function and diagnostic.

use std::fmt;
use std::sync::Arc;

/// Where an op came from.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub enum Loc {
    /// Made by a pass or a builder with nothing better to say.
    #[default]
    Unknown,
    /// A position in a text file (1-based line and column).
    File {
        /// The file's path as given by the user.
        file: Arc<str>,
        /// 1-based line.
        line: u32,
        /// 1-based column, in characters.
        col: u32,
    },
    /// A node of an imported model: its name and operator type (`/fc1/Gemm`, `Gemm`).
    Node {
        /// The node's name in the model.
        name: String,
        /// The node's operator type.
        op_type: String,
    },
    /// Several locations merged, as when ops fuse.
    Fused(Vec<Loc>),
}

impl Loc {
    /// A file position.
    pub fn file(file: &Arc<str>, line: u32, col: u32) -> Loc {
        Loc::File { file: file.clone(), line, col }
    }

    /// A model node.
    pub fn node(name: &str, op_type: &str) -> Loc {
        Loc::Node { name: name.to_string(), op_type: op_type.to_string() }
    }

    /// The first file position inside this location, for rendering carets.
    pub fn file_pos(&self) -> Option<(&str, u32, u32)> {
        match self {
            Loc::File { file, line, col } => Some((file, *line, *col)),
            Loc::Fused(locs) => locs.iter().find_map(Loc::file_pos),
            _ => None,
        }
    }
}

impl fmt::Display for Loc {
    /// The syntax used by the text format: `loc("f.tir":3:7)`, `loc(node "n" "Conv")`,
    /// `loc(fused[...])`, `loc(unknown)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("loc(")?;
        self.write_inner(f)?;
        f.write_str(")")
    }
}

impl Loc {
    fn write_inner(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Unknown => f.write_str("unknown"),
            Loc::File { file, line, col } => write!(f, "{:?}:{line}:{col}", file.as_ref()),
            Loc::Node { name, op_type } => write!(f, "node {name:?} {op_type:?}"),
            Loc::Fused(locs) => {
                f.write_str("fused[")?;
                for (i, l) in locs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    l.write_inner(f)?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
