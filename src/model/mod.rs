//! The shared vocabulary, the floor every stage stands on: values and
//! their text encoding, raw kernel records and the walked paths in them,
//! the schema's types (tables, columns), probe specs (programs and where
//! they attach), bound expressions and
//! their evaluation, LIKE, the SQL functions, histogram geometry. Nothing
//! here imports a stage (sql, plan, kernel, exec, output): they import it.

pub mod cgroup;
pub mod container;
pub mod eval;
pub mod expr;
pub mod funcs;
pub mod functions;
pub mod hist;
pub mod like;
pub mod paths;
pub mod printf;
pub mod probe;
pub mod record;
pub mod sanitize;
pub mod schema;
pub mod stream;
pub mod value;
