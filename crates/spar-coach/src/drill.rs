//! Production-incident drills: the candidate says what they would check, the interviewer
//! answers with what they find there (from the question's scenario script), then asks what next.

use spar_core::analysis::text::{Pattern, Text};
use spar_core::question::Scenario;

/// The interviewer's reply to one drill move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillReply {
    pub text: String,
    /// Indices of the scenario steps this move revealed.
    pub revealed: Vec<usize>,
}

/// Steps whose triggers appear in `message`, in script order.
pub fn matched_steps(scenario: &Scenario, message: &str) -> Vec<usize> {
    let text = Text::new(message);
    scenario
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.triggers
                .iter()
                .filter_map(|t| Pattern::new(t))
                .any(|p| p.is_match(&text))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Answers a drill move. `revealed` holds steps already shown (they are not repeated verbatim).
pub fn reply(scenario: &Scenario, message: &str, revealed: &[usize]) -> DrillReply {
    let hits = matched_steps(scenario, message);
    let fresh: Vec<usize> = hits
        .iter()
        .copied()
        .filter(|i| !revealed.contains(i))
        .take(2)
        .collect();
    let mut text = String::new();
    for i in &fresh {
        let s = &scenario.steps[*i];
        text.push_str(&format!("You check {}: {}\n", s.check, s.finding));
    }
    if fresh.is_empty() {
        if hits.is_empty() {
            text.push_str("You look there: nothing stands out. ");
        } else {
            text.push_str("Nothing new there since you last looked. ");
        }
    }
    text.push_str("What do you do next?");
    DrillReply {
        text,
        revealed: fresh,
    }
}

/// The end of a drill: what was really going on.
pub fn debrief(scenario: &Scenario) -> String {
    format!("What was going on: {}", scenario.root_cause)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spar_core::question::ScenarioStep;

    fn scenario() -> Scenario {
        Scenario {
            opening: "p99 is 5 s".into(),
            root_cause: "a lock".into(),
            steps: vec![
                ScenarioStep {
                    check: "dashboards".into(),
                    triggers: vec!["dashboard*".into(), "grafana".into()],
                    finding: "all endpoints".into(),
                    priority: 1,
                },
                ScenarioStep {
                    check: "locks".into(),
                    triggers: vec!["pg_stat_activity".into(), "lock*".into()],
                    finding: "19 waiting".into(),
                    priority: 3,
                },
            ],
        }
    }

    #[test]
    fn moves_reveal_findings_once() {
        let s = scenario();
        let r = reply(&s, "First I open the Grafana dashboards", &[]);
        assert_eq!(r.revealed, vec![0]);
        assert!(r.text.contains("all endpoints") && r.text.ends_with("What do you do next?"));
        let again = reply(&s, "dashboards again", &[0]);
        assert!(again.revealed.is_empty() && again.text.contains("Nothing new"));
        let none = reply(&s, "I would pray", &[0]);
        assert!(none.text.contains("nothing stands out"));
        assert_eq!(
            reply(&s, "check pg_stat_activity for locks", &[0]).revealed,
            vec![1]
        );
    }
}
