//! The ACL file (`--acl PATH`, `COURIER_ACL`, else `<state dir>/acl.toml`
//! when it exists): who may message whom, read once at start. The rules and
//! their meaning are core's ([`courier_core::acl`]); this reads the TOML and
//! names the file and line of anything wrong in it.
//!
//! ```toml
//! default = "allow"          # what no rule matches; "deny" makes an allow-list
//!
//! [[rule]]
//! name = "lead-may-page-ops" # optional; else "rule N (line L)"
//! action = "allow"
//! from = ["lead"]
//! to = ["#ops-*"]
//!
//! [[rule]]
//! name = "ops-is-closed"
//! action = "deny"
//! to = ["#ops-*"]            # `from` left out: every sender
//!
//! [[rule]]
//! name = "ops-members-only"  # who may join a channel: `join`, not `to`
//! action = "deny"
//! join = ["#ops-*"]
//! ```

use std::path::{Path, PathBuf};

use courier_core::Acl;
use courier_core::acl::{Action, Rule};
use serde::Deserialize;

/// The file name looked for in the state directory.
pub const ACL_FILE: &str = "acl.toml";

#[derive(Debug, thiserror::Error)]
pub enum AclFileError {
    #[error("cannot read the ACL file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ACL file {path}, line {line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default: Option<Action>,
    #[serde(default, rename = "rule")]
    rules: Vec<toml::Spanned<Rule>>,
}

/// The rules in force and where they came from.
#[derive(Debug, Clone, Default)]
pub struct LoadedAcl {
    pub acl: Acl,
    /// `None`: no file, everyone may message everyone.
    pub path: Option<PathBuf>,
}

/// The ACL to use: the file given (it must exist), else `acl.toml` in
/// `state_dir` if there is one, else none (allow all).
pub fn resolve(given: Option<&Path>, state_dir: &Path) -> Result<LoadedAcl, AclFileError> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => {
            let default = state_dir.join(ACL_FILE);
            if !default.exists() {
                return Ok(LoadedAcl::default());
            }
            default
        }
    };
    let acl = load(&path)?;
    Ok(LoadedAcl {
        acl,
        path: Some(path),
    })
}

/// Judges `agent` joining `#channel` by `acl` (core's [`Acl::may_join`]):
/// refused is `acl_denied`, like a refused send. Every way of joining —
/// the API (so `courier join` and MCP's `join_channel`) and a spawn's
/// `channels` — comes through here.
pub fn judge_join(acl: &Acl, agent: &str, channel: &str) -> Result<(), courier_core::CoreError> {
    match acl.may_join(agent, channel) {
        (Action::Allow, _) => Ok(()),
        (Action::Deny, rule) => Err(courier_core::CoreError::AclDenied {
            from: agent.to_string(),
            to: format!("#{channel}"),
            rule: rule.to_string(),
            refused: vec![courier_core::acl::Refusal {
                agent: agent.to_string(),
                rule: rule.to_string(),
            }],
        }),
    }
}

/// Reads and checks one ACL file.
pub fn load(path: &Path) -> Result<Acl, AclFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| AclFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|(line, message)| AclFileError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    })
}

/// The rules of `text`, or the line and what is wrong there.
pub fn parse(text: &str) -> Result<Acl, (usize, String)> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = match e.span() {
            Some(span) if span.start > 0 => line_of(text, span.start),
            // A rule that is wrong as a whole (an empty list) is reported
            // at the start of the document: find the rule.
            _ => failing_rule_line(text).unwrap_or(1),
        };
        (line, e.message().trim().to_string())
    })?;
    let rules = file
        .rules
        .into_iter()
        .enumerate()
        .map(|(index, spanned)| {
            let line = line_of(text, spanned.span().start);
            let rule = spanned.into_inner();
            let name = rule
                .name
                .clone()
                .unwrap_or_else(|| format!("rule {} (line {line})", index + 1));
            (name, rule)
        })
        .collect();
    Ok(Acl::new(rules, file.default.unwrap_or(Action::Allow)))
}

