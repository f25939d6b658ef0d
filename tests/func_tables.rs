//! End-to-end tests of the tables built on function_events' programs:
//! bash_events through a real interactive bash on a pseudo-terminal,
//! ssl_events through openssl's own server and client on loopback,
//! gethostlatency's question through getaddrinfo, user_events through the
//! test's own libpam program (tests/helpers/pam.c), usdt_events through
//! the test's own static probes (tests/helpers/usdt.c).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::funcs::{fixture, refused, run_c};
use common::Running;
use serde_json::{json, Value};

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn bash_events_has_the_lines_typed_with_tty_and_cwd() {
    common::require_bpf();
    let m = common::marker("b");
    // A copy of bash of its own, as a container's is: not on PATH, found
    // as a running process's executable.
    let dir = tempfile::tempdir().expect("tempdir");
    let bash = dir.path().join("bash");
    let host = ["/usr/bin/bash", "/bin/bash"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("a bash");
    std::fs::copy(host, &bash).expect("copy bash");
    let bash = bash.display().to_string();
    let shell = Shell::start(&bash);
    let q = format!(
        "select pid, uid, tty, cwd, command, binary from bash_events where command like '%{m}%'"
    );
    if refused(&q) {
        shell.type_lines(&["exit"]);
        return;
    }
    let ebq = Running::start(&[&q]);
    let pid = shell.pid;
    let cwd = dir.path().display().to_string();
    shell.type_lines(&[
        &format!("cd {cwd}"),
        &format!("echo {m} one"),
        &format!(": {m} two"),
        "exit",
    ]);
    ebq.wait_rows(2, |_| true);
    // A bash started now, the one on PATH, is probed too.
    Shell::start(host).type_lines(&[&format!("echo {m} three"), "exit"]);
    ebq.wait_rows(3, |_| true);
    let done = ebq.stop();
    let rows: Vec<Value> = done
        .rows
        .iter()
        .map(|r| json!([r["command"], r["cwd"], r["uid"], r["binary"]]))
        .collect();
    assert_eq!(
        rows,
        [
            json!([format!("echo {m} one"), cwd, 0, bash]),
            json!([format!(": {m} two"), cwd, 0, bash]),
            json!([format!("echo {m} three"), "/", 0, host]),
        ],
        "{:?}",
        done.stderr
    );
    assert!(done.rows[..2].iter().all(|r| r["pid"] == pid));
    for r in &done.rows {
        let tty = r["tty"].as_str().expect("a terminal");
        assert!(
            tty.starts_with("pts/") && tty[4..].parse::<u32>().is_ok(),
            "{tty}"
        );
    }
}

/// A key, a self-signed certificate and openssl(1)'s configuration for
/// them, in `dir`: (configuration, key, certificate).
fn tls_files(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    // openssl req needs a configuration: a minimal one of the test's own
    // (a root with no /usr/lib/ssl/openssl.cnf, such as a test guest's).
    let conf = dir.join("openssl.cnf");
    std::fs::write(&conf, "[req]\ndistinguished_name = dn\n[dn]\n").expect("openssl.cnf");
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=ebq-test",
            "-days",
            "1",
        ])
        .arg("-config")
        .arg(&conf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .env("OPENSSL_CONF", &conf)
        .stderr(Stdio::null())
        .status()
        .expect("openssl(1)");
    assert!(st.success(), "a certificate");
    (conf, key, cert)
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ssl_events_has_the_ex_calls_and_cuts_a_long_write() {
    common::require_bpf();
    let m = common::marker("x");
    let dir = tempfile::tempdir().expect("tempdir");
    let (conf, key, cert) = tls_files(dir.path());
    let client = fixture("tls_client");
    let q = "select function, direction, length, data, data_cut from ssl_events where comm like 'tls_client%'";
    if refused(q) {
        return;
    }
    let ebq = Running::start(&[q]);
    let port = free_port();
    // The server answers one line, once the client is in.
    let mut server = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(sleep 1; echo 'reply {m}'; sleep 5) | exec openssl s_server -accept {port} -cert {} -key {} -quiet -naccept 1",
            cert.display(),
            key.display()
        ))
        .env("OPENSSL_CONF", &conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s_server");
    let st = Command::new(&client)
        .args([&port.to_string(), m.as_str()])
        .status()
        .expect("the client runs");
    let _ = (server.kill(), server.wait());
    assert!(st.success(), "the client: {st}");
    ebq.wait_rows(3, |_| true);
    let done = ebq.stop();
    let hello = format!("hello {m}\\n");
    let reply = format!("reply {m}\\n");
    assert_eq!(
        done.rows,
        [
            json!({"function": "SSL_write_ex", "direction": "write", "length": m.len() + 7, "data": hello, "data_cut": false}),
            json!({"function": "SSL_write_ex", "direction": "write", "length": 10000, "data": "y".repeat(8192), "data_cut": true}),
            json!({"function": "SSL_read_ex", "direction": "read", "length": m.len() + 7, "data": reply, "data_cut": false}),
        ],
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn ssl_events_has_the_plaintext_both_ends_saw() {
    common::require_bpf();
    let m = common::marker("s");
    let dir = tempfile::tempdir().expect("tempdir");
    let (conf, key, cert) = tls_files(dir.path());
    let q = format!(
        "select pid, comm, direction, function, length, data, data_cut, library from ssl_events where data like '%{m}%'"
    );
    if refused(&q) {
        return;
    }
    let ebq = Running::start(&[&q]);
    let port = free_port();
    // The server's stdin stays open while it serves (s_server ends at
    // its EOF); one connection.
    let mut server = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sleep 5 | exec openssl s_server -accept {port} -cert {} -key {} -quiet -naccept 1",
            cert.display(),
            key.display()
        ))
        .env("OPENSSL_CONF", &conf)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("s_server");
    let line = format!("GET /{m} HTTP/1.0");
    let mut ok = false;
    for _ in 0..50 {
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "(echo '{line}'; sleep 1) | openssl s_client -connect 127.0.0.1:{port} -quiet"
            ))
            .env("OPENSSL_CONF", &conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("s_client");
        if st.success() {
            ok = true;
            break;
        }
        // The server was not listening yet.
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ok, "s_client reached s_server");
    let rows = ebq.wait_rows(2, |_| true);
    let _ = (server.kill(), server.wait());
    let done = ebq.stop();
    let want_len = line.len() + 1;
    let got: Vec<Value> = done
        .rows
        .iter()
        .map(|r| {
            json!([
                r["comm"],
                r["direction"],
                r["length"],
                r["data"],
                r["data_cut"]
            ])
        })
        .collect();
    let data = format!("{line}\\n");
    for dir in ["write", "read"] {
        assert!(
            got.contains(&json!(["openssl", dir, want_len, data, false])),
            "{dir}: {got:?} {rows:?}"
        );
    }
    assert_eq!(done.rows.len(), 2, "{got:?}");
    assert_ne!(
        done.rows[0]["pid"], done.rows[1]["pid"],
        "client and server"
    );
    for r in &done.rows {
        assert!(
            r["library"]
                .as_str()
                .is_some_and(|l| l.contains("libssl.so")),
            "{r}"
        );
        assert!(
            ["SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex"]
                .contains(&r["function"].as_str().unwrap_or("")),
            "{r}"
        );
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn gethostlatency_is_one_query() {
    common::require_bpf();
    let q = "select comm, function, str(arg0) as host, duration from function_events where binary = 'libc.so.6' and function in ('getaddrinfo', 'gethostbyname', 'gethostbyname2')";
    let Some(done) = run_c(&[], "getent ahosts localhost", q) else {
        return;
    };
    assert_eq!(done.rows.len(), 1, "{:?}", done.rows);
    let r = &done.rows[0];
    assert_eq!(
        (&r["comm"], &r["function"], &r["host"]),
        (&json!("getent"), &json!("getaddrinfo"), &json!("localhost"))
    );
    assert!(r["duration"].as_i64().is_some_and(|d| d > 0), "{r}");
}

/// A PAM service of the test's own, /etc/pam.d/NAME, whose every stage
/// is `module` (pam_permit.so or pam_deny.so); removed when dropped.
struct PamService(std::path::PathBuf);

impl PamService {
    fn new(name: &str, module: &str) -> PamService {
        let path = std::path::Path::new("/etc/pam.d").join(name);
        std::fs::create_dir_all("/etc/pam.d").expect("/etc/pam.d");
        let text: String = ["auth", "account", "session", "password"]
            .iter()
            .map(|s| format!("{s} required {module}\n"))
            .collect();
        std::fs::write(&path, text).expect("a PAM service");
        PamService(path)
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn user_events_has_failed_and_good_logins() {
    common::require_root("write /etc/pam.d");
    let m = common::marker("p");
    let (deny, ok) = (format!("{m}-deny"), format!("{m}-ok"));
    let _services = (
        PamService::new(&deny, "pam_deny.so"),
        PamService::new(&ok, "pam_permit.so"),
    );
    let q = format!(
        "select action, type, service, username, address, terminal, result, success from user_events where service like '{m}%'"
    );
    if refused(&q) {
        return;
    }
    let ebq = Running::start(&[&q]);
    let pam = fixture("pam");
    let run = |service: &str, user: &str, host: &str, tty: &str| {
        Command::new(&pam)
            .args([service, user, host, tty])
            .status()
            .expect("the PAM fixture")
            .code()
    };
    // A wrong password, then a right one.
    assert_eq!(run(&deny, "mallory", "192.0.2.66", "pts/66"), Some(1));
    assert_eq!(run(&ok, "alice", "192.0.2.7", "pts/7"), Some(0));
    ebq.wait_rows(5, |_| true);
    let done = ebq.stop();
    let row =
        |action: &str, t: &str, service: &str, user: &str, host: &str, tty: &str, result: &str| {
            json!([
                action,
                t,
                service,
                user,
                host,
                tty,
                result,
                result == "SUCCESS"
            ])
        };
    let got: Vec<Value> = done
        .rows
        .iter()
        .map(|r| {
            json!([
                r["action"],
                r["type"],
                r["service"],
                r["username"],
                r["address"],
                r["terminal"],
                r["result"],
                r["success"]
            ])
        })
        .collect();
    assert_eq!(
        got,
        [
            row(
                "authenticate",
                "USER_AUTH",
                &deny,
                "mallory",
                "192.0.2.66",
                "pts/66",
                "AUTH_ERR"
            ),
            row(
                "authenticate",
                "USER_AUTH",
                &ok,
                "alice",
                "192.0.2.7",
                "pts/7",
                "SUCCESS"
            ),
            row(
                "account",
                "USER_ACCT",
                &ok,
                "alice",
                "192.0.2.7",
                "pts/7",
                "SUCCESS"
            ),
            row(
                "open_session",
                "USER_START",
                &ok,
                "alice",
                "192.0.2.7",
                "pts/7",
                "SUCCESS"
            ),
            row(
                "close_session",
                "USER_END",
                &ok,
                "alice",
                "192.0.2.7",
                "pts/7",
                "SUCCESS"
            ),
        ],
        "{:?}",
        done.stderr
    );
}

/// A user of the test's own in /etc/passwd and /etc/shadow, with a
/// password, removed when dropped. Every `ebqtest` account is removed
/// first too: one a killed run left behind (its Drop never ran) goes with
/// the next run.
struct TestUser(String);

/// The prefix of the test users' names.
const TEST_USERS: &str = "ebqtest";

impl TestUser {
    fn new(password: &str) -> TestUser {
        let name = format!("{TEST_USERS}{}", std::process::id());
        // Far above the ranges distributions and systemd hand out.
        let uid = 3_000_000_000u32 + std::process::id() % 100_000;
        let out = Command::new("openssl")
            .args(["passwd", "-6", "-salt", "ebqtestsalt", password])
            .output()
            .expect("openssl passwd");
        assert!(out.status.success());
        let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
        rewrite_accounts(
            "/etc/passwd",
            &format!("{name}:x:{uid}:{uid}::/nonexistent:/bin/false"),
        );
        rewrite_accounts("/etc/shadow", &format!("{name}:{hash}:19000:0:99999:7:::"));
        TestUser(name)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        rewrite_accounts("/etc/passwd", "");
        rewrite_accounts("/etc/shadow", "");
    }
}

/// `file` without any test user's line, and with `add` when not empty:
/// written beside it and renamed over it, with its mode and owner (a
/// reader never sees it half written; a missing /etc/shadow is made
/// 0640, as shadow(5) has it).
fn rewrite_accounts(file: &str, add: &str) {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut kept: String = text
        .lines()
        .filter(|l| !l.starts_with(TEST_USERS))
        .map(|l| format!("{l}\n"))
        .collect();
    if !add.is_empty() {
        kept.push_str(add);
        kept.push('\n');
    }
    if kept == text {
        return;
    }
    let tmp = format!("{file}.ebq-test");
    std::fs::write(&tmp, kept).unwrap_or_else(|e| panic!("{tmp}: {e}"));
    let (mode, uid, gid) =
        std::fs::metadata(file).map_or((0o640, 0, 0), |m| (m.mode(), m.uid(), m.gid()));
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode & 0o7777)).expect("mode");
    std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).expect("owner");
    std::fs::rename(&tmp, file).unwrap_or_else(|e| panic!("{file}: {e}"));
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn user_events_has_a_wrong_and_a_right_password() {
    common::require_root("write /etc/pam.d, /etc/passwd and /etc/shadow");
    let m = common::marker("w");
    let service = format!("{m}-unix");
    let _service = PamService::new(&service, "pam_unix.so");
    let user = TestUser::new("right-horse");
    let name = user.0.clone();
    let q = format!(
        "select action, service, username, address, result, success from user_events where service = '{service}'"
    );
    if refused(&q) {
        return;
    }
    let ebq = Running::start(&[&q]);
    let pam = fixture("pam");
    let run = |password: &str| {
        Command::new(&pam)
            .args([&service, &name, "192.0.2.9", "pts/9"])
            .env("PAM_TEST_PASSWORD", password)
            .status()
            .expect("the PAM fixture")
            .code()
    };
    assert_eq!(
        run("wrong-horse"),
        Some(1),
        "pam_unix said yes to a wrong password"
    );
    assert_eq!(
        run("right-horse"),
        Some(0),
        "pam_unix said no to the right password"
    );
    ebq.wait_rows(5, |_| true);
    let done = ebq.stop();
    let row = |action: &str, result: &str| json!({"action": action, "service": service, "username": name, "address": "192.0.2.9", "result": result, "success": result == "SUCCESS"});
    assert_eq!(
        done.rows,
        [
            row("authenticate", "AUTH_ERR"),
            row("authenticate", "SUCCESS"),
            row("account", "SUCCESS"),
            row("open_session", "SUCCESS"),
            row("close_session", "SUCCESS"),
        ],
        "{:?}",
        done.stderr
    );
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn usdt_events_has_each_firing_with_its_arguments() {
    common::require_bpf();
    let bin = fixture("usdt");
    let m = common::marker("u");
    let q = format!(
        "select provider, name, arg0, str(arg1) as s from usdt_events where binary = '{bin}' and provider = 'ebq_test'"
    );
    let Some(done) = run_c(&[], &format!("{bin} 3 {m}"), &q) else {
        return;
    };
    let tick = |i: i64| json!({"provider": "ebq_test", "name": "tick", "arg0": i, "s": m});
    assert_eq!(
        done.rows,
        [
            tick(0),
            tick(1),
            tick(2),
            json!({"provider": "ebq_test", "name": "done", "arg0": 3, "s": null})
        ]
    );
    // Counted in the kernel, by probe.
    let q = format!(
        "select name, count(*) as n from usdt_events where binary = '{bin}' and name like 't%' group by name"
    );
    let done = run_c(&[], &format!("{bin} 300 {m}"), &q).expect("rows");
    assert_eq!(done.rows, [json!({"name": "tick", "n": 300})]);
    assert_eq!(done.stat("sent"), 0);
}

#[test]
#[ignore = "needs root: cargo test -- --include-ignored, as root"]
fn usdt_probes_gated_by_a_semaphore_fire_in_new_and_running_processes() {
    common::require_bpf();
    let bin = fixture("usdt_gated");
    let m = common::marker("g");
    let q = format!(
        "select name, arg0, str(arg1) as s from usdt_events where binary = '{bin}' and name = 'gated'"
    );
    // Started under ebq: the semaphore is raised before it runs.
    let Some(done) = run_c(&[], &format!("{bin} 3 {m}"), &q) else {
        return;
    };
    assert_eq!(
        done.rows,
        (0..3)
            .map(|i| json!({"name": "gated", "arg0": i, "s": m}))
            .collect::<Vec<_>>()
    );
    // Running already: the kernel raises it in that process when ebq
    // attaches, and lowers it when ebq goes.
    let child = Command::new(&bin)
        .args(["300", &m])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the fixture runs");
    std::thread::sleep(Duration::from_millis(300));
    let ebq = Running::start(&[&q]);
    ebq.wait_rows(3, |_| true);
    let done = ebq.stop();
    let out = child.wait_with_output().expect("the fixture ends");
    let out = String::from_utf8_lossy(&out.stdout);
    let fired: usize = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("fired K sem S");
    assert!(out.trim_end().ends_with("sem 0"), "{out}");
    let n = done.rows.len();
    assert!(n >= 3 && n <= fired, "{n} rows, {out}");
    // Consecutive firings, each with its argument.
    let first = done.rows[0]["arg0"].as_i64().expect("arg0");
    assert!(first > 0, "fired before ebq attached: {first}");
    for (k, r) in done.rows.iter().enumerate() {
        assert_eq!(
            r,
            &json!({"name": "gated", "arg0": first + k as i64, "s": m})
        );
    }
}

/// The first bash `script` runs on a pseudo-terminal, with its commands
/// written to it when asked: (script, the bash's pid).
struct Shell {
    script: std::process::Child,
    pid: u32,
}

impl Shell {
    /// `bash` (a path) as an interactive shell on a pty of script(1)'s.
    fn start(bash: &str) -> Shell {
        let script = Command::new("script")
            .args([
                "-qfec",
                &format!("env -i TERM=dumb HOME=/ {bash} --norc --noprofile -i"),
                "/dev/null",
            ])
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("script(1) runs (bsdutils)");
        // The bash is the process whose executable is `bash`, under script.
        let want = std::fs::canonicalize(bash).expect("the bash");
        let ppid = |p: u32| -> Option<u32> {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
        };
        let under_script = |mut p: u32| {
            (0..4).any(|_| {
                p = ppid(p).unwrap_or(0);
                p == script.id()
            })
        };
        for _ in 0..500 {
            let found = std::fs::read_dir("/proc")
                .expect("/proc")
                .filter_map(|d| d.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .find(|&p| {
                    std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == want)
                        && under_script(p)
                });
            if let Some(pid) = found {
                return Shell { script, pid };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut script = script;
        let _ = (script.kill(), script.wait());
        panic!("no {bash} started under script");
    }

    fn type_lines(mut self, lines: &[&str]) {
        use std::io::Write as _;
        let mut stdin = self.script.stdin.take().expect("stdin");
        for l in lines {
            stdin.write_all(format!("{l}\n").as_bytes()).expect("typed");
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(stdin);
        let _ = self.script.wait();
    }
}
