//! `{name}` placeholders in preset arguments, environment values and resume arguments.
//!
//! Known names: `{agent_name}`, `{courier_url}`, `{token}`, `{courier_exe}`, `{workdir}` and, in
//! resume arguments, `{session_id}`. Any other text, braces included, is kept as written, so
//! JSON or shell snippets in arguments need no escaping.

/// The values substituted for placeholders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vars<'a> {
    pub(crate) agent_name: &'a str,
    pub(crate) courier_url: &'a str,
    pub(crate) token: &'a str,
    pub(crate) courier_exe: &'a str,
    pub(crate) workdir: &'a str,
    pub(crate) session_id: Option<&'a str>,
}

impl Vars<'_> {
    /// Replaces every known placeholder in `text`.
    pub(crate) fn expand(&self, text: &str) -> String {
        let mut pairs = vec![
            ("{agent_name}", self.agent_name),
            ("{courier_url}", self.courier_url),
            ("{token}", self.token),
            ("{courier_exe}", self.courier_exe),
            ("{workdir}", self.workdir),
        ];
        if let Some(id) = self.session_id {
            pairs.push(("{session_id}", id));
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'outer: while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let tail = &rest[open..];
            for (name, value) in &pairs {
                if let Some(after) = tail.strip_prefix(name) {
                    out.push_str(value);
                    rest = after;
                    continue 'outer;
                }
            }
            out.push('{');
            rest = &tail[1..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Vars;

    fn vars() -> Vars<'static> {
        Vars {
            agent_name: "alice",
            courier_url: "http://127.0.0.1:7777",
            token: "TOKEN",
            courier_exe: "/usr/local/bin/courier",
            workdir: "/work",
            session_id: None,
        }
    }

    #[test]
    fn known_names_are_replaced_and_other_braces_kept() {
        assert_eq!(vars().expand("{agent_name}$ "), "alice$ ");
        assert_eq!(vars().expand(r#"{"a":{token}}"#), r#"{"a":TOKEN}"#);
        assert_eq!(vars().expand("{session_id} {x} {"), "{session_id} {x} {");
    }

    #[test]
    fn replaced_values_are_not_expanded_again() {
        let v = Vars {
            agent_name: "{token}",
            ..vars()
        };
        assert_eq!(v.expand("{agent_name}"), "{token}");
    }
}
