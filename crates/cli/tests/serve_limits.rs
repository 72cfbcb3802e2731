//! `serve`'s connection limits with real sockets against the real binary: the header-,
//! body- and idle timeouts, the connection cap (also under a low open-file limit), and a
//! shutdown that does not wait for clients. Timeouts are configured short (hundreds of
//! milliseconds) and only asserted with generous bounds: nothing here is timed.
use crate::serving::*;
use crate::support::Env;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long any test waits for something the server should do within a second.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long an open connection is watched to see that the server leaves it alone.
const A_WHILE: Duration = Duration::from_millis(700);

#[test]
fn silent_slow_and_idle_connections_are_closed_by_the_timeouts() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    let s = Served::start(&env, &["--header-read-timeout", "300ms", "--body-read-timeout", "300ms", "--idle-timeout", "300ms"]);

    // All four at once: a connection that sends nothing, one with half a request head, one
    // with half a body, and one kept alive after a request.
    let mut silent = s.connect();
    let mut half_head = s.connect();
    half_head.write_all(b"GET /scim/v2/contoso.example/Users HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut half_body = s.connect();
    let head = format!(
        "POST /scim/v2/contoso.example/Users HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n"
    );
    half_body.write_all(head.as_bytes()).unwrap();
    half_body.write_all(b"{\"userName\":").unwrap();
    let mut kept = s.connect();
    kept.write_all(request_bytes("GET", "/scim/v2/contoso.example/Users", &s.addr, &[("Authorization", &auth)], None, false).as_bytes()).unwrap();

    assert!(closed_within(&mut silent, PATIENCE), "a connection that sends nothing is closed");
    assert!(closed_within(&mut half_head, PATIENCE), "a connection with half a request head is closed");
    let (late, closed) = read_until_closed(&mut half_body, PATIENCE);
    let late = parse(&late);
    assert!(closed, "a connection with half a body is closed");
    assert_eq!(late.status, 408, "{late:?}");
    assert!(late.body.contains("[request_timeout]"), "{}", late.body);
    assert_eq!(late.header("connection").as_deref(), Some("close"));
    let (answered, closed) = read_until_closed(&mut kept, PATIENCE);
    assert_eq!(parse(&answered).status, 200, "the kept-alive connection was answered first");
    assert!(closed, "then closed once idle");

    let id = late.header("x-request-id").unwrap();
    assert!(s.log_line(&["header-read timeout", "request head was not complete"], PATIENCE).is_some(), "{}", s.log());
    assert!(s.log_line(&["sent no request"], PATIENCE).is_some(), "{}", s.log());
    let line = s.log_line(&["body-read timeout"], PATIENCE).unwrap_or_default();
    assert!(line.contains(&id) && line.contains("WARN"), "the late body is logged in its request's span: {line}\n{}", s.log());
}

#[test]
fn a_request_in_time_is_not_cut_by_the_timeouts() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    let s = Served::start(&env, &["--header-read-timeout", "5s", "--body-read-timeout", "5s", "--idle-timeout", "5s"]);
    // A head and a body each sent in pieces, well within their limits.
    let body = user("piecemeal@contoso.example");
    let req = request_bytes("POST", "/scim/v2/contoso.example/Users", &s.addr, &[("Authorization", &auth)], Some(&body), true);
    let (head, body) = req.split_once("\r\n\r\n").unwrap();
    let mut c = s.connect();
    let (first, rest) = head.split_at(20);
    c.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    c.write_all(format!("{rest}\r\n\r\n").as_bytes()).unwrap();
    let (b1, b2) = body.split_at(10);
    c.write_all(b1.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    c.write_all(b2.as_bytes()).unwrap();
    let (bytes, _) = read_until_closed(&mut c, PATIENCE);
    assert_eq!(parse(&bytes).status, 201, "{}", String::from_utf8_lossy(&bytes));
    // A kept-alive connection stays open for a while, and serves a second request.
    let mut kept = s.connect();
    kept.write_all(request_bytes("GET", "/scim/v2/contoso.example/Users", &s.addr, &[("Authorization", &auth)], None, false).as_bytes()).unwrap();
    let (first, closed) = read_until_closed(&mut kept, A_WHILE);
    assert!(!closed, "still open inside the idle timeout");
    assert_eq!(parse(&first).status, 200);
    kept.write_all(request_bytes("GET", "/scim/v2/contoso.example/Users", &s.addr, &[("Authorization", &auth)], None, true).as_bytes()).unwrap();
    let (second, closed) = read_until_closed(&mut kept, PATIENCE);
    assert!(closed && parse(&second).status == 200, "{}", String::from_utf8_lossy(&second));
}

