//! # TaskForce mailers
//!
//! Implementations of the core's [`Mailer`] port: [`LogMailer`] writes
//! messages to the log (development), [`FileMailer`] writes each as an
//! `.eml` file into a folder (tests read them there), [`SmtpMailer`] sends
//! them through an SMTP server. Messages are built with lettre.

use std::path::PathBuf;

use lettre::{
    Address, FileTransport, Message, SmtpTransport, Transport,
    address::Envelope,
    message::{Mailbox, header::ContentType},
};
use taskforce_domain::{MailError, Mailer, OutgoingMail};

fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    // as an address, not a mailbox: `"j.doe"@example.com` would be taken
    // for a display name
    let address = recipient(&mail.to)?;
    // the envelope given, not read back from the headers, whose parser
    // loses an address literal (`ops@[192.0.2.1]`)
    let envelope =
        Envelope::new(Some(from.email.clone()), vec![address.clone()]).map_err(|e| MailError(e.to_string()))?;
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, address))
        .envelope(envelope)
        .subject(&mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| MailError(e.to_string()))
}

/// The address to write to, as SMTP wants it: an internationalised domain
/// in its ASCII form (as Django's `sanitize_address` wrote it: relays
/// without SMTPUTF8 refuse the other), an IPv6 literal tagged `IPv6:`
/// (RFC 5321). Built unchecked: [`Email`](taskforce_domain::Email) has
/// judged it already by Django's rules, some of which lettre's parser does
/// not know (`"john\ doe"@…`), and an address built from text would take
/// `"j.doe"@…` for a display name.
fn recipient(to: &taskforce_domain::Email) -> Result<Address, MailError> {
    let (user, domain) = to.as_str().rsplit_once('@').ok_or_else(|| MailError("bad recipient: no @".into()))?;
    let domain = match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(ip) if ip.contains(':') => format!("[IPv6:{ip}]"),
        Some(_) => domain.to_owned(),
        None => idna::domain_to_ascii(domain).map_err(|e| MailError(format!("bad recipient domain: {e}")))?,
    };
    Ok(Address::new_dangerous(user, domain))
}

fn mailbox(from: &str) -> Result<Mailbox, MailError> {
    from.parse().map_err(|e| MailError(format!("bad sender address {from:?}: {e}")))
}

/// Logs each message (recipient and subject at info, the body at debug).
#[derive(Debug, Clone, Default)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        tracing::info!(to = %mail.to, subject = %mail.subject, "mail (log mailer; not sent)");
        tracing::debug!(body = %mail.body, "mail body");
        Ok(())
    }
}

/// Writes each message as `<uuid>.eml` into a folder.
#[derive(Debug, Clone)]
pub struct FileMailer {
    from: Mailbox,
    dir: PathBuf,
}

impl FileMailer {
    /// A mailer writing into `dir` (created if missing).
    pub fn new(from: &str, dir: impl Into<PathBuf>) -> Result<Self, MailError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| MailError(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self { from: mailbox(from)?, dir })
    }
}

impl Mailer for FileMailer {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build(&self.from, mail)?;
        FileTransport::new(&self.dir).send(&message).map(|_| ()).map_err(|e| MailError(e.to_string()))
    }
}

/// Sends through an SMTP server given as a URL
/// (`smtps://user:password@smtp.example.com:465`, `smtp://localhost:25`).
#[derive(Clone)]
pub struct SmtpMailer {
    from: Mailbox,
    transport: SmtpTransport,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the server at `url`.
    pub fn new(from: &str, url: &str) -> Result<Self, MailError> {
        let transport = SmtpTransport::from_url(url).map_err(|e| MailError(format!("bad SMTP URL: {e}")))?.build();
        Ok(Self { from: mailbox(from)?, transport })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build(&self.from, mail)?;
        self.transport.send(&message).map(|_| ()).map_err(|e| MailError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use taskforce_domain::Email;

    use super::*;

    #[test]
    fn the_file_mailer_writes_one_eml_per_message() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mailer = FileMailer::new("TaskForce <no-reply@localhost>", dir.path())?;
        let mail = OutgoingMail {
            to: Email::parse("ada@example.com")?,
            subject: "Hello".into(),
            body: "token: abc123".into(),
        };
        mailer.send(&mail)?;
        let files: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].path())?;
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(text.contains("Subject: Hello"), "{text}");
        assert!(text.contains("token: abc123"), "{text}");
        Ok(())
    }

    /// Every kind of address the domain takes can be written to: an
    /// internationalised domain, an address literal, a quoted local part.
    #[test]
    fn a_message_is_built_for_every_kind_of_address_the_domain_takes() -> Result<(), Box<dyn std::error::Error>> {
        let from = mailbox("TaskForce <no-reply@localhost>")?;
        for (to, written) in [
            ("ada@example.com", "ada@example.com"),
            ("anna@exämple.com", "anna@xn--exmple-cua.com"),
            ("ops@[192.0.2.1]", "ops@[192.0.2.1]"),
            ("ops@[2001:db8::1]", "ops@[IPv6:2001:db8::1]"),
            ("\"j.doe\"@example.com", "\"j.doe\"@example.com"),
            ("\"john\\ doe\"@example.com", "\"john\\ doe\"@example.com"),
            ("x@example.c", "x@example.c"),
        ] {
            let mail = OutgoingMail { to: Email::parse(to)?, subject: "Hello".into(), body: "hi".into() };
            let message = build(&from, &mail).map_err(|e| format!("{to}: {e}"))?;
            let recipients: Vec<String> = message.envelope().to().iter().map(ToString::to_string).collect();
            assert_eq!(recipients, [written], "{to}");
            let text = String::from_utf8(message.formatted())?;
            assert!(text.contains(&format!("To: {written}")), "{to}: {text}");
        }
        Ok(())
    }

    #[test]
    fn a_bad_smtp_url_is_refused() {
        assert!(SmtpMailer::new("a@b.io", "ftp://nope").is_err());
    }
}
