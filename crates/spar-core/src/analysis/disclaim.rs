//! Disclaimers: the parts of an answer where the candidate says they did *not* do something
//! ("I didn't think about edge cases", "I wouldn't bother writing tests", "I'm not sure about
//! the complexity"). A cue inside one is not evidence that the dimension is covered.
//!
//! Only the speaker's own disclaimers count: a first-person subject, a negation and a verb of
//! knowing, considering or doing the work. Design statements that happen to contain a negation
//! ("we don't retry POSTs", "no single point of failure", "we never store card numbers") are
//! claims about the system and stay evidence. A disclaimer reaches to the end of its clause:
//! punctuation, a contrast word ("but", "though"), or a new first-person clause ("and I …").

use std::ops::Range;

use super::text::Text;

/// Subjects that make a disclaimer the speaker's own.
const SUBJECTS: &[&str] = &["i", "we"];
/// Contraction tails and adverbs allowed between the subject, the negation and the verb.
const FILLERS: &[&str] = &[
    "d", "m", "am", "re", "are", "ve", "really", "even", "actually", "usually", "probably",
    "honestly", "just", "totally", "fully", "exactly",
];
/// Verb prefixes of knowing, considering or doing the work.
const VERBS: &[&str] = &[
    "know", "think", "thought", "consider", "cover", "handl", "worr", "bother", "care", "remember",
    "recall", "test", "writ", "wrote", "mention", "address", "focus", "plan", "look", "check",
    "measur", "sure", "spend", "spent", "get", "got", "go", "gone", "deal", "dealt",
];
/// Words that start a new clause, ending a disclaimer's reach.
const CONTRAST: &[&str] = &[
    "but", "though", "although", "however", "yet", "instead", "except", "whereas", "while",
];

fn negation_at(words: &[&str], i: usize) -> Option<usize> {
    match (words.get(i), words.get(i + 1)) {
        (
            Some(&("didn" | "don" | "won" | "wouldn" | "haven" | "can" | "couldn" | "hadn")),
            Some(&"t"),
        ) => Some(i + 2),
        (Some(&("did" | "do" | "will" | "would" | "have" | "could" | "had")), Some(&"not")) => {
            Some(i + 2)
        }
        (Some(&("cannot" | "never" | "not")), _) => Some(i + 1),
        _ => None,
    }
}

/// Byte ranges of [`Text::clean`] covered by the speaker's disclaimers.
pub fn scopes(text: &Text) -> Vec<Range<usize>> {
    let toks: Vec<&super::text::Token> = text.tokens.iter().filter(|t| !t.translated).collect();
    let words: Vec<&str> = toks.iter().map(|t| t.word.as_str()).collect();
    let clean = &text.clean;
    // Whether a clause boundary lies between token k-1 and token k.
    let boundary = |k: usize| -> bool {
        let gap = &clean[toks[k - 1].span.end..toks[k].span.start];
        gap.contains([
            ',', ';', ':', '.', '!', '?', '\n', '—', '–', '(', ')', '、', '。', '，',
        ]) || CONTRAST.contains(&words[k])
            || (matches!(words[k], "and" | "so" | "then" | "because")
                && words
                    .get(k + 1)
                    .is_some_and(|w| SUBJECTS.contains(w) || *w == "you"))
    };
    // The first word from `j` on that is not a filler inside the clause.
    let skip = |mut j: usize| {
        while j < words.len() && FILLERS.contains(&words[j]) && !boundary(j) {
            j += 1;
        }
        j
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !SUBJECTS.contains(&words[i]) {
            i += 1;
            continue;
        }
        // subject, fillers, negation, fillers, verb — all in one clause.
        let j = skip(i + 1);
        let Some(after) = (j < words.len() && !boundary(j))
            .then(|| negation_at(&words, j))
            .flatten()
        else {
            i += 1;
            continue;
        };
        let v = skip(after);
        let is_verb = v < words.len()
            && !boundary(v)
            && VERBS.iter().any(|p| words[v].starts_with(p))
            // "We don't know whether the charge happened" is about the system, not the speaker.
            && !(words[i] == "we" && matches!(words[v], "know" | "sure"));
        if !is_verb {
            i += 1;
            continue;
        }
        let mut end = v + 1;
        while end < words.len() && !boundary(end) {
            end += 1;
        }
        out.push(toks[i].span.start..toks[end - 1].span.end);
        i = end;
    }
    out
}

/// Whether `span` starts inside one of `scopes`.
pub fn within(scopes: &[Range<usize>], span: &Range<usize>) -> bool {
    scopes.iter().any(|s| s.contains(&span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disclaimed(answer: &str) -> Vec<String> {
        let t = Text::new(answer);
        scopes(&t)
            .into_iter()
            .map(|r| t.clean[r].to_string())
            .collect()
    }

    #[test]
    fn the_speakers_own_disclaimers() {
        assert_eq!(
            disclaimed(
                "O(n) time. I didn't think about edge cases and I wouldn't bother writing tests."
            ),
            vec![
                "I didn't think about edge cases",
                "I wouldn't bother writing tests"
            ]
        );
        assert_eq!(
            disclaimed("I'm not really sure about the complexity, but it works."),
            vec!["I'm not really sure about the complexity"]
        );
        assert_eq!(
            disclaimed("We never tested the failover path"),
            vec!["We never tested the failover path"]
        );
        assert_eq!(
            disclaimed("I don't remember exactly why the pointers meet; I think it's fine."),
            vec!["I don't remember exactly why the pointers meet"]
        );
    }

    #[test]
    fn design_statements_with_a_negation_stay_evidence() {
        for s in [
            "We don't retry non-idempotent POSTs without an idempotency key.",
            "There is no single point of failure, and we never store card numbers.",
            "I wouldn't use offset pagination because rows shift between pages.",
            "If it times out we don't know whether the charge happened, so it goes to processing.",
            "I thought about sharding by user id and tested it with a load test.",
        ] {
            assert!(disclaimed(s).is_empty(), "{s}: {:?}", disclaimed(s));
        }
    }
}
