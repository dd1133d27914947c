//! Fonts from the system, added as the last fallbacks of every font family: egui's own fonts
//! have no Japanese, Korean or Chinese glyphs (and no arrows or Vietnamese), so text in those
//! scripts would show as boxes. A CJK font (`SPAR_CJK_FONT` names a file to use instead of
//! searching; on Debian and Ubuntu it comes from `fonts-noto-cjk`) and a general Unicode font
//! (DejaVu Sans, Noto Sans, Segoe UI, …) are looked for at start-up, off the UI thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A font file read from disk.
#[derive(Clone)]
pub struct FontFile {
    pub path: PathBuf,
    pub bytes: Arc<Vec<u8>>,
    /// Face index inside a collection (`.ttc`).
    pub index: u32,
}

impl std::fmt::Debug for FontFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontFile")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Files tried in order (after `SPAR_CJK_FONT`).
const CANDIDATES: &[&str] = &[
    // Debian / Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    // Fedora, Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    // WenQuanYi
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    // macOS
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    // Windows
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\msgothic.ttc",
    "C:\\Windows\\Fonts\\malgun.ttf",
];

/// Folders searched for any file with "CJK" in its name when no candidate exists.
const FOLDERS: &[&str] = &[
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/noto",
    "/usr/share/fonts/opentype",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
];

/// Where to look, in order: `SPAR_CJK_FONT`, the known files, then `*CJK*` files in font folders.
pub fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("SPAR_CJK_FONT").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
    }
    out.extend(CANDIDATES.iter().map(PathBuf::from));
    for dir in FOLDERS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.contains("CJK") && is_font_name(name)
            })
            .collect();
        // Regular sans faces first: "NotoSansCJK-Regular" before "NotoSerifCJK-Bold".
        found.sort_by_key(|p| {
            let n = p.to_string_lossy().to_string();
            (!n.contains("Regular"), !n.contains("Sans"), n)
        });
        out.extend(found);
    }
    out
}

fn is_font_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".ttc", ".ttf", ".otf", ".otc"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Whether `bytes` start like a TrueType/OpenType font or collection.
pub fn looks_like_font(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(b"ttcf") | Some(b"OTTO") | Some(b"true") | Some([0, 1, 0, 0])
    )
}

/// General Unicode fonts (arrows, symbols, Vietnamese), tried in order.
const FALLBACKS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:\\Windows\\Fonts\\segoeui.ttf",
];

/// Reads one font file, if it is one.
pub fn read(path: &Path) -> Option<FontFile> {
    let bytes = std::fs::read(path).ok()?;
    looks_like_font(&bytes).then(|| FontFile {
        path: path.to_path_buf(),
        bytes: Arc::new(bytes),
        index: 0,
    })
}

/// The first readable CJK font (slow: reads a file of tens of megabytes; call it off the UI
/// thread).
pub fn find_cjk() -> Option<FontFile> {
    candidates().iter().find_map(|p| read(p))
}

/// The first readable general Unicode font.
pub fn find_fallback() -> Option<FontFile> {
    FALLBACKS.iter().find_map(|p| read(Path::new(p)))
}

/// Adds `font` (named `name`) as the last fallback of the proportional and monospace families.
pub fn install(ctx: &egui::Context, name: &str, font: &FontFile) {
    let blob: egui::epaint::text::Blob = font.bytes.clone();
    let data = egui::FontData::from_blob(blob, font.index);
    ctx.add_font(egui::FontInsert {
        name: name.into(),
        data,
        families: vec![
            egui::InsertFontFamily {
                family: egui::FontFamily::Proportional,
                priority: egui::FontPriority::Lowest,
            },
            egui::InsertFontFamily {
                family: egui::FontFamily::Monospace,
                priority: egui::FontPriority::Lowest,
            },
        ],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_font_files_pass() {
        assert!(looks_like_font(b"ttcf\0\0\0\0"));
        assert!(looks_like_font(&[0, 1, 0, 0, 9]));
        assert!(!looks_like_font(b"<html>"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fake.ttf");
        std::fs::write(&p, b"not a font").unwrap();
        assert!(read(&p).is_none());
        assert!(is_font_name("NotoSansCJK-Regular.ttc"));
        assert!(!is_font_name("README"));
    }
}
