//! The fixed vocabulary: interview kinds, the rubric dimensions of each kind, levels, regional
//! tracks and stacks. Every id here is part of the on-disk format of the question bank, the
//! session store and the eval set, so ids never change once published.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An id that did not name a known member of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{got}` (expected one of: {expected})")]
pub struct UnknownId {
    pub what: &'static str,
    pub got: String,
    pub expected: String,
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $variant:ident => $id:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( #[serde(rename = $id)] $variant ),+
        }

        impl $name {
            /// Every member, in canonical order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable id used in files and on the command line.
            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.id())
            }
        }

        impl FromStr for $name {
            type Err = UnknownId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|m| m.id().eq_ignore_ascii_case(wanted))
                    .ok_or_else(|| UnknownId {
                        what: $what,
                        got: s.to_string(),
                        expected: $name::ALL.iter().map(|m| m.id()).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}

vocabulary! {
    /// The kind of interview question; each kind has its own rubric dimensions.
    Kind, "kind" {
        Algorithm => "algorithm",
        SystemDesign => "system_design",
        ApiDesign => "api_design",
        Behavioral => "behavioral",
        Production => "production",
        Microservices => "microservices",
    }
}

vocabulary! {
    /// Seniority the question is asked at. Ordered: junior < mid < senior < staff.
    Level, "level" {
        Junior => "junior",
        Mid => "mid",
        Senior => "senior",
        Staff => "staff",
    }
}

vocabulary! {
    /// A regional track: how interviews are run in that market.
    Region, "region" {
        Us => "us",
        Japan => "japan",
        Korea => "korea",
        Brazil => "brazil",
        Vietnam => "vietnam",
        China => "china",
    }
}

vocabulary! {
    /// A backend stack a question is specific to.
    Stack, "stack" {
        Python => "python",
        Node => "node",
        Go => "go",
        JavaSpring => "java-spring",
        Rails => "rails",
    }
}

vocabulary! {
    /// A rubric dimension. Ids are unique across kinds; `tradeoffs` is shared by three kinds.
    Dimension, "dimension" {
        // algorithm
        Clarify => "clarify",
        Approach => "approach",
        Complexity => "complexity",
        EdgeCases => "edge_cases",
        Correctness => "correctness",
        Testing => "testing",
        // system design
        Requirements => "requirements",
        Estimation => "estimation",
        Architecture => "architecture",
        DataModel => "data_model",
        DeepDive => "deep_dive",
        Tradeoffs => "tradeoffs",
        FailureModes => "failure_modes",
        // api design
        HttpSemantics => "http_semantics",
        Security => "security",
        Reliability => "reliability",
        Evolution => "evolution",
        ErrorHandling => "error_handling",
        // behavioral
        Situation => "situation",
        Task => "task",
        Action => "action",
        Result => "result",
        Specificity => "specificity",
        Ownership => "ownership",
        Reflection => "reflection",
        // production
        TriageOrder => "triage_order",
        Signals => "signals",
        Hypotheses => "hypotheses",
        Mitigation => "mitigation",
        Communication => "communication",
        RootCause => "root_cause",
        // microservices
        Consistency => "consistency",
        Resilience => "resilience",
        Observability => "observability",
        Experience => "experience",
    }
}

impl Kind {
    /// The rubric dimensions of this kind, in the order an interviewer meets them.
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension::*;
        match self {
            Kind::Algorithm => &[
                Clarify,
                Approach,
                Complexity,
                EdgeCases,
                Correctness,
                Testing,
            ],
            Kind::SystemDesign => &[
                Requirements,
                Estimation,
                Architecture,
                DataModel,
                DeepDive,
                Tradeoffs,
                FailureModes,
            ],
            Kind::ApiDesign => &[
                HttpSemantics,
                Security,
                Reliability,
                Evolution,
                ErrorHandling,
                Tradeoffs,
            ],
            Kind::Behavioral => &[
                Situation,
                Task,
                Action,
                Result,
                Specificity,
                Ownership,
                Reflection,
            ],
            Kind::Production => &[
                TriageOrder,
                Signals,
                Hypotheses,
                Mitigation,
                Communication,
                RootCause,
            ],
            Kind::Microservices => &[
                Consistency,
                Resilience,
                Observability,
                Tradeoffs,
                Experience,
            ],
        }
    }

    /// Whether `dim` belongs to this kind's rubric.
    pub fn has_dimension(self, dim: Dimension) -> bool {
        self.dimensions().contains(&dim)
    }

    /// A human title, e.g. "System design".
    pub fn title(self) -> &'static str {
        match self {
            Kind::Algorithm => "Algorithms & coding",
            Kind::SystemDesign => "System design",
            Kind::ApiDesign => "API design",
            Kind::Behavioral => "Behavioral (STAR)",
            Kind::Production => "Production incident",
            Kind::Microservices => "Microservices",
        }
    }

    /// Default time to answer, in seconds, before follow-ups.
    pub fn default_time_limit_s(self) -> u32 {
        match self {
            Kind::Algorithm => 25 * 60,
            Kind::SystemDesign => 35 * 60,
            Kind::ApiDesign => 15 * 60,
            Kind::Behavioral => 5 * 60,
            Kind::Production => 10 * 60,
            Kind::Microservices => 12 * 60,
        }
    }
}

