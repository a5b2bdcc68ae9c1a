//! Email over SMTP (lettre): one pooled connection per mail server, with a timeout, so a
//! slow server cannot hold a worker.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::ConnectorError;

/// How long one conversation with the mail server may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A message to send.
pub struct Mail<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// `<…@…>`: a message sent again after a lost acknowledgement carries the same id.
    pub message_id: &'a str,
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    // The URL can hold the server's password: it is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for the server at `url` (`smtp://host:port` in the clear, `smtps://` with
    /// TLS, `smtp://…?tls=required` for STARTTLS; `user:password@` when it needs them),
    /// sending as `from` (`Name <address>` or an address).
    pub fn new(url: &str, from: &str) -> Result<Self, ConnectorError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| ConnectorError::Config {
                setting: "mail from",
                reason: format!(
                    "`{from}` is not an address such as Exeunt <exeunt@example.com>: {e}"
                ),
            })?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| ConnectorError::Config {
                setting: "SMTP URL",
                reason: format!("expected smtp://host:port or smtps://host:port: {e}"),
            })?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, mail: &Mail<'_>) -> Result<(), ConnectorError> {
        let to = Mailbox::new(
            Some(mail.to_name.to_owned()),
            mail.to.parse().map_err(|e| ConnectorError::Call {
                system: "SMTP",
                reason: format!("`{}` is not an email address: {e}", mail.to),
            })?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(Some(mail.message_id.to_owned()))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.to_owned())
            .map_err(|e| ConnectorError::Call {
                system: "SMTP",
                reason: format!("the message could not be built: {e}"),
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| ConnectorError::Call {
                system: "SMTP",
                reason: e.to_string(),
            })
    }
}
