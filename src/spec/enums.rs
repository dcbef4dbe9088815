//! Closed sets of KMS values, spelled on the wire as AWS spells them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that is not one of a closed set's members.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    what: &'static str,
    value: String,
    expected: &'static [&'static str],
}

impl UnknownValue {
    /// What kind of value was expected ("key spec", "key usage", ...).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The value that was given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The AWS wire names that are accepted.
    pub fn expected(&self) -> &'static [&'static str] {
        self.expected
    }
}

/// Compares spellings the way users write them: the wire name (`SIGN_VERIFY`) or CDKTF's
/// camelCase (`signVerify`), in any case. Underscores are either where the wire name has them
/// or absent: `S_I_G_N_VERIFY` is no spelling of anything.
fn same_spelling(given: &str, wire: &str) -> bool {
    if given.contains('_') {
        return given.eq_ignore_ascii_case(wire);
    }
    let mut g = given.chars();
    let mut w = wire.chars().filter(|c| *c != '_');
    loop {
        match (g.next(), w.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => {}
            _ => return false,
        }
    }
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $wire, "`")] $variant, )+
        }

        impl $name {
            /// Every value, in AWS's documentation order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// Every AWS wire name, in the same order as [`Self::ALL`].
            pub const WIRE_NAMES: &'static [&'static str] = &[ $( $wire, )+ ];

            /// The AWS wire name, e.g. for an API request.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            /// Parses the AWS wire name or its CDKTF camelCase spelling.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| same_spelling(s, v.as_str()))
                    .ok_or_else(|| UnknownValue {
                        what: $what,
                        value: s.to_owned(),
                        expected: Self::WIRE_NAMES,
                    })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum! {
    /// The type of key material (`KeySpec` in the KMS API; Terraform's `key_spec`, formerly
    /// `customer_master_key_spec`). Fixed when the key is created.
    #[derive(Default)]
    pub enum KeySpec ("key spec") {
        #[default]
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
        EccNistP256 => "ECC_NIST_P256",
        EccNistP384 => "ECC_NIST_P384",
        EccNistP521 => "ECC_NIST_P521",
        EccSecgP256k1 => "ECC_SECG_P256K1",
        EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
        MlDsa44 => "ML_DSA_44",
        MlDsa65 => "ML_DSA_65",
        MlDsa87 => "ML_DSA_87",
        MlKem512 => "ML_KEM_512",
        MlKem768 => "ML_KEM_768",
        MlKem1024 => "ML_KEM_1024",
        Hmac224 => "HMAC_224",
        Hmac256 => "HMAC_256",
        Hmac384 => "HMAC_384",
        Hmac512 => "HMAC_512",
        Sm2 => "SM2",
    }
}

wire_enum! {
    /// What a key is for (`KeyUsage`). Fixed when the key is created.
    pub enum KeyUsage ("key usage") {
        EncryptDecrypt => "ENCRYPT_DECRYPT",
        SignVerify => "SIGN_VERIFY",
        GenerateVerifyMac => "GENERATE_VERIFY_MAC",
        KeyAgreement => "KEY_AGREEMENT",
        EncapsulateDecapsulate => "ENCAPSULATE_DECAPSULATE",
    }
}

wire_enum! {
    /// Where the key material comes from (`Origin`). Fixed when the key is created.
    #[derive(Default)]
    pub enum Origin ("origin") {
        #[default]
        AwsKms => "AWS_KMS",
        External => "EXTERNAL",
        AwsCloudhsm => "AWS_CLOUDHSM",
        ExternalKeyStore => "EXTERNAL_KEY_STORE",
    }
}

wire_enum! {
    /// The lifecycle state of a key (`KeyState`).
    pub enum KeyState ("key state") {
        Creating => "Creating",
        Enabled => "Enabled",
        Disabled => "Disabled",
        PendingDeletion => "PendingDeletion",
        PendingImport => "PendingImport",
        PendingReplicaDeletion => "PendingReplicaDeletion",
        Unavailable => "Unavailable",
        Updating => "Updating",
    }
}

