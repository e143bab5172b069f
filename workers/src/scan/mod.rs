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
}

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
        let reply = tokio::time::timeout(self.timeout, scan).await.map_err(|_| ScanError::Timeout(self.timeout))??;
        parse_reply(&reply)
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
        Ok(Verdict::Infected(signature.trim().chars().take(200).collect()))
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
