//! What a parsed IoT Hub query is: the SELECT list, the collection (`devices`, `devices.modules`,
//! `devices.jobs`), the WHERE condition and the GROUP BY paths.

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `SELECT TOP n`.
    pub top: Option<usize>,
    /// `None` for `SELECT *`, else each item with the name it gets in the answer.
    pub fields: Option<Vec<Field>>,
    pub source: Source,
    pub condition: Option<Condition>,
    /// `GROUP BY a.b, c` (empty when there is none).
    pub group_by: Vec<Vec<String>>,
}

impl Query {
    /// Whether the SELECT list aggregates (COUNT(), SUM(…)…): one row per group, not per twin.
    pub fn aggregates(&self) -> bool {
        self.fields.iter().flatten().any(|f| matches!(f.value, Selected::Aggregate(..)))
    }
}

/// The collection a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Devices,
    Modules,
    Jobs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub value: Selected,
    /// `AS alias`, or the path's last segment (what the hub names a projected field).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selected {
    Path(Vec<String>),
    /// COUNT() has no path; SUM/AVG/MIN/MAX have one.
    Aggregate(Aggregate, Option<Vec<String>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
    /// The `undefined` constant: never equal to anything, as a missing field.
    Undefined,
}

/// A value in a condition: a field, a constant, a function's result or arithmetic on them.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Vec<String>),
    Literal(Literal),
    Call(Function, Vec<Operand>),
    Arithmetic(Box<Operand>, char, Box<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Operand, Comparison, Operand),
    In {
        operand: Operand,
        list: Vec<Literal>,
        negated: bool,
    },
    /// A function (or field) whose value must be `true`: `IS_DEFINED(x)`, `STARTSWITH(a, 'b')`.
    Holds(Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// The documented functions: the ones twin and job queries take, and the ones only route
/// conditions take (math, casting and the other string functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    IsDefined,
    IsNull,
    IsString,
    IsNumber,
    IsBool,
    IsObject,
    IsArray,
    IsPrimitive,
    StartsWith,
    EndsWith,
    Contains,
    Abs,
    Exp,
    Power,
    Square,
    Ceiling,
    Floor,
    Sign,
    Sqrt,
    AsNumber,
    Concat,
    Length,
    Lower,
    Upper,
    Substring,
    IndexOf,
}

/// Where a condition is evaluated: the twin query (and configurations) or a message route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Twins,
    Routes,
}

impl Function {
    /// The function a name calls in `dialect`, with its argument counts; None when not served there.
    pub fn named(name: &str, dialect: Dialect) -> Option<(Function, usize, usize)> {
        use Function::*;
        let upper = name.to_ascii_uppercase();
        // Twin queries take the type checks and STARTSWITH/ENDSWITH (the hub answers them; its
        // docs list IS_DEFINED only); every other function is for route conditions.
        let found = match upper.as_str() {
            "IS_DEFINED" => (IsDefined, 1, 1),
            "IS_NULL" => (IsNull, 1, 1),
            "IS_STRING" => (IsString, 1, 1),
            "IS_NUMBER" => (IsNumber, 1, 1),
            "IS_BOOL" => (IsBool, 1, 1),
            "IS_OBJECT" => (IsObject, 1, 1),
            "IS_ARRAY" => (IsArray, 1, 1),
            "IS_PRIMITIVE" => (IsPrimitive, 1, 1),
            "STARTSWITH" => (StartsWith, 2, 2),
            "ENDSWITH" => (EndsWith, 2, 2),
            _ if dialect == Dialect::Twins => return None,
            "CONTAINS" => (Contains, 2, 2),
            "ABS" => (Abs, 1, 1),
            "EXP" => (Exp, 1, 1),
            "POWER" => (Power, 2, 2),
            "SQUARE" => (Square, 1, 1),
            "CEILING" => (Ceiling, 1, 1),
            "FLOOR" => (Floor, 1, 1),
            "SIGN" => (Sign, 1, 1),
            "SQRT" => (Sqrt, 1, 1),
            "AS_NUMBER" => (AsNumber, 1, 1),
            "CONCAT" => (Concat, 2, usize::MAX),
            "LENGTH" => (Length, 1, 1),
            "LOWER" => (Lower, 1, 1),
            "UPPER" => (Upper, 1, 1),
            "SUBSTRING" => (Substring, 2, 3),
            "INDEX_OF" => (IndexOf, 2, 2),
            _ => return None,
        };
        Some(found)
    }
}

/// Why a query does not parse: the 1-based character position and what was found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Syntax error at position {}: {}", self.position, self.message)
    }
}
