//! What an uploaded file is: its client name cleaned to metadata, its extension (one of
//! [`EXTENSIONS`]), and the content type its first bytes' magic number shows, which must agree
//! with the extension.

/// The extensions a file may have.
pub const EXTENSIONS: [&str; 6] = ["pdf", "jpg", "jpeg", "png", "doc", "docx"];

/// The client's file name as metadata: its last path component (`/` and `\` both separate),
/// without control characters, at most 255 characters.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    let cleaned = if cleaned == "." || cleaned == ".." { "" } else { cleaned };
    // Keep the extension when cutting a long name.
    if cleaned.chars().count() <= 255 {
        return cleaned.to_owned();
    }
    let extension = extension_of(cleaned).map(|e| format!(".{e}")).unwrap_or_default();
    let stem: String = cleaned.chars().take(255 - extension.chars().count()).collect();
    format!("{stem}{extension}")
}

/// The lower-cased extension of a file name, when it is one we take.
pub fn extension_of(name: &str) -> Option<&'static str> {
    let (_, extension) = name.rsplit_once('.')?;
    let extension = extension.to_ascii_lowercase();
    EXTENSIONS.into_iter().find(|allowed| *allowed == extension)
}

/// The content type of a file with `extension` whose first bytes are `head`, when the bytes'
/// magic number agrees with the extension.
pub fn sniff(extension: &str, head: &[u8]) -> Option<&'static str> {
    const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let found = infer::get(head).map(|kind| kind.mime_type());
    match extension {
        "pdf" => (found == Some("application/pdf")).then_some("application/pdf"),
        "jpg" | "jpeg" => (found == Some("image/jpeg")).then_some("image/jpeg"),
        "png" => (found == Some("image/png")).then_some("image/png"),
        // A Word 97 file is an OLE compound file; infer names it only when it sees Word's class.
        "doc" => (found == Some("application/msword")
            || (head.starts_with(CFB) && matches!(found, None | Some("application/x-ole-storage"))))
        .then_some("application/msword"),
        // A .docx is a zip; infer names it when it sees `word/` among the first entries.
        "docx" => (found == Some(DOCX) || (found == Some("application/zip") && head.starts_with(b"PK\x03\x04")))
            .then_some(DOCX),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_keeps_only_its_last_component_without_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd.pdf"), "passwd.pdf");
        assert_eq!(clean_file_name("C:\\Users\\x\\scan.PNG"), "scan.PNG");
        assert_eq!(clean_file_name("re\0port\u{7}.pdf"), "report.pdf");
        assert_eq!(clean_file_name("dir/.."), "");
        let long = format!("{}.pdf", "a".repeat(400));
        let cleaned = clean_file_name(&long);
        assert_eq!(cleaned.chars().count(), 255);
        assert!(cleaned.ends_with(".pdf"));
    }

    #[test]
    fn only_the_listed_extensions_are_taken() {
        assert_eq!(extension_of("scan.PDF"), Some("pdf"));
        assert_eq!(extension_of("x.jpeg"), Some("jpeg"));
        assert_eq!(extension_of("x.exe"), None);
        assert_eq!(extension_of("pdf"), None);
    }

    #[test]
    fn the_magic_number_must_agree_with_the_extension() {
        let pdf = b"%PDF-1.4\n1 0 obj\n";
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0";
        assert_eq!(sniff("pdf", pdf), Some("application/pdf"));
        assert_eq!(sniff("png", png), Some("image/png"));
        assert_eq!(sniff("jpg", jpeg), Some("image/jpeg"));
        assert_eq!(sniff("pdf", exe), None);
        assert_eq!(sniff("pdf", png), None);
        assert_eq!(sniff("png", pdf), None);
        assert_eq!(sniff("docx", pdf), None);
        assert_eq!(sniff("doc", pdf), None);
    }
}
