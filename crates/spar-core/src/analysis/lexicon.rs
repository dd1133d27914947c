//! Generic cues for each rubric dimension: words and phrases that show an answer is working on
//! that dimension, whatever the question. They complement the question's own key-point aliases
//! and, like them, are matched with [`super::text::Pattern`] (so they also fire on translated
//! glossary words).
//!
//! Cues are split into *strong* (hard to say without actually doing the thing: "O(n log n)",
//! "p99", "postmortem") and *weak* (topic words a vague answer also uses). The grader weighs
//! them separately.

use std::sync::OnceLock;

use super::text::Pattern;
use crate::taxonomy::Dimension;

/// Cue lists for one dimension.
#[derive(Debug)]
pub struct Cues {
    pub strong: Vec<Pattern>,
    pub weak: Vec<Pattern>,
}

fn raw(d: Dimension) -> (&'static [&'static str], &'static [&'static str]) {
    use Dimension::*;
    match d {
        Clarify => (
            &["can i assume", "should i assume", "i'll assume", "i will assume", "i assume", "assuming that", "assumption*",
              "clarify", "clarifying question*", "is the input sorted", "can the input", "can there be", "are there duplicates",
              "what should * return", "what do we return", "what should happen", "input size", "how large is", "range of values",
              "constraints", "negative numbers", "do we need to handle", "before i start", "let me confirm",
              "i'd ask", "i would ask", "i d ask", "ask whether", "ask what", "ask if", "is it guaranteed", "are the values",
              "are they", "can it be", "can they be", "is the list", "is the array", "do we care", "should it"],
            &["assume", "question", "ask", "sorted", "unicode", "ascii", "bounded", "up to"],
        ),
        Approach => (
            &["hash map", "hashmap", "hash table", "hash set", "dictionary", "two pointer*", "sliding window", "binary search",
              "heap", "priority queue", "min heap", "max heap", "bfs", "dfs", "breadth first", "depth first", "topological sort",
              "union find", "disjoint set", "dynamic programming", "memoiz*", "greedy", "trie", "stack", "deque",
              "monotonic", "prefix sum*", "linked list", "doubly linked", "dijkstra", "backtrack*", "quickselect", "bucket*",
              "segment tree", "bit manipulation", "brute force", "sort the", "sort them", "sort it", "sort by", "recursion",
              "recursive", "iterate", "counter", "nested loop*", "every substring", "every pair", "all pairs",
              "all substrings", "for each", "loop over", "walk the", "scan the", "merge sort", "quicksort", "graph",
              "adjacency list", "in a set", "in a dictionary", "in a map", "hashset", "treemap", "ordereddict"],
            &["approach", "algorithm", "data structure", "idea", "solution", "loop", "array", "map", "set", "tree", "graph"],
        ),
        Complexity => (
            &["o 1", "o n", "o log n", "o n log n", "o n 2", "o n2", "o n^2", "o k", "o n k", "o n m", "o v e", "o n log k",
              "big o", "time complexity", "space complexity", "linear time", "constant time", "logarithmic", "quadratic",
              "amortized", "amortised", "n log n", "log n", "extra space", "auxiliary space", "in place", "constant space",
              "linear space"],
            &["complexity", "efficient", "fast", "memory", "runtime", "time", "space"],
        ),
        EdgeCases => (
            &["edge case*", "corner case*", "empty input", "empty array", "empty string", "empty list", "null", "none",
              "nil", "single element", "one element", "duplicates", "negative", "overflow", "underflow", "zero",
              "max int", "integer overflow", "very large", "all the same", "already sorted", "boundary", "off by one",
              "out of range", "invalid input", "ties", "unicode"],
            &["edge", "special case", "empty", "large input", "handle"],
        ),
        Correctness => (
            &["invariant", "proof", "prove", "correct because", "works because", "walk through", "walkthrough",
              "dry run", "trace through", "for example", "let's trace", "let me trace", "by induction", "terminates",
              "loop invariant", "guarantees", "always holds", "counterexample", "why it works", "step by step",
              "is always", "are always", "never", "at most once", "exactly once", "which means", "that is why",
              "that's why", "so the answer", "this is correct", "it is correct", "because every", "because each",
              "so for", "e g", "models the", "by construction", "holds because", "can never"],
            &["correct", "correctness", "example", "verify", "check", "ensures"],
        ),
        Testing => (
            &["unit test*", "test case*", "testing", "assert*", "property based", "fuzz*", "randomized test*",
              "compare against brute force", "integration test*", "pytest", "junit", "go test", "jest", "rspec",
              "expected output", "test with", "i would test", "i'd test", "tests for"],
            &["test", "tests", "verify", "validate"],
        ),
        Requirements => (
            &["functional requirement*", "non functional", "nonfunctional", "requirements", "read write ratio",
              "read heavy", "write heavy", "daily active", "dau", "mau", "users", "latency target", "availability target",
              "99 9", "99 99", "slo", "sla", "out of scope", "in scope", "use case*", "clarify the", "scope",
              "consistency requirement*", "must support", "should support", "p99 under", "p95"],
            &["requirement", "feature*", "need to", "should", "support"],
        ),
        Estimation => (
            &["per second", "qps", "rps", "tps", "back of the envelope", "back of envelope", "estimate", "estimation",
              "roughly", "approximately", "gb", "tb", "pb", "mb", "kb", "bytes", "million", "billion", "thousand",
              "per day", "per month", "86400", "100k", "10k", "1m", "storage", "bandwidth", "peak"],
            &["around", "about", "numbers", "scale", "traffic", "load"],
        ),
        Architecture => (
            &["load balancer", "api gateway", "service", "cache", "cdn", "database", "queue", "kafka", "worker*",
              "application server*", "app server*", "microservice*", "redis", "postgres", "mysql", "s3", "object storage",
              "message broker", "pub sub", "write path", "read path", "request flow", "client", "front end", "backend",
              "stateless", "replica*", "component*"],
            &["architecture", "system", "server", "layer", "box*", "diagram"],
        ),
        DataModel => (
            &["schema", "table*", "column*", "primary key", "foreign key", "partition key", "sort key", "shard key",
              "index", "indexes", "indexed", "composite index", "document", "collection", "key value", "nosql", "sql",
              "relational", "cassandra", "dynamodb", "mongodb", "postgres", "mysql", "denormaliz*", "normaliz*", "row*",
              "data model", "entity", "entities", "fields", "user_id", "created_at", "ttl"],
            &["store", "model", "data", "record*"],
        ),
        DeepDive => (
            &["deep dive", "let me go deeper", "in detail", "hot key*", "hot partition*", "fan out", "fanout",
              "consistent hashing", "snowflake", "id generation", "base62", "sharding scheme", "leader election",
              "quorum", "vector clock", "crdt", "bloom filter", "token bucket", "leaky bucket", "sliding window",
              "write ahead log", "wal", "lsm", "merkle", "geohash", "quadtree", "inverted index", "compaction",
              "backpressure", "rebalanc*", "exactly once", "at least once", "dedup*", "hotspot*"],
            &["detail", "specifically", "the hard part", "tricky", "interesting part", "bottleneck"],
        ),
        Tradeoffs => (
            &["trade off*", "tradeoff*", "trade-off*", "on the other hand", "the downside", "downside", "the cost is",
              "at the cost of", "instead of", "rather than", "alternative*", "versus", "vs", "pros and cons", "pro",
              "con", "cap theorem", "consistency vs", "latency vs", "we give up", "sacrific*", "the price", "whereas",
              "i chose", "i'd choose", "i would choose", "because it", "compared to", "simpler but", "cheaper but"],
            &["but", "however", "option*", "choice", "choose", "depends"],
        ),
        FailureModes => (
            &["failover", "fail over", "replica*", "replication", "single point of failure", "spof", "retry", "retries",
              "backoff", "circuit breaker", "timeout*", "degrade*", "fallback", "what if * fails", "when * goes down",
              "goes down", "crash*", "outage", "data loss", "durab*", "multi region", "multi az", "availability zone*",
              "disaster recovery", "backup*", "split brain", "partition tolerance", "network partition", "overload",
              "rate limit*", "load shedding", "dead letter", "poison"],
            &["fail*", "failure", "down", "recover*", "resilien*", "redundan*"],
        ),
        HttpSemantics => (
            &["get", "post", "put", "patch", "delete", "200", "201", "202", "204", "301", "304", "400", "401", "403",
              "404", "409", "412", "422", "429", "500", "503", "status code*", "idempotent method*", "safe method*",
              "location header", "content type", "accept header", "etag", "if match", "if none match", "cache control",
              "resource*", "noun*", "plural", "restful", "rest", "query param*", "path param*", "http verb*", "http method*"],
            &["http", "endpoint*", "url", "uri", "header*", "method*"],
        ),
        Security => (
            &["authentication", "authenticate", "authorization", "authorize", "authn", "authz", "oauth", "oauth2",
              "openid", "oidc", "jwt", "token*", "api key*", "scope*", "rbac", "permission*", "role*", "mtls", "tls",
              "https", "encrypt*", "hash*", "bcrypt", "argon2", "salt", "secret*", "vault", "input validation",
              "validate input", "sanitiz*", "sql injection", "xss", "csrf", "cors", "rate limit*", "throttl*", "brute force",
              "least privilege", "owasp", "idor", "bola", "signature", "hmac"],
            &["secure", "security", "auth", "attack*", "abuse"],
        ),
        Reliability => (
            &["idempoten*", "idempotency key", "retry", "retries", "exponential backoff", "backoff", "jitter",
              "timeout*", "pagination", "paginate", "cursor", "optimistic lock*", "optimistic concurrency", "etag",
              "if match", "version number", "at least once", "exactly once", "at most once", "dedup*", "outbox",
              "transaction*", "atomic*", "circuit breaker", "dead letter", "webhook retr*", "async", "202 accepted",
              "long running", "status endpoint", "consistency"],
            &["reliable", "reliability", "safe", "duplicate*", "concurren*"],
        ),
        Evolution => (
            &["version*", "v1", "v2", "/v1", "backward compatib*", "backwards compatib*", "forward compatib*",
              "breaking change*", "non breaking", "deprecat*", "sunset", "migration guide", "additive", "optional field*",
              "new field*", "changelog", "semver", "semantic versioning", "header version*", "accept version",
              "media type version*", "expand and contract", "tolerant reader", "contract test*", "openapi", "schema registry"],
            &["evolve", "evolution", "change*", "clients", "compatib*", "future"],
        ),
        ErrorHandling => (
            &["error response*", "error body", "error format", "error code*", "problem json", "problem details",
              "rfc 7807", "rfc 9457", "error message*", "validation error*", "field error*", "4xx", "5xx", "400", "404",
              "409", "422", "429", "500", "503", "retry after", "retryable", "non retryable", "trace id", "request id",
              "correlation id", "machine readable", "human readable", "error object", "errors array", "exception handler",
              "controlleradvice", "controller advice", "error middleware"],
            &["error*", "fail*", "exception*", "message"],
        ),
        Situation => (
            &["at my previous", "at my last", "at my current", "when i was", "i was working", "i worked", "we had a",
              "our team", "the team", "the company", "a few years ago", "last year", "in 20", "back in", "context",
              "the situation", "the background", "startup", "fintech", "e commerce", "at the time", "the project"],
            &["team", "company", "project", "client", "product"],
        ),
        Task => (
            &["my goal", "my task", "my job", "my role", "i was responsible", "i was asked", "i was tasked", "i needed to",
              "i had to", "my responsibility", "i owned", "i was the", "i led", "the goal was", "we needed to",
              "the task was", "objective", "assigned to me", "i volunteered"],
            &["goal", "task", "responsible", "needed", "deadline"],
        ),
        Action => (
            &["i wrote", "i built", "i proposed", "i decided", "i set up", "i created", "i implemented", "i designed",
              "i talked", "i spoke", "i met", "i scheduled", "i organized", "i organised", "i suggested", "i started",
              "i analyzed", "i analysed", "i measured", "i added", "i changed", "i refactored", "i migrated", "i rolled",
              "i reached out", "i asked", "i explained", "i documented", "i paired", "i ran", "i pushed", "i escalated",
              "i prototyped", "i benchmarked", "i drafted", "i presented", "i negotiated", "first i", "then i", "so i"],
            &["i", "did", "action", "steps"],
        ),
        Result => (
            &["as a result", "the result", "resulted in", "in the end", "ultimately", "outcome", "reduced", "increased",
              "improved", "cut", "saved", "dropped", "went from", "down to", "up to", "percent", "%", "shipped",
              "launched", "delivered", "on time", "no incidents", "zero incidents", "promoted", "adopted", "the impact",
              "which led to", "after that"],
            &["result", "impact", "success*", "finally", "worked"],
        ),
        Specificity => (
            &["%", "ms", "seconds", "minutes", "hours", "days", "weeks", "months", "million", "thousand", "gb",
              "tb", "qps", "rps", "p99", "p95", "postgres", "mysql", "redis", "kafka", "kubernetes", "aws", "gcp",
              "java", "python", "golang", "spring", "rails", "django", "node js", "nodejs", "terraform", "jenkins", "datadog",
              "grafana", "prometheus", "sentry", "jira", "elasticsearch", "rabbitmq", "sqs", "s3", "dynamodb"],
            &["specifically", "exactly", "number*"],
        ),
        Ownership => (
            &["i decided", "i owned", "i took ownership", "i was responsible", "my mistake", "my fault", "i made a mistake",
              "i was wrong", "i should have", "i take responsibility", "i accountable", "i led", "i drove", "i made the call",
              "i chose", "i pushed for", "i committed", "i apologized", "i apologised", "on me", "my decision", "i owned up"],
            &["i", "my", "myself", "ownership", "responsib*"],
        ),
        Reflection => (
            &["i learned", "i learnt", "lesson*", "in hindsight", "looking back", "next time", "i would do differently",
              "i'd do differently", "i would have", "i'd have", "if i did it again", "what i'd change", "since then",
              "now i always", "now i", "taught me", "i realized", "i realised", "changed how i", "i now", "going forward",
              "retrospective", "takeaway"],
            &["learn*", "reflect*", "differently", "improve*"],
        ),
        TriageOrder => (
            &["first", "first thing", "before anything", "start by", "i'd start", "i would start", "step one", "then",
              "next", "after that", "scope", "blast radius", "impact", "how many users", "which endpoints", "what changed",
              "recent deploy*", "recent change*", "stop the bleeding", "mitigate first", "before digging", "before root",
              "in parallel", "meanwhile", "priorit*", "triage"],
            &["second", "third", "finally", "order"],
        ),
        Signals => (
            &["dashboard*", "grafana", "datadog", "new relic", "prometheus", "metric*", "logs", "log line*", "kibana",
              "splunk", "trace*", "tracing", "jaeger", "span*", "apm", "p99", "p95", "p50", "error rate", "latency graph",
              "cpu", "memory", "heap", "gc", "disk", "iops", "pg_stat_activity", "pg_stat_statements", "slow query log",
              "explain analyze", "top", "htop", "kubectl", "describe pod", "events", "flame graph", "profil*", "netstat",
              "connection count", "queue depth", "consumer lag", "thread dump", "heap dump", "strace", "tcpdump"],
            &["look at", "check", "monitor*", "graph*", "alert*"],
        ),
        Hypotheses => (
            &["hypothes*", "my guess", "i suspect", "suspect", "could be", "might be", "possible cause*", "likely cause",
              "candidate cause*", "rule out", "ruled out", "to confirm", "confirm by", "if it is", "if that is the case",
              "that would mean", "which would explain", "correlat*", "coincides", "lines up with", "theory", "either"],
            &["maybe", "probably", "cause*", "because"],
        ),
        Mitigation => (
            &["roll back", "rollback", "revert", "feature flag", "flag off", "kill switch", "disable", "fail over",
              "failover", "scale up", "scale out", "add capacity", "restart", "shed load", "load shedding", "rate limit",
              "throttle", "block the", "kill the query", "pg_terminate_backend", "drain", "traffic shift", "cordon",
              "hotfix", "mitigat*", "stop the bleeding", "workaround", "cache warm", "circuit breaker", "pause the job"],
            &["fix", "quick", "immediately", "temporar*"],
        ),
        Communication => (
            &["incident channel", "war room", "slack", "status page", "statuspage", "incident commander", "ic",
              "stakeholder*", "customer support", "support team", "update every", "updates every", "post an update",
              "communicat*", "notify", "inform", "announce", "escalat*", "page the", "paged", "on call", "pagerduty",
              "opsgenie", "leadership", "let them know", "customers know", "tell the"],
            &["team", "update*", "message"],
        ),
        RootCause => (
            &["root cause", "rca", "postmortem", "post mortem", "post-mortem", "blameless", "five whys", "5 whys",
              "follow up action*", "action item*", "prevent recurrence", "never happens again", "add an alert",
              "add alert*", "regression test", "add a test", "long term fix", "permanent fix", "lesson*",
              "underlying cause", "the real cause", "turned out", "the cause was", "caused by"],
            &["cause", "why", "prevent*", "fix"],
        ),
        Consistency => (
            &["saga*", "outbox", "transactional outbox", "two phase commit", "2pc", "eventual consistency",
              "eventually consistent", "strong consistency", "compensat*", "idempotent consumer*", "idempoten*",
              "dedup*", "exactly once", "at least once", "inbox", "change data capture", "cdc", "debezium", "event sourcing",
              "distributed transaction*", "read your writes", "version*", "optimistic lock*", "ordering", "sequence number*"],
            &["consisten*", "transaction*", "sync", "duplicate*"],
        ),
        Resilience => (
            &["timeout*", "retry", "retries", "exponential backoff", "backoff", "jitter", "circuit breaker*", "bulkhead*",
              "fallback*", "graceful degradation", "degrade*", "rate limit*", "load shedding", "backpressure",
              "hystrix", "resilience4j", "polly", "retry budget", "deadline*", "cached response", "stale data",
              "health check*", "failover", "dead letter"],
            &["resilien*", "fail*", "recover*", "protect*"],
        ),
        Observability => (
            &["distributed tracing", "tracing", "trace id*", "traceparent", "opentelemetry", "otel", "jaeger", "zipkin",
              "tempo", "span*", "correlation id*", "request id*", "structured log*", "centralized log*", "elk", "loki",
              "prometheus", "grafana", "datadog", "metric*", "red metrics", "use method", "golden signals", "slo*", "sli*",
              "alert*", "dashboard*", "p99", "histogram*", "exemplar*"],
            &["observab*", "monitor*", "logs", "logging", "visibility"],
        ),
        Experience => (
            &["in my last", "at my previous", "at my current", "in production we", "we ran", "we had an incident",
              "in our system", "when we", "we learned", "i've seen", "i have seen", "i saw", "in my experience",
              "from experience", "we once", "last year we", "we migrated", "we moved", "we used", "we built",
              "on my team", "our team", "bit us", "burned us", "hurt us", "we got paged"],
            &["we", "our", "experience", "production"],
        ),
    }
}

