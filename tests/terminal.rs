//! Table output in a real pseudo-terminal of 80, 120 and 200 columns: ebq
//! runs with its stdout on the pty (so it sees a terminal and its width),
//! and every line it writes is measured in display columns. No line may be
//! wider than the terminal (unless --wide), columns that cannot fit become
//! `-[ RECORD n ]` records, and --interval redraws in place.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthStr;

/// Cursor home and clear screen: what ebq writes before each redrawn set.
const CLEAR: &str = "\x1b[H\x1b[2J";

struct Pty {
    status: ExitStatus,
    /// What ebq wrote to the terminal, line ends as written ("\n").
    out: String,
    stderr: String,
}

impl Pty {
    fn lines(&self) -> Vec<&str> {
        self.out.lines().collect()
    }

    /// Every line fits `cols` display columns (the clear sequence aside).
    fn assert_fits(&self, cols: usize) {
        for l in self.lines() {
            let l = l.replace(CLEAR, "");
            assert!(
                l.width() <= cols,
                "a line of {} columns on a {cols}-column terminal:\n{l}\n--- all:\n{}",
                l.width(),
                self.out
            );
        }
    }

    fn widest(&self) -> usize {
        self.lines()
            .iter()
            .map(|l| l.replace(CLEAR, "").width())
            .max()
            .unwrap_or(0)
    }
}

