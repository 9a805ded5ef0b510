//! Who may message whom: allow and deny rules by sender and recipient.
//!
//! A rule has an `action` (`allow` or `deny`), `from` (sender-name globs;
//! absent: every sender) and `to` (absent: every recipient), where each `to`
//! entry is one of:
//! - `#glob`: the message is addressed to a channel whose name matches;
//! - `*`: the message is a broadcast;
//! - `glob`: the agent that would receive the delivery matches, whether the
//!   message is direct, to a channel or a broadcast.
//!
//! Globs use `*` for any run of characters and match names **without regard
//! to ASCII case** (`bot-*` matches `Bot-1`): names are case-sensitive
//! identities, but a deny rule must not be bypassed by an agent named in
//! another case. Each (sender, address,
//! recipient) is judged by the **first rule that matches**, else by the
//! default (`allow` unless the file says otherwise). A direct message is one
//! judgement; a channel or broadcast message is judged per recipient and
//! delivered to the allowed ones only, so a send is refused as a whole only
//! when every recipient is refused (or, with nobody to receive it, when its
//! address alone is refused).
//!
//! **Joining a channel** has rules of its own: a rule with `join` (a list
//! of `#glob` channel patterns) instead of `to` judges membership, with
//! `from` the joining agents' globs (absent: every agent). Joins are judged
//! by the join rules only, first match wins ([`Acl::may_join`]); a join no
//! join rule matches is allowed, whatever the file's `default` (so a file
//! written before join rules existed keeps its meaning). Message rules
//! never decide a join, and join rules never decide a message: being in a
//! channel and being allowed its messages are separate, and the messages a
//! member receives are still judged per recipient. Every join is judged
//! alike: `courier join`, MCP's `join_channel`,
//! `POST /v1/channels/{c}/members` (also by the owner on an agent's
//! behalf) and a spawn's `channels`; a refused one is 403 `acl_denied`.
//! E.g. `ops-*` channels for ops agents only:
//! `{action = "allow", from = ["ops-*"], join = ["#ops-*"]}` then
//! `{action = "deny", join = ["#ops-*"]}`.

use serde::{Deserialize, Serialize};

use crate::recipient::Recipient;

/// What a rule does with what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }
}

/// A name with `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    fn parse(text: &str, what: &str) -> Result<Glob, String> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*'));
        if valid {
            Ok(Glob(text.to_string()))
        } else {
            Err(format!(
                "invalid {what} pattern {text:?}: use letters, digits, '-', '_', '.' and '*'"
            ))
        }
    }

    /// Whether `name` matches (`*`: any run of characters, also none).
    pub fn matches(&self, name: &str) -> bool {
        let (p, n) = (self.0.as_bytes(), name.as_bytes());
        let (mut pi, mut ni) = (0, 0);
        // Where the last `*` was, and the name position it stands for.
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() && p[pi] == b'*' {
                star = Some((pi, ni));
                pi += 1;
            } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&n[ni]) {
                pi += 1;
                ni += 1;
            } else if let Some((sp, sn)) = star {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|c| *c == b'*')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A `from` entry: a sender-name glob.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SenderPattern(pub Glob);

impl TryFrom<String> for SenderPattern {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Glob::parse(&text, "sender").map(SenderPattern)
    }
}

/// A `to` entry: a channel glob (`#ops-*`), broadcast (`*`) or an agent glob.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum TargetPattern {
    Channel(Glob),
    Broadcast,
    Agent(Glob),
}

impl TryFrom<String> for TargetPattern {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text == "*" {
            Ok(TargetPattern::Broadcast)
        } else if let Some(channel) = text.strip_prefix('#') {
            Glob::parse(channel, "channel").map(TargetPattern::Channel)
        } else {
            Glob::parse(&text, "recipient").map(TargetPattern::Agent)
        }
    }
}

impl TargetPattern {
    fn matches(&self, to: &Recipient, agent: Option<&str>) -> bool {
        match (self, to) {
            (TargetPattern::Broadcast, Recipient::Broadcast) => true,
            (TargetPattern::Channel(glob), Recipient::Channel(name)) => glob.matches(name),
            (TargetPattern::Agent(glob), _) => agent.is_some_and(|a| glob.matches(a)),
            _ => false,
        }
    }
}

/// One rule as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct Rule {
    pub name: Option<String>,
    pub action: Action,
    /// `None`: every sender.
    pub from: Option<Vec<SenderPattern>>,
    /// `None`: every recipient.
    pub to: Option<Vec<TargetPattern>>,
    /// Channel globs: a join rule (judges membership, never messages).
    pub join: Option<Vec<Glob>>,
}