impl Dimension {
    /// A short human label, e.g. "Edge cases".
    pub fn label(self) -> &'static str {
        use Dimension::*;
        match self {
            Clarify => "Clarifying the problem",
            Approach => "Approach",
            Complexity => "Complexity",
            EdgeCases => "Edge cases",
            Correctness => "Correctness",
            Testing => "Testing",
            Requirements => "Requirements",
            Estimation => "Estimation",
            Architecture => "Architecture",
            DataModel => "Data model",
            DeepDive => "Deep dive",
            Tradeoffs => "Trade-offs",
            FailureModes => "Failure modes",
            HttpSemantics => "HTTP semantics",
            Security => "Security",
            Reliability => "Reliability",
            Evolution => "Evolution",
            ErrorHandling => "Error handling",
            Situation => "Situation",
            Task => "Task",
            Action => "Action",
            Result => "Result",
            Specificity => "Specificity",
            Ownership => "Ownership",
            Reflection => "Reflection",
            TriageOrder => "Triage order",
            Signals => "Signals",
            Hypotheses => "Hypotheses",
            Mitigation => "Mitigation",
            Communication => "Communication",
            RootCause => "Root cause",
            Consistency => "Consistency",
            Resilience => "Resilience",
            Observability => "Observability",
            Experience => "Experience",
        }
    }

    /// What an answer must show for this dimension to count as covered. This text is the
    /// labelling guide of the eval set and the yes/no check the model is asked.
    pub fn criterion(self) -> &'static str {
        use Dimension::*;
        match self {
            Clarify => {
                "asks or states assumptions about the input: size, ranges, duplicates, sortedness, what to return"
            }
            Approach => {
                "names a concrete algorithm or data structure and explains why it solves the problem"
            }
            Complexity => {
                "states the time and space complexity of the proposed solution (big-O) and justifies it"
            }
            EdgeCases => {
                "names specific edge cases such as empty input, one element, duplicates, negatives, overflow or very large input"
            }
            Correctness => {
                "argues why the solution is correct: an invariant, a walk-through on an example, or a proof sketch"
            }
            Testing => {
                "describes how to test it: concrete test cases, including edge cases, or a testing strategy"
            }
            Requirements => {
                "pins down functional and non-functional requirements (features, scale, latency, availability, read/write ratio) before designing"
            }
            Estimation => {
                "does back-of-the-envelope numbers: requests per second, storage, bandwidth or memory, with arithmetic"
            }
            Architecture => {
                "lays out the main components (clients, API, services, storage, cache, queue) and how a request flows through them"
            }
            DataModel => {
                "defines the data model: tables or documents, keys, indexes, partitioning or the choice of store"
            }
            DeepDive => {
                "goes deep on the hardest component (e.g. id generation, fan-out, hot keys, sharding scheme) with specifics"
            }
            Tradeoffs => {
                "names alternatives and explains what each choice costs and gains (consistency vs latency, cost vs complexity)"
            }
            FailureModes => {
                "discusses what fails and how the system copes: replicas, failover, retries, backpressure, overload, data loss"
            }
            HttpSemantics => {
                "uses methods, status codes, headers and resource naming correctly (safe/idempotent methods, 201/204/409/429, caching headers)"
            }
            Security => {
                "covers authentication, authorisation, input validation, secrets, rate limiting or abuse prevention"
            }
            Reliability => {
                "covers idempotency, retries with backoff, timeouts, pagination, concurrency control or delivery guarantees"
            }
            Evolution => {
                "explains how the API changes over time without breaking clients: versioning, deprecation, compatibility"
            }
            ErrorHandling => {
                "defines error responses: consistent error body, codes, messages, and how clients should react"
            }
            Situation => "sets the scene: where, when, the team and the context, briefly",
            Task => "states the candidate's own goal or responsibility in that situation",
            Action => "describes the specific steps the candidate personally took",
            Result => {
                "states the outcome, ideally measured (numbers, time saved, incidents avoided)"
            }
            Specificity => {
                "gives concrete details: names of systems, numbers, dates, tools — not generic claims"
            }
            Ownership => {
                "shows the candidate owning decisions and consequences (\"I\" not only \"we\"), including mistakes"
            }
            Reflection => {
                "says what they learned or would do differently, and how it changed their practice"
            }
            TriageOrder => {
                "works in a sensible order: impact and scope first, recent changes, then narrowing down — mitigation before deep investigation"
            }
            Signals => {
                "names the concrete signals to look at: metrics, dashboards, logs, traces, queries, with specifics"
            }
            Hypotheses => {
                "forms explicit, testable hypotheses about the cause and says how to confirm or rule out each"
            }
            Mitigation => {
                "proposes a way to stop the bleeding quickly: rollback, feature flag, failover, scaling, shedding load"
            }
            Communication => {
                "keeps stakeholders informed: incident channel, status page, roles, updates, escalation"
            }
            RootCause => {
                "finds or proposes the root cause and a lasting fix or follow-up (postmortem, tests, alerts)"
            }
            Consistency => {
                "addresses data consistency across services: sagas, outbox, idempotent consumers, eventual consistency, transactions"
            }
            Resilience => {
                "covers timeouts, retries, circuit breakers, bulkheads, fallbacks or graceful degradation between services"
            }
            Observability => {
                "covers distributed tracing, correlation ids, metrics, logs and alerting across services"
            }
            Experience => {
                "grounds the answer in real experience: a system they ran, what happened, what they would change"
            }
        }
    }
}

