//! A throwaway CA and a server certificate it signed, made with the `openssl` command as
//! an operator would: for the tests of everything that speaks TLS (the console's HTTPS,
//! an https webhook receiver, LDAPS and StartTLS).
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files [`test_certificate`] made.
#[derive(Debug, Clone)]
pub struct TestCertificate {
    /// The CA's certificate (PEM): what a client is told to trust.
    pub ca: PathBuf,
    /// The server's certificate (PEM), for 127.0.0.1 and localhost.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

/// Makes, in `dir`, a CA named `ca_name` (its subject) and a server certificate for
/// 127.0.0.1 and localhost signed by it, both P-256 and valid two days.
///
/// # Errors
/// `openssl` missing or failing (its stderr in the message), or `dir` not writable.
pub fn test_certificate(dir: &Path, ca_name: &str) -> io::Result<TestCertificate> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    let openssl = |args: &[&str]| -> io::Result<()> {
        let out = Command::new("openssl").args(args).current_dir(dir).output()?;
        if out.status.success() { Ok(()) } else { Err(io::Error::other(format!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr)))) }
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let subject = format!("/CN={ca_name}");
    openssl(&[&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", &subject]].concat())?;
    openssl(&[&["req"][..], &ec, &["-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=localhost"]].concat())?;
    let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-days", "2", "-extfile", "ext.cnf"];
    openssl(&[&sign[..], &["-out", "cert.pem"]].concat())?;
    Ok(TestCertificate { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") })
}
