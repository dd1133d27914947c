//! Which language an answer is written in, from its script and common function words.

use serde::{Deserialize, Serialize};

/// A language spar recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Ja,
    Ko,
    Zh,
    Pt,
    Vi,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "Japanese",
            Lang::Ko => "Korean",
            Lang::Zh => "Chinese",
            Lang::Pt => "Portuguese",
            Lang::Vi => "Vietnamese",
        }
    }
}

const VI_MARKS: &str = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ";
const PT_WORDS: &[&str] = &[
    "não", "que", "para", "com", "uma", "um", "os", "as", "é", "em", "eu", "você", "mas", "mais",
    "isso", "como", "por", "dos", "das", "no", "na", "ao", "se", "foi", "seria", "também", "então",
    "quando", "muito", "porque", "e", "o", "da", "ele", "ela", "está", "são", "só", "faria",
    "vamos", "primeiro", "depois",
];
const EN_WORDS: &[&str] = &[
    "the", "and", "to", "of", "a", "in", "is", "it", "that", "for", "with", "on", "we", "i", "be",
    "this", "as", "would", "are", "then", "if", "not", "or", "at", "by",
];

/// Detects the main language of `text` (English when unsure).
pub fn detect(text: &str) -> Lang {
    let (mut kana, mut hangul, mut han, mut letters, mut vi) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    for c in text.chars() {
        let u = c as u32;
        match u {
            0x3040..=0x30FF => kana += 1,
            0xAC00..=0xD7AF | 0x1100..=0x11FF => hangul += 1,
            0x4E00..=0x9FFF | 0x3400..=0x4DBF => han += 1,
            _ => {}
        }
        if c.is_alphabetic() {
            letters += 1;
            if c.to_lowercase().any(|l| VI_MARKS.contains(l)) {
                vi += 1;
            }
        }
    }
    let cjk = kana + hangul + han;
    if letters > 0 && cjk * 10 >= letters {
        return if hangul >= kana.max(han) {
            Lang::Ko
        } else if kana * 8 >= han || kana >= 5 {
            Lang::Ja
        } else {
            Lang::Zh
        };
    }
    if letters > 0 && vi * 25 >= letters && vi >= 3 {
        return Lang::Vi;
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let marks = ["ção", "ções", "ã", "õ", "ç"]
        .iter()
        .filter(|m| lower.contains(*m))
        .count();
    let pt = words.iter().filter(|w| PT_WORDS.contains(w)).count() + 2 * marks;
    let en = words.iter().filter(|w| EN_WORDS.contains(w)).count();
    if pt >= 3 && pt > en {
        return Lang::Pt;
    }
    Lang::En
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages() {
        assert_eq!(
            detect("I would add a cache in front of the database."),
            Lang::En
        );
        assert_eq!(
            detect("まずキャッシュを追加して、データベースの負荷を下げます。"),
            Lang::Ja
        );
        assert_eq!(
            detect("먼저 캐시를 추가해서 데이터베이스 부하를 줄이겠습니다."),
            Lang::Ko
        );
        assert_eq!(detect("首先我会增加缓存来降低数据库的负载。"), Lang::Zh);
        assert_eq!(
            detect("Eu adicionaria um cache na frente do banco de dados para reduzir a carga."),
            Lang::Pt
        );
        assert_eq!(
            detect("Tôi sẽ thêm bộ nhớ đệm trước cơ sở dữ liệu để giảm tải."),
            Lang::Vi
        );
        assert_eq!(
            detect("Redis — the time we used café-style caching"),
            Lang::En
        );
    }
}