impl Level {
    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Level::Junior => "Junior",
            Level::Mid => "Mid-level",
            Level::Senior => "Senior",
            Level::Staff => "Staff",
        }
    }
}

impl Region {
    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Region::Us => "United States",
            Region::Japan => "Japan",
            Region::Korea => "Korea",
            Region::Brazil => "Brazil",
            Region::Vietnam => "Vietnam",
            Region::China => "China",
        }
    }
}

impl Stack {
    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Stack::Python => "Python",
            Stack::Node => "TypeScript / Node",
            Stack::Go => "Go",
            Stack::JavaSpring => "Java / Spring",
            Stack::Rails => "Ruby on Rails",
        }
    }
}

/// Every dimension id that exists, across all kinds (sorted, deduplicated).
pub fn all_dimensions() -> &'static [Dimension] {
    Dimension::ALL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.id().parse::<Kind>().unwrap(), *k);
        }
        for d in Dimension::ALL {
            assert_eq!(d.id().parse::<Dimension>().unwrap(), *d);
            let json = serde_json::to_string(d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.id()));
        }
        assert_eq!("java-spring".parse::<Stack>().unwrap(), Stack::JavaSpring);
    }

    #[test]
    fn every_dimension_belongs_to_a_kind() {
        for d in Dimension::ALL {
            assert!(
                Kind::ALL.iter().any(|k| k.has_dimension(*d)),
                "{d} is orphaned"
            );
        }
    }

    #[test]
    fn rubric_sizes_match_the_published_vocabulary() {
        let sizes: Vec<usize> = Kind::ALL.iter().map(|k| k.dimensions().len()).collect();
        assert_eq!(sizes, vec![6, 7, 6, 7, 6, 5]);
        assert!(Kind::Microservices.has_dimension(Dimension::Tradeoffs));
        assert!(!Kind::Algorithm.has_dimension(Dimension::Tradeoffs));
    }

    #[test]
    fn unknown_id_lists_the_vocabulary() {
        let err = "sys_design".parse::<Kind>().unwrap_err();
        assert!(err.to_string().contains("system_design"), "{err}");
    }
}