impl KeySpec {
    /// The key usages AWS allows with this key spec (CreateKey API reference).
    pub const fn allowed_usages(self) -> &'static [KeyUsage] {
        use KeyUsage::*;
        match self {
            KeySpec::SymmetricDefault => &[EncryptDecrypt],
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &[EncryptDecrypt, SignVerify],
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 => {
                &[SignVerify, KeyAgreement]
            }
            KeySpec::EccSecgP256k1 | KeySpec::EccNistEdwards25519 => &[SignVerify],
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => &[SignVerify],
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => &[EncapsulateDecapsulate],
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                &[GenerateVerifyMac]
            }
            KeySpec::Sm2 => &[EncryptDecrypt, SignVerify, KeyAgreement],
        }
    }

    /// Whether `usage` may be used with this key spec.
    pub fn allows(self, usage: KeyUsage) -> bool {
        self.allowed_usages().contains(&usage)
    }

    /// The usage AWS assumes when none is given: only SYMMETRIC_DEFAULT has one
    /// (ENCRYPT_DECRYPT); every other spec needs an explicit usage.
    pub const fn default_usage(self) -> Option<KeyUsage> {
        match self {
            KeySpec::SymmetricDefault => Some(KeyUsage::EncryptDecrypt),
            _ => None,
        }
    }

    /// Whether automatic rotation is possible for keys of this spec (given origin AWS_KMS).
    pub const fn supports_rotation(self) -> bool {
        matches!(self, KeySpec::SymmetricDefault)
    }

    /// Whether the spec exists only in the China Regions (partition `aws-cn`).
    pub const fn china_regions_only(self) -> bool {
        matches!(self, KeySpec::Sm2)
    }

    /// Whether this is an HMAC key spec.
    pub const fn is_hmac(self) -> bool {
        matches!(
            self,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512
        )
    }
}

impl Origin {
    /// Whether keys of this origin live in a custom key store (CloudHSM or external).
    pub const fn is_custom_key_store(self) -> bool {
        matches!(self, Origin::AwsCloudhsm | Origin::ExternalKeyStore)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_design() {
        assert_eq!(KeySpec::ALL.len(), 20);
        assert_eq!(KeyUsage::ALL.len(), 5);
    }

    #[test]
    fn wire_names_round_trip() {
        for s in KeySpec::ALL {
            assert_eq!(s.as_str().parse::<KeySpec>().unwrap(), *s);
        }
        for u in KeyUsage::ALL {
            assert_eq!(u.as_str().parse::<KeyUsage>().unwrap(), *u);
        }
    }

    #[test]
    fn cdktf_camel_case_is_accepted() {
        let table: &[(&str, KeySpec)] = &[
            ("symmetricDefault", KeySpec::SymmetricDefault),
            ("rsa2048", KeySpec::Rsa2048),
            ("eccNistP256", KeySpec::EccNistP256),
            ("eccSecgP256K1", KeySpec::EccSecgP256k1),
            ("hmac512", KeySpec::Hmac512),
        ];
        for (text, want) in table {
            assert_eq!(text.parse::<KeySpec>().unwrap(), *want, "{text}");
        }
        assert_eq!(
            "signVerify".parse::<KeyUsage>().unwrap(),
            KeyUsage::SignVerify
        );
        assert_eq!(
            "generateVerifyMac".parse::<KeyUsage>().unwrap(),
            KeyUsage::GenerateVerifyMac
        );
    }

    #[test]
    fn unknown_value_lists_the_valid_ones() {
        let err = "RSA_1024".parse::<KeySpec>().unwrap_err();
        assert_eq!(err.value(), "RSA_1024");
        assert_eq!(err.expected().len(), 20);
        let text = err.to_string();
        assert!(text.starts_with(
            "unknown key spec `RSA_1024`; expected one of: SYMMETRIC_DEFAULT, RSA_2048"
        ));
        // Near misses are not accepted: only case and the camelCase spelling are forgiven.
        assert!("RSA-2048".parse::<KeySpec>().is_err());
        assert!("RSA2048X".parse::<KeySpec>().is_err());
        assert!("r_s_a_2_0_4_8".parse::<KeySpec>().is_err());
        assert!("SIGN__VERIFY".parse::<KeyUsage>().is_err());
        assert!("_SIGN_VERIFY".parse::<KeyUsage>().is_err());
        assert_eq!(
            "sign_verify".parse::<KeyUsage>().unwrap(),
            KeyUsage::SignVerify
        );
        assert_eq!("RSA2048".parse::<KeySpec>().unwrap(), KeySpec::Rsa2048);
    }
}