/// A `join` entry: `#glob`, a channel pattern.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct JoinPattern(pub Glob);

impl TryFrom<String> for JoinPattern {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.strip_prefix('#') {
            Some(channel) => Glob::parse(channel, "channel").map(JoinPattern),
            None => Err(format!(
                "join pattern {text:?} must be a channel, starting with '#'"
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    name: Option<String>,
    action: Action,
    #[serde(default)]
    from: Option<Vec<SenderPattern>>,
    #[serde(default)]
    to: Option<Vec<TargetPattern>>,
    #[serde(default)]
    join: Option<Vec<JoinPattern>>,
}

impl TryFrom<RawRule> for Rule {
    type Error = String;
    fn try_from(raw: RawRule) -> Result<Self, String> {
        if raw.from.as_ref().is_some_and(Vec::is_empty) {
            return Err("`from` is empty: leave it out to match every sender".into());
        }
        if raw.join.is_some() && raw.to.is_some() {
            return Err(
                "a rule has `to` (who may message whom) or `join` (who may join a channel), not both"
                    .into(),
            );
        }
        if raw.join.as_ref().is_some_and(Vec::is_empty) {
            return Err("`join` is empty: give channel patterns such as \"#ops-*\"".into());
        }
        if raw.to.as_ref().is_some_and(Vec::is_empty) {
            return Err("`to` is empty: leave it out to match every recipient".into());
        }
        if raw
            .name
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.len() > 128 || n.chars().any(char::is_control))
        {
            return Err("`name` must be 1-128 characters without control characters".into());
        }
        Ok(Rule {
            name: raw.name,
            action: raw.action,
            from: raw.from,
            to: raw.to,
            join: raw
                .join
                .map(|patterns| patterns.into_iter().map(|p| p.0).collect()),
        })
    }
}

impl Rule {
    fn matches(&self, from: &str, to: &Recipient, agent: Option<&str>) -> bool {
        if self.join.is_some() {
            return false;
        }
        let sender = self
            .from
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.0.matches(from)));
        let target = self
            .to
            .as_ref()
            .is_none_or(|ts| ts.iter().any(|t| t.matches(to, agent)));
        sender && target
    }
}

/// A recipient a send did not reach, and the rule that refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Refusal {
    pub agent: String,
    pub rule: String,
}

/// The rule name of a decision made by the default.
pub const DEFAULT_RULE: &str = "default";

/// What the rules say about one send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclCheck {
    /// Recipients that get a delivery, in the order given.
    pub allowed: Vec<String>,
    /// Recipients refused, with the rule that refused each.
    pub refused: Vec<Refusal>,
    /// The send is refused as a whole, by this rule: nothing is stored.
    pub denied: Option<String>,
}

/// The rules, in order, each with the name errors and events give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    rules: Vec<(String, Rule)>,
    default: Action,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::allow_all()
    }
}

impl Acl {
    /// No rules: everyone may message everyone (no file).
    pub fn allow_all() -> Acl {
        Acl {
            rules: Vec::new(),
            default: Action::Allow,
        }
    }

    /// `rules` as `(name, rule)`, first match wins; `default` decides the rest.
    pub fn new(rules: Vec<(String, Rule)>, default: Action) -> Acl {
        Acl { rules, default }
    }

