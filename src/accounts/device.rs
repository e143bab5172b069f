//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a successful
//! login sets a signed token naming the account and a random device id. A later login attempt
//! for that account that presents it comes from a client that has proved itself before, so it is
//! exempt from the per-address failure budget (one NAT can hold a whole hospital, and anyone
//! behind it could otherwise keep its staff out), and is counted against its own device budget
//! and the account's instead.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::Mac as _;
use rand::Rng as _;
use secrecy::SecretString;

use crate::signing::{self, HmacSha256};

/// The cookie's name.
pub const COOKIE: &str = "carehub_device";
/// The only path the browser sends it to: the token endpoints.
pub const COOKIE_PATH: &str = "/api/token";
/// The header a client that cannot keep the cookie (a frontend on another site, where browsers
/// drop `SameSite=Strict` cookies) presents the same token in.
pub const HEADER: &str = "x-device-token";

const VERSION: &str = "v1";

/// Issues and checks device tokens with a key of their own, derived from the server secret.
pub struct DeviceCookies {
    key: [u8; 32],
}

/// A device that has logged in to the account before (its random id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice(pub String);

fn normalized(username: &str) -> String {
    username.trim().to_lowercase()
}

impl DeviceCookies {
    pub fn new(server_secret: &SecretString) -> Self {
        Self { key: signing::derive_key(server_secret, b"carehub device cookie key v1") }
    }

    fn mac(&self, account: &str, device: &str) -> HmacSha256 {
        let mut mac = signing::mac(&self.key);
        mac.update(VERSION.as_bytes());
        mac.update(b"\0");
        mac.update(account.as_bytes());
        mac.update(b"\0");
        mac.update(device.as_bytes());
        mac
    }

    /// A new token for `username` on a new device.
    pub fn issue(&self, username: &str) -> String {
        let account = URL_SAFE_NO_PAD.encode(normalized(username));
        let mut device = [0_u8; 16];
        rand::rng().fill_bytes(&mut device);
        let device = hex::encode(device);
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&account, &device).finalize().into_bytes());
        format!("{VERSION}.{account}.{device}.{signature}")
    }

    /// The device, when `token` is genuine and was issued to `username`.
    pub fn verify(&self, token: &str, username: &str) -> Option<TrustedDevice> {
        let mut parts = token.split('.');
        let (version, account, device, signature) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != VERSION || parts.next().is_some() || device.len() != 32 {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(account, device).verify_slice(&signature).ok()?;
        let named = URL_SAFE_NO_PAD.decode(account).ok()?;
        (named == normalized(username).as_bytes()).then(|| TrustedDevice(device.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(secret: &str) -> DeviceCookies {
        DeviceCookies::new(&SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_token_is_trusted_only_for_its_own_account_and_key() {
        let issuer = cookies("server-secret-one-0123456789abcdef");
        let token = issuer.issue("Dr.Amina");

        assert!(issuer.verify(&token, "dr.amina").is_some(), "usernames compare case-insensitively");
        assert!(issuer.verify(&token, "someone_else").is_none());
        assert!(cookies("another-secret-0123456789abcdef").verify(&token, "dr.amina").is_none());
    }

    #[test]
    fn an_edited_token_is_refused() {
        let issuer = cookies("server-secret-one-0123456789abcdef");
        let token = issuer.issue("amina");
        let other = issuer.issue("bilal");
        let mut parts: Vec<&str> = token.split('.').collect();
        let bilal_account = other.split('.').nth(1).expect("account part");
        parts[1] = bilal_account;
        let forged = parts.join(".");

        assert!(issuer.verify(&forged, "bilal").is_none());
        assert!(issuer.verify("v1.x.y", "amina").is_none());
        assert!(issuer.verify("", "amina").is_none());
    }

    #[test]
    fn two_logins_get_two_devices() {
        let issuer = cookies("server-secret-one-0123456789abcdef");
        let first = issuer.verify(&issuer.issue("amina"), "amina");
        let second = issuer.verify(&issuer.issue("amina"), "amina");
        assert!(first.is_some() && first != second);
    }
}
