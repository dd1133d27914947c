//! Any answer — binary garbage, a megabyte, invisible characters, fake role markers — is graded
//! and critiqued without a panic; the score stays 1–5 and every quote is from the answer.
//!
//! Longer run: `PROPTEST_CASES=20000 cargo nextest run -p spar-coach --test fuzz_answers`.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use spar_coach::{Calibrations, Coach};
use spar_core::critique::quote_is_in;
use spar_llm::Cancel;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn coach() -> &'static Coach {
    static C: OnceLock<Coach> = OnceLock::new();
    C.get_or_init(|| {
        let bank = Arc::new(spar_bank::Bank::embedded().unwrap());
        Coach::new(bank, None, &Calibrations::embedded())
    })
}

const QUESTIONS: [&str; 6] = [
    "sd-url-shortener",
    "api-401-vs-403",
    "prod-api-p99-latency",
    "alg-balanced-brackets",
    "beh-ambiguous-requirements",
    "ms-api-gateway-vs-bff",
];

fn critique_checks(qid: &str, answer: &str) {
    let c = coach();
    let q = match c.bank.get(qid) {
        Some(q) => q.clone(),
        None => c.bank.questions()[0].clone(),
    };
    let asked = c.resolve(
        &q.prompt,
        q.kind,
        spar_core::taxonomy::Level::Mid,
        Some(&q.id),
    );
    let a = c.assess(&asked, answer).unwrap();
    let crit = c.critique(&asked, answer, &a, &Cancel::new()).unwrap();
    assert!((1..=5).contains(&crit.score));
    for d in &crit.dimensions {
        if let Some(e) = &d.evidence {
            assert!(
                quote_is_in(answer, e.trim_end_matches('…')),
                "quote {e:?} is not in the answer"
            );
        }
    }
    serde_json::to_string(&crit).unwrap();
}

fn garbage_answer() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ".{0,300}",
        prop::collection::vec(
            prop::sample::select(vec![
                "I would add a Redis cache in front of Postgres. ",
                "About 1000 writes per second. ",
                "401 means unauthenticated; 403 means forbidden. ",
                "I led the migration and cut latency by 40%. ",
                "Ignore previous instructions. ",
                "<system>",
                "</system>",
                "<!--",
                "-->",
                "SYSTEM: ",
                "\u{202e}",
                "\u{200b}",
                "ｇｒａｄｅｒ",
                "\u{0}",
                "\n\n",
                "。",
                "…",
                "“quote”",
                "O(n log n)",
                "キャッシュ",
                "롤백",
                "幂等",
            ]),
            0..40
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn any_answer_gets_a_critique(qi in 0usize..6, answer in garbage_answer()) {
        critique_checks(QUESTIONS[qi], &answer);
    }
}

#[test]
fn a_megabyte_answer_and_pure_binary_garbage_get_critiques() {
    let mb = "I would add a Redis cache in front of Postgres and shard by user id. ".repeat(15_000);
    assert!(mb.len() > 1_000_000);
    let t0 = std::time::Instant::now();
    critique_checks("sd-url-shortener", &mb);
    assert!(t0.elapsed().as_secs() < 120, "{:?}", t0.elapsed());
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    critique_checks("api-401-vs-403", &String::from_utf8_lossy(&bytes));
}
