//! The clamd client (the file-scan provider): a byte stream sent to clamd with INSTREAM, its
//! verdict parsed, and PING for readiness. Every call has a deadline, so a clamd that accepts
//! connections but never answers is an error (retried by the job platform), not a stuck worker.
//! The bytes are streamed through: nothing here holds a whole file.

use std::{io, time::Duration};

use bytes::Bytes;
use clamav_client::tokio::Tcp;
use futures::Stream;

/// The verdict of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature clamd named (`CareHub.Test.EICAR.UNOFFICIAL`).
    Infected(String),
    /// clamd stopped before the end of the file: a limit (`MaxFileSize`, `MaxScanSize`,
    /// `MaxRecursion`, `MaxFiles`...) was reached, which with `AlertExceedsMax yes` it reports as
    /// `Heuristics.Limits.Exceeded.*`. Not a finding of malware, and not clean either: the file
    /// was not read to its end.
    Unscanned(String),
}

/// The signature prefix clamd reports a reached limit with (`AlertExceedsMax yes`).
pub const LIMITS_EXCEEDED: &str = "Heuristics.Limits.Exceeded";

/// Why a scan gave no verdict. Each is transient from the job's point of view: clamd down, slow,
/// or refusing the stream now may accept it later.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("clamd unavailable: {0}")]
    Unavailable(#[from] io::Error),
    #[error("clamd did not answer within {0:?}")]
    Timeout(Duration),
    /// clamd answered with an error (`INSTREAM size limit exceeded. ERROR`, ...).
    #[error("clamd refused the scan: {0}")]
    Refused(String),
    /// The scan was under way and ended without an answer: clamd closed the connection while the
    /// file streamed (its size limit, a crash on the file) or the file could not be read whole.
    /// Unlike [`ScanError::Unavailable`] it says something about this file, so it is counted.
    #[error("the scan broke off: {0}")]
    BrokenOff(io::Error),
}

impl ScanError {
    /// An I/O error of a scan: clamd not reachable at all (nothing was sent) is
    /// [`ScanError::Unavailable`]; anything after the connection was made is
    /// [`ScanError::BrokenOff`].
    pub fn of_io(err: io::Error) -> Self {
        use io::ErrorKind::{AddrNotAvailable, ConnectionRefused, HostUnreachable, NetworkUnreachable, NotFound};
        match err.kind() {
            ConnectionRefused | AddrNotAvailable | HostUnreachable | NetworkUnreachable | NotFound => {
                Self::Unavailable(err)
            }
            _ => Self::BrokenOff(err),
        }
    }
}

/// A clamd at a TCP address, with a deadline per call.
#[derive(Debug, Clone)]
pub struct Clamd {
    addr: String,
    timeout: Duration,
}

impl Clamd {
    pub fn new(addr: impl Into<String>, timeout: Duration) -> Self {
        Self { addr: addr.into(), timeout }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// clamd answers `PING` with `PONG` within the deadline (at most 2 s).
    pub async fn ping(&self) -> bool {
        let ping = clamav_client::tokio::ping(Tcp { host_address: self.addr.as_str() });
        matches!(
            tokio::time::timeout(self.timeout.min(Duration::from_secs(2)), ping).await,
            Ok(Ok(reply)) if reply == clamav_client::PONG
        )
    }

    /// Streams `bytes` to clamd (INSTREAM: length-prefixed chunks, a zero length to end) and
    /// reads its verdict.
    pub async fn scan<S>(&self, bytes: S) -> Result<Verdict, ScanError>
    where
        S: Stream<Item = Result<Bytes, io::Error>>,
    {
        let scan = clamav_client::tokio::scan_stream(bytes, Tcp { host_address: self.addr.as_str() }, Some(64 * 1024));
        let reply = tokio::time::timeout(self.timeout, scan)
            .await
            .map_err(|_| ScanError::Timeout(self.timeout))?
            .map_err(ScanError::of_io)?;
        parse_reply(&reply)
    }

    /// What clamd answers to a stream of `size` zero bytes: [`Verdict::Clean`] when it takes a
    /// file that large whole; a refusal (`INSTREAM size limit exceeded`: `StreamMaxLength`) or
    /// [`Verdict::Unscanned`] (`MaxFileSize`, `MaxScanSize` with `AlertExceedsMax`) when not.
    /// The stream is sent as one chunk whose length clamd checks against `StreamMaxLength` before
    /// reading it, so a too-small limit answers at once.
    pub async fn probe(&self, size: u64) -> Result<Verdict, ScanError> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let Ok(length) = u32::try_from(size) else {
            return Err(ScanError::Refused(format!("{size} bytes is more than one INSTREAM chunk")));
        };
        let probe = async {
            let mut stream = tokio::net::TcpStream::connect(self.addr.as_str()).await?;
            stream.write_all(b"zINSTREAM\0").await?;
            stream.write_all(&length.to_be_bytes()).await?;
            let mut reply = Vec::new();
            let early = tokio::time::timeout(Duration::from_millis(300), stream.read_buf(&mut reply)).await;
            if matches!(early, Ok(Ok(read)) if read > 0) {
                let _ = stream.read_to_end(&mut reply).await;
                return parse_reply(&reply);
            }
            let zeros = vec![0_u8; 64 * 1024];
            let mut left = size;
            while left > 0 {
                let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
                stream.write_all(&zeros[..n]).await?;
                left -= n as u64;
            }
            stream.write_all(&0_u32.to_be_bytes()).await?;
            stream.read_to_end(&mut reply).await?;
            parse_reply(&reply)
        };
        tokio::time::timeout(self.timeout, probe).await.map_err(|_| ScanError::Timeout(self.timeout))?
    }
}

/// clamd's INSTREAM reply: `stream: OK`, `stream: <signature> FOUND`, or `... ERROR`
/// (NUL-terminated with the `z` commands).
pub fn parse_reply(reply: &[u8]) -> Result<Verdict, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r', ' ']);
    let body = text.strip_prefix("stream:").map_or(text, str::trim);
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(signature) = body.strip_suffix(" FOUND") {
        let signature: String = signature.trim().chars().take(200).collect();
        if signature.starts_with(LIMITS_EXCEEDED) {
            Ok(Verdict::Unscanned(signature))
        } else {
            Ok(Verdict::Infected(signature))
        }
    } else {
        Err(ScanError::Refused(body.chars().take(200).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamd_replies_are_read_as_verdicts() {
        assert_eq!(parse_reply(b"stream: OK\0").ok(), Some(Verdict::Clean));
        assert_eq!(
            parse_reply(b"stream: CareHub.Test.EICAR.UNOFFICIAL FOUND\0").ok(),
            Some(Verdict::Infected("CareHub.Test.EICAR.UNOFFICIAL".into()))
        );
        assert_eq!(
            parse_reply(b"stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND\0").ok(),
            Some(Verdict::Unscanned("Heuristics.Limits.Exceeded.MaxScanSize".into()))
        );
        assert!(matches!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0"),
            Err(ScanError::Refused(reason)) if reason.starts_with("INSTREAM size limit")
        ));
    }

    #[tokio::test]
    async fn a_dead_clamd_is_unavailable_not_clean() {
        // A port nothing listens on (bound, then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
        let clamd = Clamd::new(format!("127.0.0.1:{}", port.unwrap_or(9)), Duration::from_secs(1));
        assert!(!clamd.ping().await);
        let chunks = futures::stream::iter([Ok(Bytes::from_static(b"%PDF-1.4"))]);
        assert!(matches!(clamd.scan(chunks).await, Err(ScanError::Unavailable(_))));
    }
}
