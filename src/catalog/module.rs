//! module_events: kernel modules loaded and unloaded (bpf/module.bpf.h).
//! Needs a kernel with module support; elsewhere the table refuses to run
//! and says why.

use super::common::{errno_name, with_common, ERRNO, U32_MAX};
use super::{Column, Domain, KernelFilter, Program, Table};
use crate::abi::types::{
    ebq_filter_col, ebq_module_action, ebq_module_event, ebq_module_flags, ebq_module_stat,
    ebq_module_sys,
};
use crate::model::paths::Walked;
use crate::model::record::{Layout, Record, FIELDS_MAX};
use crate::model::value::{text_from_bytes, text_from_cstr, Value};

crate::plain_abi!(ebq_module_event);

/// A module event as the columns read it.
#[derive(Clone, Copy)]
struct Module<'r> {
    e: &'r ebq_module_event,
    /// The walked path of finit_module's file (model/paths.rs).
    path: &'r [u8],
}

/// Its records: struct ebq_module_event (bpf/module.h), then the path.
const LAYOUT: Layout = Layout::of::<ebq_module_event>(|r| {
    let mut lens = [0; FIELDS_MAX];
    lens[0] = r.get::<ebq_module_event>().path_len;
    lens
});

fn module<'r>(r: &'r Record) -> Option<Module<'r>> {
    Some(Module {
        e: r.get(),
        path: r.fields[0],
    })
}

fn has(m: Module, f: ebq_module_flags) -> bool {
    m.e.mflags & f.0 != 0
}

static MODULE_COLUMNS: &[Column] = &with_common![
    Column::text("action", "load or unload", |r| match module(r) {
        Some(m) if m.e.action == ebq_module_action::EBQ_MOD_UNLOAD.0 =>
            Value::Text("unload".into()),
        Some(_) => Value::Text("load".into()),
        None => Value::Null,
    })
    .filter(KernelFilter::Probe)
    .domain(Domain::List("a module action", &["load", "unload"]))
    .width(6),
    Column::text(
        "name",
        "Module name (an unload's as asked, 55 bytes); NULL when no module was named",
        |r| match module(r) {
            Some(m) if has(m, ebq_module_flags::EBQ_MOD_HAS_NAME) =>
                Value::Text(text_from_cstr(&m.e.name.map(|c| c as u8))),
            _ => Value::Null,
        }
    )
    .width(16),
    Column::text(
        "path",
        "finit_module: the module file's path",
        |r| match module(r) {
            Some(m) if has(m, ebq_module_flags::EBQ_MOD_HAS_PATH) => Walked::decode(m.path)
                .map_or(Value::Null, |w| Value::Text(text_from_bytes(&w.display()))),
            _ => Value::Null,
        }
    )
    .width(28),
    Column::int(
        "flags",
        "MODULE_INIT_* (finit_module) or O_* (delete_module) flags",
        |r| module(r).map_or(Value::Null, |m| Value::Int(m.e.flags.into()))
    )
    .hidden(),
    Column::int("exit_code", "Return value: 0 or a negative errno", |r| {
        module(r).map_or(Value::Null, |m| Value::Int(m.e.exit_code))
    })
    .slot(
        ebq_filter_col::EBQ_COL_EXIT_CODE.0,
        i32::MIN as i64,
        U32_MAX
    )
    .width(5),
    Column::text(
        "error",
        "errno name of a failure (EPERM, ENOEXEC), else NULL",
        |r| module(r).map_or(Value::Null, |m| errno_name(m.e.exit_code))
    )
    .domain(ERRNO)
    .width(8),
    Column::text(
        "syscall",
        "init_module, finit_module or delete_module",
        |r| module(r).map_or(Value::Null, |m| Value::Text(
            match ebq_module_sys(m.e.syscall) {
                ebq_module_sys::EBQ_MS_INIT_MODULE => "init_module",
                ebq_module_sys::EBQ_MS_FINIT_MODULE => "finit_module",
                _ => "delete_module",
            }
            .into()
        ))
    )
    .domain(Domain::List(
        "a module syscall",
        &["init_module", "finit_module", "delete_module"]
    ))
    .hidden(),
];

static MODULE_PROGRAMS: &[Program] = &[
    Program::new(
        "init_module_enter",
        "tracepoint/syscalls/sys_enter_init_module",
        &["load"],
        None,
    ),
    Program::new(
        "init_module_exit",
        "tracepoint/syscalls/sys_exit_init_module",
        &["load"],
        Some(ebq_module_stat::EBQ_STAT_SENT_MODULE.0 + ebq_module_action::EBQ_MOD_LOAD.0),
    ),
    Program::new(
        "finit_module_enter",
        "tracepoint/syscalls/sys_enter_finit_module",
        &["load"],
        None,
    ),
    Program::new(
        "finit_module_exit",
        "tracepoint/syscalls/sys_exit_finit_module",
        &["load"],
        Some(ebq_module_stat::EBQ_STAT_SENT_MODULE.0 + ebq_module_action::EBQ_MOD_LOAD.0),
    ),
    Program::new(
        "module_load",
        "tracepoint/module/module_load",
        &["load"],
        None,
    ),
    Program::new(
        "delete_module_enter",
        "tracepoint/syscalls/sys_enter_delete_module",
        &["unload"],
        None,
    ),
    Program::new(
        "delete_module_exit",
        "tracepoint/syscalls/sys_exit_delete_module",
        &["unload"],
        Some(ebq_module_stat::EBQ_STAT_SENT_MODULE.0 + ebq_module_action::EBQ_MOD_UNLOAD.0),
    ),
];

pub static MODULE_EVENTS: Table = Table {
    name: "module_events",
    layout: LAYOUT,
    bitmap_slot: None,
    aliases: &[],
    doc: "One row per kernel module load or unload, failed ones included",
    columns: MODULE_COLUMNS,
    programs: MODULE_PROGRAMS,
    agg: None,
    buffer: 256 << 10,
    captures: super::common::HEADER_CAPTURES,
    fixed_capture: "the header, module name and path",
    action_bit: None,
    stream: None,
    probes: None,
    task_capture: 0,
};