    pub fn is_allow_all(&self) -> bool {
        self.rules.is_empty() && self.default == Action::Allow
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn default_action(&self) -> Action {
        self.default
    }

    /// The action and rule name for `from` sending to `to`, delivered to
    /// `agent` (`None`: the address alone, when nobody would receive it).
    pub fn decide(&self, from: &str, to: &Recipient, agent: Option<&str>) -> (Action, &str) {
        self.rules
            .iter()
            .find(|(_, rule)| rule.matches(from, to, agent))
            .map(|(name, rule)| (rule.action, name.as_str()))
            .unwrap_or((self.default, DEFAULT_RULE))
    }

    /// Whether `agent` may join `#channel` (see the module docs): the
    /// action and the rule that decided it.
    pub fn may_join(&self, agent: &str, channel: &str) -> (Action, &str) {
        self.rules
            .iter()
            .find(|(_, rule)| {
                let joins = rule
                    .join
                    .as_ref()
                    .is_some_and(|globs| globs.iter().any(|g| g.matches(channel)));
                let joiner = rule
                    .from
                    .as_ref()
                    .is_none_or(|ps| ps.iter().any(|p| p.0.matches(agent)));
                joins && joiner
            })
            .map(|(name, rule)| (rule.action, name.as_str()))
            .unwrap_or((Action::Allow, DEFAULT_RULE))
    }

    /// Judges a send from `from` to `to` whose fan-out is `recipients`.
    pub fn check(&self, from: &str, to: &Recipient, recipients: Vec<String>) -> AclCheck {
        if self.is_allow_all() {
            return AclCheck {
                allowed: recipients,
                ..AclCheck::default()
            };
        }
        if recipients.is_empty() {
            let (action, rule) = self.decide(from, to, None);
            return AclCheck {
                denied: (action == Action::Deny).then(|| rule.to_string()),
                ..AclCheck::default()
            };
        }
        let mut check = AclCheck::default();
        for agent in recipients {
            match self.decide(from, to, Some(&agent)) {
                (Action::Allow, _) => check.allowed.push(agent),
                (Action::Deny, rule) => check.refused.push(Refusal {
                    rule: rule.to_string(),
                    agent,
                }),
            }
        }
        if check.allowed.is_empty() {
            check.denied = check.refused.first().map(|r| r.rule.clone());
        }
        check
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::parse(p, "test").unwrap()
    }

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("ops-*").matches("ops-eu"));
        assert!(glob("ops-*").matches("ops-"));
        assert!(!glob("ops-*").matches("ops"));
        assert!(glob("*-bot").matches("a-b-bot"));
        assert!(glob("a*b*c").matches("aXbYbZc"));
        assert!(!glob("a*b*c").matches("aXbYbZ"));
        assert!(glob("bob").matches("bob"));
        assert!(!glob("bob").matches("bobby"));
        assert!(glob("**").matches(""));
        assert!(Glob::parse("a b", "x").is_err());
        assert!(Glob::parse("", "x").is_err());
    }

    fn rule(action: Action, from: Option<&[&str]>, to: Option<&[&str]>) -> Rule {
        Rule {
            join: None,
            name: None,
            action,
            from: from.map(|f| {
                f.iter()
                    .map(|p| SenderPattern::try_from(p.to_string()).unwrap())
                    .collect()
            }),
            to: to.map(|t| {
                t.iter()
                    .map(|p| TargetPattern::try_from(p.to_string()).unwrap())
                    .collect()
            }),
        }
    }

    fn acl(rules: Vec<(&str, Rule)>, default: Action) -> Acl {
        Acl::new(
            rules.into_iter().map(|(n, r)| (n.to_string(), r)).collect(),
            default,
        )
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_match_wins_and_the_default_decides_the_rest() {
        let acl = acl(
            vec![
                (
                    "lead-to-ops",
                    rule(Action::Allow, Some(&["lead"]), Some(&["#ops-*"])),
                ),
                ("no-ops", rule(Action::Deny, None, Some(&["#ops-*"]))),
                ("bots-quiet", rule(Action::Deny, Some(&["bot-*"]), None)),
            ],
            Action::Allow,
        );
        let ops = Recipient::Channel("ops-eu".into());
        assert_eq!(
            acl.decide("lead", &ops, Some("x")),
            (Action::Allow, "lead-to-ops")
        );
        assert_eq!(acl.decide("dev", &ops, Some("x")), (Action::Deny, "no-ops"));
        let dm = Recipient::Agent("bob".into());
        assert_eq!(
            acl.decide("bot-1", &dm, Some("bob")),
            (Action::Deny, "bots-quiet")
        );
        assert_eq!(
            acl.decide("dev", &dm, Some("bob")),
            (Action::Allow, DEFAULT_RULE)
        );
    }

    #[test]
    fn names_match_without_regard_to_case() {
        assert!(glob("bot-*").matches("Bot-1"));
        assert!(glob("BOB").matches("bob"));
        assert!(glob("ops").matches("OPS"));
        assert!(!glob("bob").matches("bobby"));
        let acl = acl(
            vec![(
                "no-bots",
                rule(Action::Deny, Some(&["bot-*"]), Some(&["#ops"])),
            )],
            Action::Allow,
        );
        let ops = Recipient::Channel("OPS".into());
        assert_eq!(acl.decide("BOT-1", &ops, None), (Action::Deny, "no-bots"));
    }

    fn join_rule(action: Action, from: Option<&[&str]>, join: &[&str]) -> Rule {
        let mut rule = rule(action, from, None);
        rule.join = Some(
            join.iter()
                .map(|p| JoinPattern::try_from(p.to_string()).unwrap().0)
                .collect(),
        );
        rule
    }

    #[test]
    fn joins_are_judged_by_join_rules_only() {
        let acl = acl(
            vec![
                (
                    "ops-join",
                    join_rule(Action::Allow, Some(&["ops-*"]), &["#ops-*"]),
                ),
                (
                    "ops-members-only",
                    join_rule(Action::Deny, None, &["#ops-*"]),
                ),
                // A message rule never decides a join.
                ("ops-is-closed", rule(Action::Deny, None, Some(&["#ops-*"]))),
            ],
            Action::Deny,
        );
        assert_eq!(acl.may_join("ops-1", "ops-eu"), (Action::Allow, "ops-join"));
        assert_eq!(acl.may_join("OPS-1", "Ops-EU"), (Action::Allow, "ops-join"));
        assert_eq!(
            acl.may_join("dev", "ops-eu"),
            (Action::Deny, "ops-members-only")
        );
        // No join rule matches: allowed, whatever the messages' default.
        assert_eq!(
            acl.may_join("dev", "general"),
            (Action::Allow, DEFAULT_RULE)
        );
        // And a join rule never decides a message.
        let ops = Recipient::Channel("ops-eu".into());
        assert_eq!(
            acl.decide("ops-1", &ops, Some("ops-2")),
            (Action::Deny, "ops-is-closed")
        );
    }

    #[test]
    fn fan_out_delivers_to_the_allowed_and_refuses_as_a_whole_only_when_none_is() {
        let acl = acl(
            vec![
                (
                    "not-bob",
                    rule(Action::Deny, Some(&["mallory"]), Some(&["bob"])),
                ),
                (
                    "no-broadcast",
                    rule(Action::Deny, Some(&["mallory"]), Some(&["*"])),
                ),
            ],
            Action::Allow,
        );
        let team = Recipient::Channel("team".into());
        let check = acl.check("mallory", &team, names(&["alice", "bob"]));
        assert_eq!(check.allowed, ["alice"]);
        assert_eq!(
            check.refused,
            [Refusal {
                agent: "bob".into(),
                rule: "not-bob".into()
            }]
        );
        assert_eq!(check.denied, None);
        let only_bob = acl.check("mallory", &team, names(&["bob"]));
        assert_eq!(only_bob.denied.as_deref(), Some("not-bob"));
        let all = acl.check("mallory", &Recipient::Broadcast, names(&["alice", "carol"]));
        assert!(all.allowed.is_empty());
        assert_eq!(all.denied.as_deref(), Some("no-broadcast"));
        // Nobody to receive it: the address alone decides.
        let empty = acl.check("mallory", &Recipient::Broadcast, vec![]);
        assert_eq!(empty.denied.as_deref(), Some("no-broadcast"));
        assert_eq!(acl.check("mallory", &team, vec![]).denied, None);
    }

    #[test]
    fn a_deny_default_is_an_allow_list() {
        let acl = acl(
            vec![("to-lead", rule(Action::Allow, None, Some(&["lead"])))],
            Action::Deny,
        );
        let dm = |to: &str| Recipient::Agent(to.into());
        assert!(
            acl.check("a", &dm("lead"), names(&["lead"]))
                .denied
                .is_none()
        );
        assert_eq!(
            acl.check("a", &dm("b"), names(&["b"])).denied.as_deref(),
            Some(DEFAULT_RULE)
        );
        assert!(!acl.is_allow_all());
        assert!(Acl::allow_all().is_allow_all());
    }

    #[test]
    fn rules_refuse_empty_lists_and_bad_patterns() {
        let parse = |json: &str| serde_json::from_str::<Rule>(json).map_err(|e| e.to_string());
        assert!(parse(r#"{"action":"deny","from":[]}"#).is_err());
        assert!(parse(r#"{"action":"deny","to":[]}"#).is_err());
        assert!(parse(r#"{"action":"dney"}"#).is_err());
        assert!(parse(r##"{"action":"deny","to":["#a b"]}"##).is_err());
        assert!(parse(r#"{"action":"deny","who":["x"]}"#).is_err());
        let ok =
            parse(r##"{"action":"deny","from":["bot-*"],"to":["#ops-*","*","bob"]}"##).unwrap();
        assert_eq!(
            ok.to.unwrap(),
            [
                TargetPattern::Channel(glob("ops-*")),
                TargetPattern::Broadcast,
                TargetPattern::Agent(glob("bob"))
            ]
        );
    }
}