/// Runs `cmd` with its stdout on a new pty `cols` wide (stdin empty,
/// stderr a pipe) until it ends, 60 s at most.
fn run_pty(mut cmd: Command, cols: u16) -> Pty {
    let mut master = -1;
    let mut slave = -1;
    let size = libc::winsize {
        ws_row: 50,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the ints it is given; no
    // name buffer and no termios are asked for, the size is a valid winsize.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned
    // by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.stdout(Stdio::from(slave))
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("ebq starts");
    // The parent's copy of the slave goes with the Command: the master
    // then reads EOF (EIO) once ebq and its children are gone.
    drop(cmd);
    let mut err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        // A pty master reports the end as EIO.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(out);
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ebq did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the pty reaches its end");
    // The terminal's line discipline turns "\n" into "\r\n".
    let out = String::from_utf8_lossy(&out).replace("\r\n", "\n");
    Pty {
        status,
        out,
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// A script at a long path (a directory named with a marker), which the
/// test runs with -c: its exec is one process_events row with that path.
struct Script {
    _dir: tempfile::TempDir,
    path: String,
}

fn script() -> Script {
    let dir = tempfile::Builder::new()
        .prefix(&common::marker("term"))
        .tempdir_in("/tmp")
        .expect("temp dir");
    let sub = dir.path().join("d".repeat(100));
    std::fs::create_dir(&sub).expect("sub dir");
    let path = sub.join("run.sh");
    std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Reachable by ebq's root, whatever the test's umask.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Script {
        path: path.to_str().expect("utf8").to_string(),
        _dir: dir,
    }
}

/// ebq as root with a known TERM, colors off (the tests measure text).
fn ebq(args: &[&str]) -> Command {
    let mut c = common::ebq_root_env(&[("TERM", "xterm")]);
    c.args(["--color", "never"]).args(args);
    c
}

/// The two layouts at one terminal width: `select *` (22 columns) cannot
/// fit usefully at any of our widths and becomes records; three columns
/// stay a table.
fn layouts_at(cols: u16) {
    let s = script();
    let cmd = ebq(&["-c", &s.path, "select * from process_events"]);
    let r = run_pty(cmd, cols);
    assert!(r.status.success(), "{}", r.stderr);
    r.assert_fits(cols.into());
    let lines = r.lines();
    assert!(lines[0].starts_with("-[ RECORD 1 ]-"), "{}", r.out);
    assert!(
        lines.iter().any(|l| l.starts_with("-[ RECORD 2 ]-")),
        "{}",
        r.out
    );
    assert!(!lines.iter().any(|l| l.contains("TIME")), "{}", r.out);
    // The script's path: whole when it fits the terminal, cut with an
    // ellipsis when it does not.
    let path_line = format!("path        | {}", s.path);
    if path_line.width() <= cols.into() {
        assert!(lines.contains(&path_line.as_str()), "{}", r.out);
    } else {
        let cut = lines
            .iter()
            .find(|l| l.starts_with("path        | /tmp/ebqtterm"))
            .unwrap_or_else(|| panic!("no path line: {}", r.out));
        assert!(
            cut.ends_with('…') && cut.width() == usize::from(cols),
            "{cut}"
        );
    }

    let cmd = ebq(&["-c", &s.path, "select pid, comm, path from process_events"]);
    let r = run_pty(cmd, cols);
    assert!(r.status.success(), "{}", r.stderr);
    r.assert_fits(cols.into());
    let lines = r.lines();
    assert_eq!(lines.len(), 3, "{}", r.out);
    assert!(lines[0].trim_start().starts_with("PID  COMM"), "{}", r.out);
    let row = lines
        .iter()
        .find(|l| l.contains("/tmp/ebqtterm"))
        .unwrap_or_else(|| panic!("no row of the script: {}", r.out));
    if cols >= 200 {
        assert!(row.ends_with(&s.path), "{row}");
    } else {
        assert!(row.ends_with('…'), "{row}");
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn at_80_columns() {
    layouts_at(80);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn at_120_columns() {
    layouts_at(120);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn at_200_columns() {
    layouts_at(200);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn wide_prints_values_whole_past_the_terminal() {
    let s = script();
    let cmd = ebq(&["-w", "-c", &s.path, "select * from process_events"]);
    let r = run_pty(cmd, 80);
    assert!(r.status.success(), "{}", r.stderr);
    assert!(r.widest() > 80, "{}", r.out);
    let path_line = format!("path        | {}", s.path);
    assert!(r.lines().contains(&path_line.as_str()), "{}", r.out);
    // Three columns fit at their useful widths: a table, the path uncut.
    let cmd = ebq(&[
        "--wide",
        "-c",
        &s.path,
        "select pid, comm, path from process_events",
    ]);
    let r = run_pty(cmd, 80);
    assert!(r.status.success(), "{}", r.stderr);
    assert!(
        r.lines()[0].trim_start().starts_with("PID  COMM"),
        "{}",
        r.out
    );
    assert!(r.lines().iter().any(|l| l.ends_with(&s.path)), "{}", r.out);
}

/// Lines that start a set: its RFC 3339 time.
fn set_starts(out: &str) -> Vec<usize> {
    out.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.replace(CLEAR, "");
            l.len() == 20 && l.as_bytes()[4] == b'-' && l.ends_with('Z')
        })
        .map(|(i, _)| i)
        .collect()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn interval_redraws_on_a_terminal_and_appends_with_no_clear() {
    let q = "select comm, count(*) from syscall_events group by comm";
    let cmd = ebq(&["--interval", "300ms", "-d", "1600ms", q]);
    let r = run_pty(cmd, 120);
    assert!(r.status.success(), "{}", r.stderr);
    r.assert_fits(120);
    let starts = set_starts(&r.out);
    assert!(starts.len() >= 3, "{}", r.out);
    assert!(!r.out.starts_with(CLEAR), "{:?}", r.out);
    // Every set after the first is drawn over the last: the clear sequence
    // is right before its time line, and nowhere else.
    let lines = r.lines();
    for (k, &i) in starts.iter().enumerate() {
        assert_eq!(
            lines[i].starts_with(CLEAR),
            k > 0,
            "set {k}: {:?}",
            lines[i]
        );
    }
    assert_eq!(r.out.matches(CLEAR).count(), starts.len() - 1);

    let cmd = ebq(&["--no-clear", "--interval", "300ms", "-d", "1600ms", q]);
    let r = run_pty(cmd, 120);
    assert!(r.status.success(), "{}", r.stderr);
    assert!(set_starts(&r.out).len() >= 3, "{}", r.out);
    assert!(!r.out.contains('\x1b'), "{:?}", r.out);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn histograms_of_groups_share_one_scale_and_align() {
    // Four groups: `true` run 30 times with argc 4, the others once with
    // argc 2 or 3. Alone, each group's bar would be full.
    let s = script();
    let multi = s.path.replace("run.sh", "many.sh");
    std::fs::write(
        &multi,
        "#!/bin/sh\nfor i in $(seq 30); do /bin/true a b c; done\n/bin/echo x >/dev/null\n",
    )
    .expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&multi, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cmd = ebq(&[
        "-c",
        &multi,
        "select comm, count(*), hist(argc) from process_events group by comm",
    ]);
    let r = run_pty(cmd, 80);
    assert!(r.status.success(), "{}", r.stderr);
    r.assert_fits(80);
    let bars: Vec<&str> = r.lines().into_iter().filter(|l| l.ends_with('|')).collect();
    assert!(bars.len() >= 4, "{}", r.out);
    // Every bar line of every group ends at the same column ...
    assert!(
        bars.iter().all(|l| l.width() == bars[0].width()),
        "{}",
        r.out
    );
    // ... and only the column's largest bucket (true's 30) has a full bar.
    let full: Vec<&&str> = bars
        .iter()
        .filter(|l| {
            l.split('|')
                .nth(1)
                .is_some_and(|b| b.chars().all(|c| c == '@'))
        })
        .collect();
    assert_eq!(full.len(), 1, "{}", r.out);
    assert!(
        full[0].starts_with("true ") && full[0].contains(" 30 |"),
        "{}",
        r.out
    );
}
