//! Retrieval quality: paraphrased user queries must find the intended question. Recall@1 and
//! recall@3 are printed (and reported in the README) and held above a floor.

use spar_bank::{Bank, Filters};

const QUERIES: &str = include_str!("fixtures/queries.tsv");

#[test]
fn paraphrased_queries_find_their_question() {
    let bank = Bank::embedded().unwrap();
    let mut n = 0;
    let (mut at1, mut at3) = (0, 0);
    let mut misses = Vec::new();
    for line in QUERIES.lines().filter(|l| !l.trim().is_empty()) {
        let (id, query) = line.split_once('\t').expect("id<TAB>query");
        assert!(bank.get(id).is_some(), "fixture names unknown id {id}");
        n += 1;
        let hits = bank.search(query, &Filters::default(), 3).unwrap();
        let pos = hits.iter().position(|h| h.question.id == id);
        match pos {
            Some(0) => {
                at1 += 1;
                at3 += 1;
            }
            Some(_) => at3 += 1,
            None => misses.push(format!(
                "{id}: {query} → {:?}",
                hits.iter().map(|h| &h.question.id).collect::<Vec<_>>()
            )),
        }
    }
    let r1 = at1 as f64 / n as f64;
    let r3 = at3 as f64 / n as f64;
    println!("retrieval over {n} paraphrased queries: recall@1 {r1:.3}, recall@3 {r3:.3}");
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(n >= 50);
    assert!(r1 >= 0.80, "recall@1 {r1:.3} below the floor");
    assert!(r3 >= 0.92, "recall@3 {r3:.3} below the floor");
}
