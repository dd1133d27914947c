//! The tantivy index over the bank: BM25 with field boosts, filters, lenient parsing.

use spar_core::question::Question;
use spar_core::taxonomy::{Kind, Level, Region, Stack};
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{Index, IndexReader, TantivyDocument, Term};

use crate::Result;

/// Field boosts: a hit in the title counts most, then the prompt and topics, then key points,
/// then the long reference answer.
const BOOSTS: [(&str, f32); 6] = [
    ("title", 3.0),
    ("topics", 2.0),
    ("prompt", 2.0),
    ("key_points", 1.5),
    ("follow_ups", 0.7),
    ("reference", 1.0),
];

/// Narrows a search. Every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub kind: Option<Kind>,
    pub level: Option<Level>,
    pub region: Option<Region>,
    pub stack: Option<Stack>,
    pub topic: Option<String>,
}

impl Filters {
    pub fn kind(kind: Kind) -> Self {
        Self {
            kind: Some(kind),
            ..Self::default()
        }
    }

    /// Whether a question passes the filters (the same rule the index applies).
    pub fn matches(&self, q: &Question) -> bool {
        self.kind.is_none_or(|k| q.kind == k)
            && self.level.is_none_or(|l| q.levels.contains(&l))
            && self.region.is_none_or(|r| q.regions.contains(&r))
            && self.stack.is_none_or(|s| q.stacks.contains(&s))
            && self
                .topic
                .as_ref()
                .is_none_or(|t| q.topics.iter().any(|x| x.eq_ignore_ascii_case(t)))
    }
}

struct Fields {
    kind: Field,
    level: Field,
    region: Field,
    stack: Field,
    topic: Field,
}

/// A search index over a slice of questions; hits refer to positions in that slice.
pub struct BankIndex {
    reader: IndexReader,
    parser: QueryParser,
    fields: Fields,
    analyzer: TextAnalyzer,
}

impl std::fmt::Debug for BankIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankIndex").finish_non_exhaustive()
    }
}

/// The analyzer used for text fields: simple tokens, lowercased, English stems.
pub const ANALYZER: &str = "en_stem";

impl BankIndex {
    /// Indexes `questions` in RAM. Ordinals in hits are indices into `questions`.
    pub fn build(questions: &[Question]) -> Result<Self> {
        let mut sb = Schema::builder();
        let text_opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let ord = sb.add_u64_field("ord", FAST | STORED);
        let kind = sb.add_text_field("kind", STRING);
        let level = sb.add_text_field("level", STRING);
        let region = sb.add_text_field("region", STRING);
        let stack = sb.add_text_field("stack", STRING);
        let topic = sb.add_text_field("topic", STRING);
        let text: Vec<(Field, f32)> = BOOSTS
            .iter()
            .map(|(name, boost)| (sb.add_text_field(name, text_opts.clone()), *boost))
            .collect();
        let schema = sb.build();
        let index = Index::create_in_ram(schema);
        let threads = if questions.len() > 20_000 { 2 } else { 1 };
        let mut writer =
            index.writer_with_num_threads::<TantivyDocument>(threads, 40_000_000 * threads)?;
        for (i, q) in questions.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(ord, i as u64);
            doc.add_text(kind, q.kind.id());
            for l in &q.levels {
                doc.add_text(level, l.id());
            }
            for r in &q.regions {
                doc.add_text(region, r.id());
            }
            for s in &q.stacks {
                doc.add_text(stack, s.id());
            }
            for t in &q.topics {
                doc.add_text(topic, t);
            }
            let [title, topics, prompt, key_points, follow_ups, reference] = [
                text[0].0, text[1].0, text[2].0, text[3].0, text[4].0, text[5].0,
            ];
            doc.add_text(title, &q.title);
            doc.add_text(topics, q.topics.join(" "));
            doc.add_text(prompt, &q.prompt);
            for k in &q.key_points {
                doc.add_text(key_points, format!("{} {}", k.text, k.aliases.join(" ")));
            }
            for f in &q.follow_ups {
                doc.add_text(follow_ups, &f.text);
            }
            doc.add_text(reference, &q.reference_answer);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        let mut parser = QueryParser::for_index(&index, text.iter().map(|(f, _)| *f).collect());
        for (f, boost) in &text {
            parser.set_field_boost(*f, *boost);
        }
        let analyzer = index
            .tokenizers()
            .get(ANALYZER)
            .expect("tantivy registers en_stem by default");
        Ok(Self {
            reader,
            parser,
            fields: Fields {
                kind,
                level,
                region,
                stack,
                topic,
            },
            analyzer,
        })
    }

