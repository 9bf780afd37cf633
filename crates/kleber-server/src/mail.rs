//! Outgoing mail (optional): invitations sent by SMTP with the `lettre` crate.
//!
//! Configured by `--smtp-url` and `--smtp-from` (`KLEBER_SMTP_URL`, `KLEBER_SMTP_FROM`; see
//! docs/configuration.md). The URL's scheme decides the encryption:
//!
//! | scheme | connection | default port |
//! |---|---|---|
//! | `smtp://` | STARTTLS, required | 587 |
//! | `smtps://` | TLS from the first byte | 465 |
//! | `smtp+plain://` | no encryption (a relay on the same machine, tests) | 25 |
//!
//! `user:password@` in the URL (percent-encoded) are the SMTP credentials.
//! A failure to send is reported to whoever invited (the page, the command's standard error)
//! and is never fatal: the invitation exists and its link is shown either way.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one delivery may take (connecting, TLS, the whole SMTP dialogue).
pub const SEND_TIMEOUT_SECS: u64 = 20;

/// A configured SMTP sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("server", &self.shown).field("from", &self.from).finish()
    }
}

/// What an invitation mail says.
#[derive(Debug, Clone)]
pub struct InvitationMail<'a> {
    /// Recipient.
    pub to: &'a str,
    /// The one-time link.
    pub link: &'a str,
    /// The organization's name.
    pub org: &'a str,
    /// The role, as a word of the mail's language.
    pub role: &'a str,
    /// When the link stops working (RFC 3339).
    pub expires_at: &'a str,
    /// French (`fr`) or English (`en`).
    pub lang: &'a str,
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

impl Mailer {
    /// A sender for `url` (see the module's table) writing as `from`, or what is wrong with
    /// them (what, and how to fix it).
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let parsed = url::Url::parse(url).map_err(|e| {
            format!(
                "--smtp-url {:?} is not a URL ({e}): write smtp://user:password@host:587, smtps://host:465 or smtp+plain://host:25",
                redacted(url)
            )
        })?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("--smtp-url {:?} names no host", redacted(url)))?
            .to_owned();
        let (builder, default_port) = match parsed.scheme() {
            "smtp" => (AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host), 587),
            "smtps" => (AsyncSmtpTransport::<Tokio1Executor>::relay(&host), 465),
            "smtp+plain" => {
                (Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)), 25)
            }
            other => {
                return Err(format!(
                    "--smtp-url scheme {other:?} is not known: use smtp:// (STARTTLS), smtps:// (TLS) or smtp+plain:// (no encryption)"
                ));
            }
        };
        let mut builder = builder
            .map_err(|e| format!("--smtp-url: cannot set up TLS for {host}: {e}"))?
            .port(parsed.port().unwrap_or(default_port))
            .timeout(Some(Duration::from_secs(SEND_TIMEOUT_SECS)));
        if !parsed.username().is_empty() {
            let password = parsed.password().map(decode).unwrap_or_default();
            builder = builder.credentials(Credentials::new(decode(parsed.username()), password));
        }
        let from: Mailbox = from.parse().map_err(|e| {
            format!(
                "--smtp-from {from:?} is not an address ({e}): write portal@example.org or \"Portail <portal@example.org>\""
            )
        })?;
        Ok(Mailer { transport: builder.build(), from, shown: redacted(url) })
    }

    /// The server, without the password.
    pub fn server(&self) -> &str {
        &self.shown
    }

    /// Sends an invitation; `Err` says why it could not (for the one who invited).
    pub async fn send_invitation(&self, mail: &InvitationMail<'_>) -> Result<(), String> {
        let to: Mailbox =
            mail.to.parse().map_err(|e| format!("{:?} is not a mail address: {e}", mail.to))?;
        let expires = mail.expires_at.get(..10).unwrap_or(mail.expires_at);
        let (subject, body) = if mail.lang == "en" {
            (
                format!("Invitation to {} on the open data portal", mail.org),
                format!(
                    "Hello,\n\nYou are invited to join {org} as {role} on the open data portal.\n\
                     Choose your password with this link (it works once, until {expires}):\n\n{link}\n\n\
                     If you did not expect this invitation, ignore this message.\n",
                    org = mail.org,
                    role = mail.role,
                    link = mail.link,
                ),
            )
        } else {
            (
                format!("Invitation à rejoindre {} sur le portail open data", mail.org),
                format!(
                    "Bonjour,\n\nVous êtes invité à rejoindre {org} comme {role} sur le portail open data.\n\
                     Choisissez votre mot de passe avec ce lien (utilisable une fois, jusqu'au {expires}) :\n\n{link}\n\n\
                     Si vous n'attendiez pas cette invitation, ignorez ce message.\n",
                    org = mail.org,
                    role = mail.role,
                    link = mail.link,
                ),
            )
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the mail server {} refused or failed: {e}", self.shown))
    }
}

/// The mail flags of `kleber serve` and `kleber user invite`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SmtpArgs {
    /// Send invitations by mail through this SMTP server: smtp://user:password@host:587
    /// (STARTTLS), smtps://user:password@host:465 (TLS) or smtp+plain://host:25 (no
    /// encryption). Without it, invitation links are only shown.
    #[arg(long, env = "KLEBER_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// The sender of those mails, e.g. "Portail open data <opendata@example.org>".
    #[arg(long, env = "KLEBER_SMTP_FROM", value_name = "ADDRESS")]
    pub smtp_from: Option<String>,
}

impl SmtpArgs {
    /// The configured sender, `None` without `--smtp-url`, or what is wrong with the flags.
    pub fn mailer(&self) -> Result<Option<Mailer>, String> {
        match (&self.smtp_url, &self.smtp_from) {
            (None, None) => Ok(None),
            (Some(url), Some(from)) => Mailer::new(url, from).map(Some),
            (Some(_), None) => Err(
                "--smtp-url needs --smtp-from (KLEBER_SMTP_FROM), the sender of the mails: e.g. --smtp-from opendata@example.org".to_owned(),
            ),
            (None, Some(_)) => Err(
                "--smtp-from is set but not --smtp-url (KLEBER_SMTP_URL): give the mail server, e.g. --smtp-url smtp://user:password@mail.example.org:587".to_owned(),
            ),
        }
    }
}

/// `url` with its password replaced by `***`.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unreadable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn schemes_and_addresses_are_checked_with_precise_messages() {
        assert!(Mailer::new("smtp+plain://127.0.0.1:2525", "portal@example.org").is_ok());
        assert!(Mailer::new("smtps://u:p@mail.example.org", "Portail <p@example.org>").is_ok());
        let e = Mailer::new("smtp://u:secret@mail.example.org", "not an address").unwrap_err();
        assert!(e.contains("--smtp-from") && !e.contains("secret"), "{e}");
        let e = Mailer::new("http://mail.example.org", "p@example.org").unwrap_err();
        assert!(e.contains("\"http\"") && e.contains("smtps://"), "{e}");
        let e = Mailer::new("mail.example.org", "p@example.org").unwrap_err();
        assert!(e.contains("--smtp-url"), "{e}");
        let m = Mailer::new("smtp://user:s%40cret@mail.example.org", "p@example.org").unwrap();
        assert!(!m.server().contains("cret"), "{}", m.server());
    }
}
