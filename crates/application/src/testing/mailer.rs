//! [`FakeMailer`]: keeps what it is asked to send.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

use taskforce_domain::{MailError, Mailer, OutgoingMail};

/// Records every mail it delivers; can be told to fail instead.
#[derive(Debug, Default)]
pub struct FakeMailer {
    sent: Mutex<Vec<OutgoingMail>>,
    failing: AtomicBool,
}

impl FakeMailer {
    /// The mails delivered so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingMail> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every later send fails, as an unreachable SMTP server would.
    pub fn break_down(&self) {
        self.failing.store(true, Ordering::Relaxed);
    }
}

impl Mailer for FakeMailer {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        if self.failing.load(Ordering::Relaxed) {
            return Err(MailError("the fake mailer is down".into()));
        }
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(mail.clone());
        Ok(())
    }
}
