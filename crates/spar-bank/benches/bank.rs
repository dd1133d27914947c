//! Bank benchmarks: start-up (load + validate + index the embedded bank) and query latency on
//! the real bank and on a synthetic 100k-question bank.
//!
//! `cargo bench -p spar-bank` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use spar_bank::{Bank, Filters, embedded_files};
use spar_core::question::Question;
use spar_core::taxonomy::{Kind, Region};

const QUERIES: &[&str] = &[
    "rate limiter",
    "how do I stop double charges when the app retries",
    "database cpu is at 100 percent",
    "tell me about a conflict with a coworker",
    "saga orchestration",
    "p99 latency spike",
];

fn startup(c: &mut Criterion) {
    let files = embedded_files();
    c.bench_function("bank/load_validate_index", |b| {
        b.iter(|| Bank::from_files(black_box(&files)).unwrap())
    });
}

fn query_real(c: &mut Criterion) {
    let bank = Bank::embedded().unwrap();
    let mut i = 0;
    c.bench_function("bank/query_real", |b| {
        b.iter(|| {
            i += 1;
            bank.search(
                black_box(QUERIES[i % QUERIES.len()]),
                &Filters::default(),
                10,
            )
            .unwrap()
        })
    });
    let filters = Filters {
        kind: Some(Kind::SystemDesign),
        region: Some(Region::Korea),
        ..Filters::default()
    };
    c.bench_function("bank/query_real_filtered", |b| {
        b.iter(|| {
            bank.search(black_box("rate limiter"), &filters, 10)
                .unwrap()
        })
    });
}

/// 100k questions made by recombining the real ones with varied words.
fn synthetic(n: usize) -> Vec<Question> {
    let real = Bank::embedded().unwrap().questions().to_vec();
    let words = [
        "alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lambda",
    ];
    (0..n)
        .map(|i| {
            let mut q = real[i % real.len()].clone();
            q.id = format!("{}-{i}", q.id);
            let tag = format!(
                "{} {} {}",
                words[i % 10],
                words[(i / 10) % 10],
                words[(i / 100) % 10]
            );
            q.title = format!("{} {tag}", q.title);
            q.prompt = format!("{} variant {i} {tag}", q.prompt);
            q
        })
        .collect()
}

fn query_100k(c: &mut Criterion) {
    let bank = Bank::from_questions(synthetic(100_000), Vec::new(), Vec::new()).unwrap();
    let mut i = 0;
    let mut group = c.benchmark_group("bank");
    group.sample_size(30);
    group.bench_function("query_100k", |b| {
        b.iter(|| {
            i += 1;
            bank.search(
                black_box(QUERIES[i % QUERIES.len()]),
                &Filters::default(),
                10,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, startup, query_real, query_100k);
criterion_main!(benches);
