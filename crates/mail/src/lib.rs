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
    let (user, domain) = mail.to.as_str().rsplit_once('@').ok_or_else(|| MailError("bad recipient: no @".into()))?;
    let address = Address::new(user, domain).map_err(|e| MailError(format!("bad recipient: {e}")))?;
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
        for to in
            ["ada@example.com", "anna@exämple.com", "ops@[192.0.2.1]", "ops@[2001:db8::1]", "\"j.doe\"@example.com"]
        {
            let mail = OutgoingMail { to: Email::parse(to)?, subject: "Hello".into(), body: "hi".into() };
            let message = build(&from, &mail).map_err(|e| format!("{to}: {e}"))?;
            let text = String::from_utf8(message.formatted())?;
            assert!(text.contains("To: "), "{to}: {text}");
        }
        Ok(())
    }

    #[test]
    fn a_bad_smtp_url_is_refused() {
        assert!(SmtpMailer::new("a@b.io", "ftp://nope").is_err());
    }
}
