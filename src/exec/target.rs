//! The -c / -p target of a run: the command ebq starts, follows and ends,
//! or the process (and its descendants) ebq follows.
//!
//! The -c command runs in a process group of its own (`/bin/sh -c CMD`,
//! its stdout on ebq's stderr, so stdout holds only rows). When it ends on
//! its own, its exit status is kept for ebq's (as time(1) and strace do);
//! when ebq stops first (-d, LIMIT, Ctrl-C, SIGTERM, a closed pipe), the
//! group, and every process of the traced tree that left it, gets SIGTERM,
//! and SIGKILL after a short grace, so nothing of it is left running
//! untraced. A `Command` ends its group when dropped, on every way out of
//! a run.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// What a run traces: every process, the -c command's tree, or the -p
/// process's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Command(String),
    Pid(u32),
}

/// How long the command's process group has between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);

/// The -c command.
pub struct Command {
    child: Child,
    /// Its exit status, once reaped.
    status: Option<ExitStatus>,
    /// It ended before ebq stopped it.
    on_its_own: bool,
}

impl Command {
    /// Starts `/bin/sh -c cmd` in a new process group, its stdout on our
    /// stderr.
    pub fn spawn(cmd: &str) -> Result<Command> {
        let stdout = io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::Command(format!("-c: {e}")))?;
        let mut command = std::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(cmd)
            .stdout(Stdio::from(stdout))
            .process_group(0);
        // SAFETY: one prctl in the forked child, async-signal-safe: if ebq
        // dies without ending the command (SIGKILL), the kernel ends its
        // shell. run() spawns from the main thread, whose exit this means.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| Error::Command(format!("starting the -c command: {e}")))?;
        Ok(Command {
            child,
            status: None,
            on_its_own: false,
        })
    }

    /// Whether the command has ended (it is reaped then).
    pub fn ended(&mut self) -> bool {
        if self.status.is_some() {
            return true;
        }
        match self.child.try_wait() {
            Ok(Some(s)) => {
                self.status = Some(s);
                self.on_its_own = true;
                true
            }
            Ok(None) => false,
            // Not ours to wait for any more: gone.
            Err(_) => true,
        }
    }

    /// The command's exit status as a shell gives it (128 + N for a
    /// signal N), when it ended on its own.
    pub fn exit_status(&self) -> Option<u8> {
        let s = self.status.filter(|_| self.on_its_own)?;
        Some(match (s.code(), s.signal()) {
            (Some(c), _) => c as u8,
            (None, Some(sig)) => (128 + sig) as u8,
            (None, None) => 1,
        })
    }

    fn group(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Ends the command's process group, and `others` (descendants that
    /// left the group, setsid: the rest of the traced tree): SIGTERM (and
    /// SIGCONT, for a job stopped reading the terminal), then SIGKILL once
    /// GRACE has passed without the command ending. Nothing when the
    /// command ended on its own: what it left running is its own doing.
    pub fn terminate(&mut self, others: &[u32]) {
        if self.ended() {
            return;
        }
        let group = self.group();
        // The tree's members by pidfd: a signal can never reach a process
        // that took a pid freed meanwhile.
        let others: Vec<Process> = others
            .iter()
            .filter_map(|p| Process::open(*p, true).ok())
            .collect();
        let signal = |sig: Signal| {
            // Only a group that still has a member (its id is not free).
            if killpg(group, None).is_ok() {
                let _ = killpg(group, sig);
            }
            for p in &others {
                p.signal(sig);
            }
        };
        signal(Signal::SIGTERM);
        signal(Signal::SIGCONT);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if self.status.is_none() {
                if let Ok(Some(s)) = self.child.try_wait() {
                    self.status = Some(s);
                }
            }
            if self.status.is_some() && others.iter().all(Process::ended) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // The rest too: the shell may be gone, its children not.
        signal(Signal::SIGKILL);
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        self.terminate(&[]);
    }
}

/// One field of /proc/PID/status.
fn status_field(pid: u32, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim().to_string())
}

/// The -p process, held by a pidfd: it says when the process has ended
/// (its pidfd reads ready, zombie or gone), whatever pid namespace the
/// /proc ebq sees belongs to.
pub struct Process {
    pidfd: std::os::fd::OwnedFd,
}

impl Process {
    /// Opens PID (a pid of ebq's own namespace): a live process, not one
    /// of its threads.
    pub fn open(pid: u32, proc_is_own: bool) -> Result<Process> {
        let no_such = || Error::Usage(format!("-p {pid}: no such process"));
        if proc_is_own {
            if !alive(pid) {
                return Err(no_such());
            }
            if let Some(tgid) = status_field(pid, "Tgid:").and_then(|t| t.parse::<u32>().ok()) {
                if tgid != pid {
                    let comm = status_field(tgid, "Name:").unwrap_or_default();
                    return Err(Error::Usage(format!(
                        "-p {pid} is a thread of process {tgid} ({}): -p takes a process id, use -p {tgid}",
                        crate::model::sanitize::sanitize(&comm)
                    )));
                }
            }
        }
        let pid_i = i32::try_from(pid).map_err(|_| no_such())?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd,
        // which OwnedFd takes over.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid_i, 0) };
        if fd < 0 {
            return Err(match nix::errno::Errno::last() {
                // Not a thread group's leader (kernel/pid.c pidfd_open()).
                nix::errno::Errno::EINVAL => {
                    Error::Usage(format!("-p {pid} is a thread id: -p takes a process id"))
                }
                _ => no_such(),
            });
        }
        // SAFETY: fd was just returned by pidfd_open and is ours alone.
        let pidfd =
            unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
        let p = Process { pidfd };
        if p.ended() {
            return Err(no_such());
        }
        Ok(p)
    }

    /// Sends `sig` to the process (pidfd_send_signal: to this process,
    /// whatever has its pid now), unless it has ended.
    pub fn signal(&self, sig: Signal) {
        use std::os::fd::AsRawFd;
        if self.ended() {
            return;
        }
        // SAFETY: pidfd_send_signal with our pidfd, a signal number, no
        // siginfo and no flags.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                sig as i32,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
    }

    /// Whether the process has exited.
    pub fn ended(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut fds = [libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one pollfd of an fd we own, no timeout.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
        n > 0 && fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    }
}

/// PID and all its descendants, from /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The comm in parentheses may hold anything: parse after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == cur)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

/// Whether a process runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    match nix::sys::signal::kill(Pid::from_raw(pid as i32), None) {
        Ok(()) => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false),
        Err(e) => e != nix::errno::Errno::ESRCH,
    }
}