#[test]
fn at_the_connection_cap_the_longest_idle_connection_makes_room_and_busy_ones_are_waited_for() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    let get = request_bytes("GET", "/scim/v2/contoso.example/Users", "x", &[("Authorization", &auth)], None, false);

    // Two idle keep-alive connections fill a cap of two: a third is served, and the
    // oldest idle one is closed for it.
    let s = Served::start(&env, &["--max-connections", "2", "--idle-timeout", "5m", "--header-read-timeout", "5m"]);
    let mut older = s.connect();
    older.write_all(get.as_bytes()).unwrap();
    assert_eq!(read_one(&mut older, PATIENCE).status, 200);
    let mut newer = s.connect();
    newer.write_all(get.as_bytes()).unwrap();
    assert_eq!(read_one(&mut newer, PATIENCE).status, 200);
    let third = s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &auth)], None);
    assert_eq!(third.status, 200);
    assert!(closed_within(&mut older, PATIENCE), "the longest-idle connection was closed");
    assert!(!closed_within(&mut newer, A_WHILE), "the other one was left alone");
    assert!(s.log_line(&["connection limit reached", "closing the connection idle the longest"], PATIENCE).is_some(), "{}", s.log());
    drop(s);

    // Two connections in the middle of a request head are not idle: a third waits until
    // the header-read timeout has closed one.
    let s = Served::start(&env, &["--max-connections", "2", "--header-read-timeout", "2s"]);
    let mut partial: Vec<_> = (0..2).map(|_| s.connect()).collect();
    for p in &mut partial {
        p.write_all(b"GET /scim/v2/contoso.example/Users HTTP/1.1\r\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let third = s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &auth)], None);
    assert_eq!(third.status, 200);
    for p in &mut partial {
        assert!(closed_within(p, PATIENCE));
    }
    assert!(s.log_line(&["connection limit reached", "no connection is idle"], PATIENCE).is_some(), "{}", s.log());
}

#[test]
fn idle_connections_beyond_the_open_file_limit_do_not_keep_new_requests_out() {
    // The case: 250 idle connections against a server with 200 open files. The
    // default cap stays under the limit, and idle connections make room for new ones, long
    // before any timeout (here two minutes) would close them.
    let env = Env::new();
    let token = contoso_with_token(&env);
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("ulimit -n 200 && exec \"$0\" \"$@\"").arg(env!("CARGO_BIN_EXE_tenantsync"));
    cmd.arg("--data-dir").arg(env.data()).args(["serve", "--listen", "127.0.0.1:0", "--header-read-timeout", "2m", "--idle-timeout", "2m"]);
    let s = Served::spawn(cmd);
    let idle: Vec<_> = (0..250).map(|_| s.connect()).collect();
    let started = Instant::now();
    let answer = s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &format!("Bearer {token}"))], None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(100), "answered before any timeout closed a connection");
    assert!(s.log_line(&["connection limit reached"], PATIENCE).is_some(), "{}", s.log());
    assert!(!s.log().contains("cannot accept"), "never out of descriptors: {}", s.log());
    drop(idle);
}

#[test]
fn sigterm_finishes_requests_in_flight_and_closes_the_rest_within_the_grace_period() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    let mut s = Served::start(&env, &["--shutdown-grace", "3s", "--header-read-timeout", "5m", "--body-read-timeout", "5m"]);
    // In flight, and finished after the signal: a POST whose body is half sent (the
    // server's `100 Continue` says the routes are reading it).
    let body = user("late@contoso.example");
    let req = request_bytes("POST", "/scim/v2/contoso.example/Users", &s.addr, &[("Authorization", &auth), ("Expect", "100-continue")], Some(&body), false);
    let (head, body) = req.split_once("\r\n\r\n").unwrap();
    let (first, rest) = body.split_at(10);
    let in_flight = || {
        let mut c = s.connect();
        c.write_all(format!("{head}\r\n\r\n").as_bytes()).unwrap();
        assert_eq!(read_one(&mut c, PATIENCE).status, 100);
        c.write_all(first.as_bytes()).unwrap();
        c
    };
    let mut finishing = in_flight();
    // In flight, and never finished: a body that stops.
    let mut stuck = in_flight();
    // Not a request yet: half a head.
    let mut half_head = s.connect();
    half_head.write_all(b"GET /scim/v2/contoso.example/Users HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));

    s.signal("TERM");
    assert!(closed_within(&mut half_head, PATIENCE), "a connection without a request in flight closes at once");
    finishing.write_all(rest.as_bytes()).unwrap();
    let (bytes, closed) = read_until_closed(&mut finishing, PATIENCE);
    let done = parse(&bytes);
    assert_eq!(done.status, 201, "the request in flight is finished: {done:?}");
    assert!(closed, "and its connection closed");
    let status = s.exit_within(PATIENCE).expect("serve exits after the grace period");
    assert!(status.success(), "{status:?}: {}", s.log());
    assert!(closed_within(&mut stuck, PATIENCE));
    assert!(s.log_line(&["SIGTERM", "shutting down"], PATIENCE).is_some(), "{}", s.log());
    assert!(s.log_line(&["still open after the shutdown grace period"], PATIENCE).is_some(), "{}", s.log());
    // The user of the finished request exists.
    let users = env.json(&["user", "list", "-t", "contoso.example"]);
    assert!(users.to_string().contains("late@contoso.example"), "{users}");
}

#[test]
fn sigint_stops_serve_while_a_connection_holds_half_a_request() {
    let env = Env::new();
    env.contoso();
    // The defaults: the header-read timeout and the grace period are both 10 s, and
    // neither is what stops it: half a request head is no request in flight.
    let mut s = Served::start(&env, &[]);
    let mut half = s.connect();
    half.write_all(b"POST /scim/v2/contoso.example/Users HTTP/1.1\r\nHost: x\r\nContent-Le").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.signal("INT");
    let status = s.exit_within(Duration::from_secs(8)).expect("serve exits before any timeout would have closed the connection");
    assert!(status.success(), "{status:?}: {}", s.log());
    assert!(closed_within(&mut half, PATIENCE));
    assert!(s.log_line(&["SIGINT", "shutting down"], Duration::from_secs(1)).is_some(), "{}", s.log());
}
