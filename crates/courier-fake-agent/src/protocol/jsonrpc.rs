//! JSON-RPC 2.0 as the two JSON-RPC protocols put it on the wire: ACP with the `"jsonrpc":"2.0"`
//! member, Codex's app server without it (its README: "with the `"jsonrpc":"2.0"` header omitted
//! on the wire").

use serde_json::{Map, Value, json};

/// The standard error codes the fake answers with.
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;

/// One message read from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request: it must be answered with the same id.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    /// A notification: never answered.
    Notification { method: String, params: Value },
    /// A response to a request of ours, or something that is none of these: ignored.
    Other,
}

impl Incoming {
    pub fn parse(msg: Value) -> Incoming {
        let Value::Object(mut obj) = msg else {
            return Incoming::Other;
        };
        let Some(Value::String(method)) = obj.remove("method") else {
            return Incoming::Other;
        };
        let params = obj.remove("params").unwrap_or(Value::Null);
        match obj.remove("id") {
            Some(id) => Incoming::Request { id, method, params },
            None => Incoming::Notification { method, params },
        }
    }
}

/// Which envelope a protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `"jsonrpc": "2.0"` on every message (ACP).
    Versioned,
    /// No `jsonrpc` member (Codex's app server).
    Bare,
}

impl Envelope {
    fn wrap(self, mut obj: Map<String, Value>) -> Value {
        if self == Envelope::Versioned {
            obj.insert("jsonrpc".into(), json!("2.0"));
        }
        Value::Object(obj)
    }

    pub fn result(self, id: &Value, result: Value) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), id.clone());
        obj.insert("result".into(), result);
        self.wrap(obj)
    }

    pub fn error(self, id: &Value, code: i64, message: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), id.clone());
        obj.insert("error".into(), json!({ "code": code, "message": message }));
        self.wrap(obj)
    }

    pub fn notification(self, method: &str, params: Value) -> Value {
        let mut obj = Map::new();
        obj.insert("method".into(), json!(method));
        obj.insert("params".into(), params);
        self.wrap(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        assert_eq!(
            Incoming::parse(json!({"jsonrpc":"2.0","id":3,"method":"m","params":{"a":1}})),
            Incoming::Request {
                id: json!(3),
                method: "m".into(),
                params: json!({"a":1})
            }
        );
        assert_eq!(
            Incoming::parse(json!({"method":"n"})),
            Incoming::Notification {
                method: "n".into(),
                params: Value::Null
            }
        );
        assert_eq!(
            Incoming::parse(json!({"id":1,"result":{}})),
            Incoming::Other
        );
    }

    #[test]
    fn the_envelope_adds_jsonrpc_only_when_versioned() {
        let v = Envelope::Versioned.result(&json!("a"), json!({}));
        assert_eq!(v, json!({"jsonrpc":"2.0","id":"a","result":{}}));
        let b = Envelope::Bare.error(&json!(1), INVALID_REQUEST, "no");
        assert_eq!(b, json!({"id":1,"error":{"code":-32600,"message":"no"}}));
    }
}
