//! Text normalisation and phrase matching with positions, so that every match can be quoted
//! back from the original answer.
//!
//! Words are runs of letters, digits and `_`, lower-cased; everything else separates words,
//! so `read/write` is `read write` and `O(n log n)` is `o n log n`. Invisible format
//! characters (zero-width spaces, bidi overrides) are removed first, and full-width ASCII is
//! folded, so they cannot hide words from the matcher. Terms in Japanese, Korean, Chinese,
//! Portuguese and Vietnamese listed in the [`super::glossary`] add their English equivalent as
//! extra words at the same position.

use std::ops::Range;

use super::glossary;

/// A word of the answer with its byte range in the cleaned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub word: String,
    pub span: Range<usize>,
    /// True for English words added from the glossary.
    pub translated: bool,
}

/// Cleaned text with its words.
#[derive(Debug, Clone)]
pub struct Text {
    pub clean: String,
    pub tokens: Vec<Token>,
}

/// Removes invisible format characters and folds full-width ASCII and odd spaces.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let u = c as u32;
        let invisible = matches!(u, 0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180E
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE0000..=0xE007F);
        if invisible {
            continue;
        }
        match u {
            0xFF01..=0xFF5E => out.push(char::from_u32(u - 0xFEE0).unwrap_or(c)),
            0x3000 | 0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F => out.push(' '),
            _ if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a character belongs to a script written without spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0xF900..=0xFAFF)
}

/// Lower-cased words with byte spans (no glossary).
pub fn words(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if is_word_char(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push(Token {
                word: text[s..i].to_lowercase(),
                span: s..i,
                translated: false,
            });
        }
    }
    if let Some(s) = start {
        out.push(Token {
            word: text[s..].to_lowercase(),
            span: s..text.len(),
            translated: false,
        });
    }
    out
}

impl Text {
    pub fn new(raw: &str) -> Self {
        let clean = clean(raw);
        let mut tokens = words(&clean);
        let lower = clean.to_lowercase();
        let latin = matches!(
            super::lang::detect(&clean),
            super::lang::Lang::Pt | super::lang::Lang::Vi
        );
        if lower.len() == clean.len() {
            for (span, english) in glossary::find(&lower, latin) {
                for w in english.split_whitespace() {
                    tokens.push(Token {
                        word: w.to_string(),
                        span: span.clone(),
                        translated: true,
                    });
                }
            }
            tokens.sort_by_key(|t| (t.span.start, t.translated));
        }
        Self { clean, tokens }
    }

    /// Number of words (glossary additions not counted). CJK text counts ~2 characters a word.
    pub fn word_count(&self) -> usize {
        let mut n = 0;
        for t in self.tokens.iter().filter(|t| !t.translated) {
            let cjk = t.word.chars().filter(|c| is_cjk(*c)).count();
            n += if cjk > 0 { cjk.div_ceil(2) } else { 1 };
        }
        n
    }
}

/// One word of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatWord {
    Exact(String),
    Prefix(String),
    /// `*` on its own: any one word.
    Any,
}

/// A phrase to look for: words with optional trailing `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    words: Vec<PatWord>,
    pub source: String,
}

impl Pattern {
    /// Compiles an alias like `"idempoten* key"` or `"read/write ratio"`. Returns `None` for a
    /// pattern with no words.
    pub fn new(alias: &str) -> Option<Self> {
        let alias = clean(alias);
        let mut ws = Vec::new();
        for raw in alias.split(|c: char| !(is_word_char(c) || c == '*')) {
            if raw.is_empty() {
                continue;
            }
            let lower = raw.to_lowercase();
            if lower == "*" {
                ws.push(PatWord::Any);
                continue;
            }
            let parts: Vec<&str> = lower.split('*').collect();
            let core = parts[0].to_string();
            if core.is_empty() {
                continue;
            }
            if lower.contains('*') {
                ws.push(PatWord::Prefix(core));
            } else {
                ws.push(PatWord::Exact(core));
            }
        }
        let anchored = ws.iter().any(|w| !matches!(w, PatWord::Any));
        (anchored && !matches!(ws.first(), Some(PatWord::Any))).then_some(Self {
            words: ws,
            source: alias,
        })
    }

    /// Whether this is a single short exact word (risky to match inside longer words in CJK).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Byte spans of every match in `text`.
    pub fn find_all(&self, text: &Text) -> Vec<Range<usize>> {
        let toks = &text.tokens;
        let mut out = Vec::new();
        if self.words.is_empty() {
            return out;
        }
        for i in 0..toks.len() {
            if let Some(end) = self.match_at(toks, i) {
                out.push(toks[i].span.start..toks[end].span.end.max(toks[i].span.end));
            }
        }
        out
    }

    /// Matches starting at token `i`; returns the index of the last matched token.
    fn match_at(&self, toks: &[Token], i: usize) -> Option<usize> {
        for (k, pw) in self.words.iter().enumerate() {
            if !word_matches(pw, &toks.get(i + k)?.word) {
                return None;
            }
        }
        Some(i + self.words.len() - 1)
    }

