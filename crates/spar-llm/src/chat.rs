//! Chat prompts: messages rendered with the model's own `tokenizer.chat_template` (minijinja),
//! ChatML when the model has none. Message content is always tokenized as plain text, so a
//! user who types `<|im_start|>system` cannot forge a turn.

use minijinja::{Environment, ErrorKind, context};
use serde::{Deserialize, Serialize};

use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// Who speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(c: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: c.into(),
        }
    }
    pub fn user(c: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: c.into(),
        }
    }
    pub fn assistant(c: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: c.into(),
        }
    }
}

const CHATML: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// Sentinels around message content in the rendered template; private-use code points that
/// no template produces.
const OPEN: char = '\u{F8F0}';
const CLOSE: char = '\u{F8F1}';

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    pub source: String,
    pub is_fallback: bool,
    bos: String,
    eos: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("is_fallback", &self.is_fallback)
            .finish()
    }
}

fn raise_exception(msg: String) -> std::result::Result<String, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
}

impl ChatTemplate {
    /// Compiles `source`, or ChatML when `None`.
    pub fn new(source: Option<&str>, bos: String, eos: String) -> Result<Self> {
        let (src, is_fallback) = match source {
            Some(s) if !s.trim().is_empty() => (s.to_string(), false),
            _ => (CHATML.to_string(), true),
        };
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib_like::unknown_method);
        // A model's template is untrusted input: bound the work it may do.
        env.set_fuel(Some(2_000_000));
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", |_fmt: String| "1 January 2026".to_string());
        // Templates written for Python's Jinja use `.strip()` etc.; trim_blocks matches HF.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| Error::Template(e.to_string()))?;
        env.set_syntax(syntax);
        env.add_template_owned("chat", src.clone()).map_err(|e| {
            Error::Template(format!("the model's chat template does not compile: {e}"))
        })?;
        Ok(Self {
            env,
            source: src,
            is_fallback,
            bos,
            eos,
        })
    }

    /// Renders messages; returns the text with content wrapped in sentinels.
    fn render_marked(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let marked: Vec<Message> = messages
            .iter()
            .map(|m| Message {
                role: m.role,
                content: format!("{OPEN}{}{CLOSE}", m.content.replace([OPEN, CLOSE], "")),
            })
            .collect();
        let tmpl = self
            .env
            .get_template("chat")
            .map_err(|e| Error::Template(e.to_string()))?;
        tmpl.render(context! {
            messages => minijinja::Value::from(minijinja::value::Serde(&marked)),
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos.clone(),
            eos_token => self.eos.clone(),
        })
        .map_err(|e| Error::Template(format!("rendering the chat template: {e}")))
    }

    /// The prompt as text (for display and debugging).
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        Ok(self
            .render_marked(messages, add_generation_prompt)?
            .replace([OPEN, CLOSE], ""))
    }

    /// The prompt as token ids: template text with special tokens, content as plain text.
    pub fn encode(
        &self,
        tok: &Tokenizer,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        let text = self.render_marked(messages, add_generation_prompt)?;
        let mut ids = Vec::new();
        if tok.add_bos && !text.starts_with(&self.bos) {
            ids.extend(tok.bos);
        }
        let mut rest = text.as_str();
        while let Some(open) = rest.find(OPEN) {
            ids.extend(tok.encode(&rest[..open], true)?);
            let after = &rest[open + OPEN.len_utf8()..];
            let close = after.find(CLOSE).unwrap_or(after.len());
            ids.extend(tok.encode(&after[..close], false)?);
            rest = after.get(close + CLOSE.len_utf8()..).unwrap_or("");
        }
        ids.extend(tok.encode(rest, true)?);
        Ok(ids)
    }
}

/// Trims whitespace as Python's `strip` would on the real content, keeping the sentinels that
/// wrap message content in place.
fn strip_marked(s: &str, start: bool, end: bool) -> String {
    let mut t = s;
    if start {
        t = t.trim_start();
    }
    if end {
        t = t.trim_end();
    }
    let open = t.strip_prefix(OPEN);
    let inner = open.unwrap_or(t);
    let close = inner.strip_suffix(CLOSE);
    let mut core = close.unwrap_or(inner);
    if start && open.is_some() {
        core = core.trim_start();
    }
    if end && close.is_some() {
        core = core.trim_end();
    }
    format!(
        "{}{core}{}",
        if open.is_some() {
            OPEN.to_string()
        } else {
            String::new()
        },
        if close.is_some() {
            CLOSE.to_string()
        } else {
            String::new()
        }
    )
}

/// Python string methods that HF templates call (`strip`, `startswith`, …).
mod minijinja_contrib_like {
    use minijinja::value::{Value, from_args};
    use minijinja::{Error, ErrorKind, State};

    pub fn unknown_method(
        _state: &mut State<'_, '_>,
        value: &Value,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let Some(s) = value.as_str() else {
            return Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("no method `{method}`"),
            ));
        };
        match method {
            "strip" => Ok(Value::from(super::strip_marked(s, true, true))),
            "lstrip" => Ok(Value::from(super::strip_marked(s, true, false))),
            "rstrip" => Ok(Value::from(super::strip_marked(s, false, true))),
            "lower" => Ok(Value::from(s.to_lowercase())),
            "upper" => Ok(Value::from(s.to_uppercase())),
            "startswith" => {
                let (p,): (String,) = from_args(args)?;
                Ok(Value::from(s.starts_with(&p)))
            }
            "endswith" => {
                let (p,): (String,) = from_args(args)?;
                Ok(Value::from(s.ends_with(&p)))
            }
            "split" => {
                let (sep,): (Option<String>,) = from_args(args)?;
                let parts: Vec<Value> = match sep {
                    Some(sep) => s.split(sep.as_str()).map(Value::from).collect(),
                    None => s.split_whitespace().map(Value::from).collect(),
                };
                Ok(Value::from(parts))
            }
            "replace" => {
                let (a, b): (String, String) = from_args(args)?;
                Ok(Value::from(s.replace(&a, &b)))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("no string method `{method}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_fallback_renders() {
        let t = ChatTemplate::new(None, String::new(), String::new()).unwrap();
        let s = t
            .render(&[Message::system("S"), Message::user("hi")], true)
            .unwrap();
        assert_eq!(
            s,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert!(t.is_fallback);
    }

    #[test]
    fn python_style_templates_work() {
        let src = "{% for m in messages %}{{ m.content.strip() }}{% if not loop.last %}|{% endif %}{% endfor %}{% if messages[0].role != 'system' %}{{ raise_exception('need system') }}{% endif %}";
        let t = ChatTemplate::new(Some(src), String::new(), String::new()).unwrap();
        assert_eq!(
            t.render(&[Message::system(" a "), Message::user("b ")], false)
                .unwrap(),
            "a|b"
        );
        let err = t.render(&[Message::user("x")], false).unwrap_err();
        assert!(err.to_string().contains("need system"));
    }
}
