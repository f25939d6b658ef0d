//! module_events: kernel modules loaded and unloaded (bpf/module.bpf.h).
//! Needs a kernel with module support; elsewhere the table refuses to run
//! and says why.

use super::common::{errno_name, with_common, ERRNO, U32_MAX};
use super::{Column, Domain, KernelFilter, Program, Table};
use crate::abi::types::{
    ebq_event_kind, ebq_filter_col, ebq_module_action, ebq_module_flags, ebq_stat,
};
use crate::model::paths::Walked;
use crate::model::record::{Event, Module, Record};
use crate::model::value::{text_from_bytes, text_from_cstr, Value};

fn module<'r, 'a>(r: &'r Record<'a>) -> Option<&'r Module<'a>> {
    match &r.event {
        Event::Module(m) => Some(m),
        _ => None,
    }
}

fn has(m: &Module, f: ebq_module_flags) -> bool {
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
        "Module name; NULL for a load that failed before the kernel read it",
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
    .slot(ebq_filter_col::EBQ_COL_EXIT_CODE, i32::MIN as i64, U32_MAX)
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
            match m.e.syscall {
                200 => "init_module",
                201 => "finit_module",
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
        Some(ebq_stat(ebq_stat::EBQ_STAT_SENT_MODULE.0 + 1)),
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
        Some(ebq_stat(ebq_stat::EBQ_STAT_SENT_MODULE.0 + 1)),
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
        Some(ebq_stat(ebq_stat::EBQ_STAT_SENT_MODULE.0 + 2)),
    ),
    Program::follow("follow_fork", "raw_tp/sched_process_fork"),
    Program::follow("follow_free", "raw_tp/sched_process_free"),
];

pub static MODULE_EVENTS: Table = Table {
    name: "module_events",
    aliases: &[],
    doc: "One row per kernel module load or unload, failed ones included",
    columns: MODULE_COLUMNS,
    programs: MODULE_PROGRAMS,
    kind: ebq_event_kind::EBQ_EV_MODULE.0,
    agg: None,
    buffer: 256 << 10,
    fixed_capture: "the header, module name and path",
    action_bit: None,
};