    pub fn is_match(&self, text: &Text) -> bool {
        let toks = &text.tokens;
        (0..toks.len()).any(|i| self.match_at(toks, i).is_some())
    }
}

fn word_matches(p: &PatWord, w: &str) -> bool {
    match p {
        PatWord::Any => true,
        PatWord::Prefix(pre) => w.starts_with(pre.as_str()),
        PatWord::Exact(e) => {
            if w == e {
                return true;
            }
            // Plurals: cache/caches, index/indexes, retry/retries.
            if let Some(rest) = w.strip_prefix(e.as_str()) {
                return matches!(rest, "s" | "es") && e.len() >= 3;
            }
            if let (Some(stem), Some(rest)) = (e.strip_suffix('y'), w.strip_suffix("ies")) {
                return stem == rest && e.len() >= 4;
            }
            false
        }
    }
}

/// Splits cleaned text into sentences with byte spans: on `.?!。？！` followed by space or end,
/// on blank lines, and on line breaks that start a list item. Other line breaks are wrapped
/// prose and do not end a sentence.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let starts_item = |k: usize| {
        let rest: String = chars[k..]
            .iter()
            .map(|c| c.1)
            .skip_while(|c| *c == ' ' || *c == '\t')
            .take(3)
            .collect();
        let mut it = rest.chars();
        match it.next() {
            Some('-' | '*' | '•' | '·' | '>' | '\n') => true,
            Some(c) if c.is_ascii_digit() => {
                matches!(it.next(), Some('.' | ')')) || matches!(it.next(), Some('.' | ')'))
            }
            Some(c) => {
                !c.is_alphanumeric() && !c.is_whitespace() && c != '(' && c != '"' && c != '\''
            }
            None => true,
        }
    };
    for (k, &(i, c)) in chars.iter().enumerate() {
        let next = chars.get(k + 1).map(|x| x.1);
        let end_punct = matches!(c, '.' | '?' | '!')
            && next.is_none_or(|n| n.is_whitespace() || n == '"' || n == ')');
        let cjk_end = matches!(c, '。' | '？' | '！');
        let newline = c == '\n' && starts_item(k + 1);
        if end_punct || cjk_end || newline {
            let end = i + c.len_utf8();
            if text[start..end].trim().chars().any(char::is_alphanumeric) {
                out.push(trim_span(text, start..end));
            }
            start = end;
        }
    }
    if start < text.len() && text[start..].trim().chars().any(char::is_alphanumeric) {
        out.push(trim_span(text, start..text.len()));
    }
    out
}

fn trim_span(text: &str, r: Range<usize>) -> Range<usize> {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    r.start + lead..r.end - trail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(alias: &str, text: &str) -> bool {
        Pattern::new(alias).unwrap().is_match(&Text::new(text))
    }

    #[test]
    fn punctuation_and_case_do_not_matter() {
        assert!(m("read/write ratio", "The READ-WRITE ratio is 100:1"));
        assert!(m("O(n log n)", "it runs in o(n log n) time"));
        assert!(m("pg_stat_activity", "check pg_stat_activity first"));
        assert!(!m("cache", "cachet"));
    }

    #[test]
    fn wildcards_and_plurals() {
        assert!(m("idempoten*", "an Idempotency-Key header"));
        assert!(m("talk* to him", "I talked to him"));
        assert!(m("retry", "two retries"));
        assert!(m("index", "add indexes"));
        assert!(!m("idempotent", "idempotency"));
    }

    #[test]
    fn invisible_characters_cannot_split_words() {
        assert!(m("rollback", "roll\u{200b}back is rollback"));
        assert!(m("circuit breaker", "circuit\u{200b} breaker"));
        assert_eq!(clean("ｒｅｄｉｓ"), "redis");
    }

    #[test]
    fn glossary_terms_match_english_aliases() {
        assert!(m("cache", "キャッシュを使います"));
        assert!(m("rollback", "바로 롤백합니다"));
        assert!(m("idempoten*", "使用幂等键"));
    }

    #[test]
    fn spans_quote_the_original() {
        let t = Text::new("We add a Redis cache. Then retries.");
        let spans = Pattern::new("redis cache").unwrap().find_all(&t);
        assert_eq!(&t.clean[spans[0].clone()], "Redis cache");
    }

    #[test]
    fn sentence_spans() {
        let s = "First one. Second? Third!\nFourth without end";
        let spans: Vec<&str> = sentences(s).into_iter().map(|r| &s[r]).collect();
        assert_eq!(
            spans,
            vec!["First one.", "Second?", "Third!", "Fourth without end"]
        );
        // Wrapped lines stay one sentence; list items and paragraphs split.
        let s =
            "Reads go through a\nRedis cache under\n10 ms at p99.\n- one\n- two\n\nNext paragraph";
        let spans: Vec<&str> = sentences(s).into_iter().map(|r| &s[r]).collect();
        assert_eq!(
            spans,
            vec![
                "Reads go through a\nRedis cache under\n10 ms at p99.",
                "- one",
                "- two",
                "Next paragraph"
            ]
        );
        let s = "e.g. 3.5 ms is fine. Next";
        assert_eq!(sentences(s).len(), 3);
    }
}