    /// The best `limit` questions for free text `query` under `filters`, best first.
    /// User text is parsed leniently: stray quotes, colons or brackets never fail a search.
    pub fn search(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<(usize, f32)>> {
        let cleaned = sanitize_query(&expand(query));
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if cleaned.trim().is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        } else {
            let (q, _errors) = self.parser.parse_query_lenient(&cleaned);
            clauses.push((Occur::Must, q));
        }
        let mut term = |field: Field, value: &str| {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            ));
        };
        if let Some(k) = filters.kind {
            term(self.fields.kind, k.id());
        }
        if let Some(l) = filters.level {
            term(self.fields.level, l.id());
        }
        if let Some(r) = filters.region {
            term(self.fields.region, r.id());
        }
        if let Some(s) = filters.stack {
            term(self.fields.stack, s.id());
        }
        if let Some(t) = &filters.topic {
            term(self.fields.topic, &t.to_lowercase());
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let ords = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("ord")?;
            let ord = ords.first(addr.doc_id).unwrap_or_default();
            hits.push((ord as usize, score));
        }
        Ok(hits)
    }

    /// Stemmed, lowercased terms of `text`, the way the index sees them.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// The number of indexed questions.
    pub fn len(&self) -> usize {
        self.reader.searcher().num_docs() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everyday phrasings users type, mapped to the words the bank uses. Appended to a query (BM25
/// ORs the terms), so they only add evidence.
const EXPANSIONS: &[(&str, &str)] = &[
    ("not logged in", "unauthenticated 401"),
    ("not allowed", "forbidden 403 authorization"),
    ("no permission", "forbidden 403 authorization"),
    ("over quota", "rate limit 429"),
    ("too many requests", "rate limit 429"),
    ("throttl", "rate limit"),
    ("double charge", "idempotent payment idempotency"),
    ("charged twice", "idempotent payment idempotency"),
    ("flop", "failure failed"),
    ("mistake", "failure wrong decision"),
    ("undo", "wrong decision reversed"),
    ("tail latency", "p99 latency"),
    ("outage", "incident on-call"),
    ("went down", "incident outage"),
    ("pm ", "product manager"),
    ("bad idea", "push back disagree"),
    ("fighting", "conflict disagreement"),
    ("argu", "conflict disagreement"),
    ("took three months", "estimate wrong deadline"),
    ("took longer", "estimate wrong deadline"),
    ("slow query", "database query index"),
    ("cpu pegged", "cpu 100"),
    ("pegged", "100 cpu saturated"),
    ("short link", "url shortener"),
    ("tiny url", "url shortener"),
    ("microservice", "service"),
    ("two phase", "2pc distributed transaction"),
    ("retries", "retry idempotency"),
];

fn expand(query: &str) -> String {
    let lower = query.to_lowercase();
    let mut out = query.to_string();
    for (phrase, extra) in EXPANSIONS {
        if lower.contains(phrase) {
            out.push(' ');
            out.push_str(extra);
        }
    }
    out
}

/// Turns user text into a plain bag of words: query syntax characters become spaces so that
/// "what's 401 vs 403?" or "title:(" never reach the parser as syntax.
fn sanitize_query(query: &str) -> String {
    query
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .filter(|w| !matches!(*w, "AND" | "OR" | "NOT" | "IN"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_syntax() {
        assert_eq!(
            sanitize_query("title:(rate \"limiter\" AND -x^2"),
            "title rate limiter x 2"
        );
        assert_eq!(sanitize_query("  "), "");
    }
}
