//! The syntax tree [`crate::parse`] produces. Every node keeps the byte offset it starts at, so that
//! the compiler can point at the faulty part of the text.

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Every part matches (`a:1, b:2`, `a:1 AND b:2`). Empty: the empty query, which matches all.
    All(Vec<Query>),
    /// Some part matches (`a:1 | b:2`, `a:1 OR b:2`).
    Any(Vec<Query>),
    /// The group does not match (`~(a:1, b:2)`).
    Not(Box<Query>),
    /// One `field:operation` condition.
    Term(Term),
}

/// `field:[~]operation`.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// The field name as written (`status`, `metrics.loss`).
    pub field: String,
    /// Where the field name starts.
    pub field_pos: usize,
    /// `~` before the operation.
    pub negated: bool,
    pub op: Op,
    /// Where the operation starts (after `:` and the optional `~`).
    pub op_pos: usize,
}

/// What a term checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `nil`: the field is null (or, negated, is not).
    Nil,
    /// `v`, `a|b|c`: equal to (or, with `%`, like) one of the items.
    Any(Vec<Item>),
    /// `<v`, `<=v`, `>v`, `>=v` (`=<` and `=>` are accepted too).
    Compare(Comparison, Item),
    /// `a..b`: between `a` and `b`, bounds included.
    Range(Item, Item),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Comparison {
    /// The operator that holds exactly when this one does not (Polyaxon's `~<` is `>=`).
    pub fn flipped(self) -> Self {
        match self {
            Self::Lt => Self::Gte,
            Self::Lte => Self::Gt,
            Self::Gt => Self::Lte,
            Self::Gte => Self::Lt,
        }
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
        }
    }
}

/// One value of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The value without quotes and without the `%` wildcards around it.
    pub text: String,
    /// Where the value starts in the query (at the opening quote or `%` when there is one).
    pub pos: usize,
    /// Written in quotes: taken literally (never `nil`, never split on `|` or `..`).
    pub quoted: bool,
    pub like: Like,
}

/// The `%` wildcards around an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Like {
    /// No wildcard: equality.
    Exact,
    /// `foo%`: starts with.
    Prefix,
    /// `%foo`: ends with.
    Suffix,
    /// `%foo%`: contains.
    Contains,
}