/// The compiled cues of `d` (built once).
pub fn cues(d: Dimension) -> &'static Cues {
    static ALL: OnceLock<Vec<Cues>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        Dimension::ALL
            .iter()
            .map(|d| {
                let (strong, weak) = raw(*d);
                Cues {
                    strong: strong.iter().filter_map(|s| Pattern::new(s)).collect(),
                    weak: weak.iter().filter_map(|s| Pattern::new(s)).collect(),
                }
            })
            .collect()
    });
    let i = Dimension::ALL.iter().position(|x| *x == d).expect("every dimension is in ALL");
    &all[i]
}

/// Names of tools and technologies, for the specificity signal.
pub const TOOLS: &[&str] = &[
    "redis", "memcached", "kafka", "rabbitmq", "sqs", "sns", "kinesis", "pulsar", "nats", "postgres", "postgresql",
    "mysql", "mariadb", "oracle", "sqlite", "mongodb", "cassandra", "dynamodb", "bigtable", "spanner", "cockroachdb",
    "elasticsearch", "opensearch", "clickhouse", "snowflake", "bigquery", "s3", "gcs", "hdfs", "nginx", "envoy",
    "haproxy", "istio", "linkerd", "kubernetes", "k8s", "docker", "terraform", "ansible", "helm", "argocd", "jenkins",
    "github actions", "prometheus", "grafana", "datadog", "new relic", "sentry", "jaeger", "zipkin", "opentelemetry",
    "pagerduty", "opsgenie", "splunk", "kibana", "loki", "spring", "spring boot", "hibernate", "hikari", "hikaricp",
    "tomcat", "netty", "rails", "sidekiq", "puma", "django", "celery", "gunicorn", "uwsgi", "fastapi", "flask",
    "express", "nestjs", "node", "bullmq", "grpc", "graphql", "protobuf", "avro", "debezium", "consul", "etcd",
    "zookeeper", "eureka", "resilience4j", "hystrix", "cloudflare", "cloudfront", "akamai", "lambda", "ec2", "ecs",
    "eks", "gke", "rds", "aurora", "pgbouncer", "vault", "keycloak", "auth0", "okta", "stripe", "jira", "git",
    "pg_stat_activity", "pg_stat_statements", "explain analyze", "jmeter", "k6", "locust", "pytest", "junit", "jest",
    "rspec", "golang", "goroutine", "java", "python", "typescript", "javascript", "ruby", "rust", "c++",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::text::Text;

    #[test]
    fn every_dimension_has_cues() {
        for d in Dimension::ALL {
            let c = cues(*d);
            assert!(c.strong.len() >= 10, "{d} has {} strong cues", c.strong.len());
            assert!(!c.weak.is_empty(), "{d}");
        }
    }

    #[test]
    fn complexity_cues_fire_on_big_o() {
        let t = Text::new("This is O(n log n) time and O(1) extra space.");
        let hits = cues(Dimension::Complexity).strong.iter().filter(|p| p.is_match(&t)).count();
        assert!(hits >= 3, "{hits}");
    }
}