/// The line of the first `[[rule]]` that does not read as a rule.
fn failing_rule_line(text: &str) -> Option<usize> {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(default)]
        rule: Vec<toml::Spanned<toml::Table>>,
    }
    let loose: Loose = toml::from_str(text).ok()?;
    loose.rule.into_iter().find_map(|table| {
        let start = table.span().start;
        Rule::deserialize(toml::Value::Table(table.into_inner()))
            .err()
            .map(|_| line_of(text, start))
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use courier_core::Recipient;

    #[test]
    fn join_rules_read_and_their_mistakes_are_named() {
        let acl = parse(
            "[[rule]]\nname = \"ops-in\"\naction = \"allow\"\nfrom = [\"ops-*\"]\njoin = [\"#ops-*\"]\n\
             [[rule]]\naction = \"deny\"\njoin = [\"#ops-*\"]\n",
        )
        .unwrap();
        assert_eq!(acl.may_join("ops-1", "ops-eu"), (Action::Allow, "ops-in"));
        assert_eq!(acl.may_join("dev", "ops-eu").0, Action::Deny);
        assert!(judge_join(&acl, "dev", "ops-eu").is_err());
        assert!(judge_join(&acl, "dev", "general").is_ok());
        for bad in [
            "[[rule]]\naction = \"deny\"\njoin = [\"ops\"]\n",
            "[[rule]]\naction = \"deny\"\njoin = []\n",
            "[[rule]]\naction = \"deny\"\njoin = [\"#a\"]\nto = [\"b\"]\n",
        ] {
            let (line, message) = parse(bad).unwrap_err();
            assert!((1..=3).contains(&line), "{bad}: line {line}: {message}");
        }
    }

    #[test]
    fn the_documented_example_reads_and_means_what_it_says() {
        let text = "default = \"allow\"\n\n[[rule]]\nname = \"lead-may-page-ops\"\naction = \"allow\"\nfrom = [\"lead\"]\nto = [\"#ops-*\"]\n\n[[rule]]\naction = \"deny\"\nto = [\"#ops-*\"]\n";
        let acl = parse(text).unwrap();
        assert_eq!(acl.rule_count(), 2);
        let ops = Recipient::Channel("ops-eu".into());
        assert_eq!(
            acl.decide("lead", &ops, Some("x")),
            (Action::Allow, "lead-may-page-ops")
        );
        assert_eq!(
            acl.decide("dev", &ops, Some("x")),
            (Action::Deny, "rule 2 (line 9)")
        );
        assert!(parse("").unwrap().is_allow_all());
    }

    #[test]
    fn the_readme_example_reads() {
        let readme = include_str!("../../../../README.md");
        let section = readme
            .split("## Who may message whom")
            .nth(1)
            .expect("README has the ACL section");
        let example = section
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a toml block");
        let acl = parse(example).unwrap();
        assert_eq!(acl.rule_count(), 3);
        let bot = acl.decide("bot-1", &Recipient::Agent("alice".into()), Some("alice"));
        assert_eq!(bot, (Action::Deny, "bots-do-not-broadcast"));
        let team = Recipient::Channel("team".into());
        assert_eq!(acl.decide("bot-1", &team, Some("bob")).0, Action::Allow);
        assert_eq!(
            acl.decide("bot-1", &Recipient::Broadcast, Some("bob")).0,
            Action::Deny
        );
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases = [
            (
                "default = \"allow\"\n[[rule]]\naction = \"dney\"\n",
                3,
                "dney",
            ),
            ("[[rule]]\naction = \"deny\"\nfrom = [\"a b\"]\n", 3, "a b"),
            (
                "[[rule]]\naction = \"deny\"\n\n[[rule]]\naction = \"deny\"\nto = []\n",
                4,
                "empty",
            ),
            ("[[rule]]\naction = \"deny\"\nwho = 1\n", 3, "who"),
            ("[[rule]\naction = \"deny\"\n", 1, ""),
            ("[[rule]]\naction = \"deny\"\nfrom = \"bot\"\n", 3, ""),
            ("default = \"maybe\"\n", 1, "maybe"),
        ];
        for (text, line, needle) in cases {
            let (got, message) = parse(text).unwrap_err();
            assert_eq!(got, line, "{text:?}: {message}");
            assert!(message.contains(needle), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_missing_default_file_is_no_rules_and_a_missing_given_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let none = resolve(None, dir.path()).unwrap();
        assert!(none.acl.is_allow_all() && none.path.is_none());
        let missing = dir.path().join("nope.toml");
        let err = resolve(Some(&missing), dir.path()).unwrap_err();
        assert!(err.to_string().contains("nope.toml"), "{err}");
        std::fs::write(dir.path().join(ACL_FILE), "[[rule]]\naction = \"deny\"\n").unwrap();
        let found = resolve(None, dir.path()).unwrap();
        assert_eq!(found.path, Some(dir.path().join(ACL_FILE)));
        assert_eq!(found.acl.rule_count(), 1);
        std::fs::write(dir.path().join(ACL_FILE), "[[rule]]\naction = 3\n").unwrap();
        let err = resolve(None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("acl.toml, line 2"), "{err}");
    }
}
